export { SshGateway } from './gateway';
export { gatewayConfig, type GatewayConfig } from './config';
