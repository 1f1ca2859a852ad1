import { Controller, Get, Inject } from '@nestjs/common';
import type { HostView } from '@fleettrace/contracts';
import { HostService } from '../services/host.service';

@Controller('v1/hosts')
export class HostController {
  constructor(@Inject(HostService) private readonly hosts: HostService) {}

  /** Every host that ever registered, with whether it is online now. */
  @Get()
  list(): Promise<HostView[]> {
    return this.hosts.list();
  }
}
