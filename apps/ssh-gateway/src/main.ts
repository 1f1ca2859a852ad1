import { runService } from '@fleettrace/host-agent/service';
import { gatewayConfig } from './config';
import { SshGateway } from './gateway';

runService('fleettrace-ssh-gateway', async (log) => new SshGateway(gatewayConfig(process.env), log));
