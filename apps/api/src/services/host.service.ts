import { Inject, Injectable } from '@nestjs/common';
import type { HostView } from '@fleettrace/contracts';
import { HostRepository } from '../repositories/host.repository';
import { mapHost } from '../dtos/host.dto';

@Injectable()
export class HostService {
  constructor(@Inject(HostRepository) private readonly hosts: HostRepository) {}

  async list(): Promise<HostView[]> {
    const now = Date.now();
    return (await this.hosts.list()).map((host) => mapHost(host, now));
  }
}
