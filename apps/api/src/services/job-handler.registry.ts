import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { API_JOBS, buildJobHandlerTable, type JobHandlerTable } from './job-handlers';

/** Finds the @OnJob handlers among the application's providers and checks them against API_JOBS. */
@Injectable()
export class JobHandlerRegistry {
  constructor(@Inject(DiscoveryService) private readonly discovery: DiscoveryService) {}

  build(): JobHandlerTable {
    const instances = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is object => typeof instance === 'object' && instance !== null);
    return buildJobHandlerTable(API_JOBS, [...new Set(instances)]);
  }
}
