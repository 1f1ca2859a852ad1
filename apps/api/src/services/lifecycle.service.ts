import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { MigrationRepository } from '../repositories/migration.repository';
import { QueueRepository } from '../repositories/queue.repository';
import { AuthService } from './auth.service';
import { HostTrustService } from './host-trust.service';
import { IngestService } from './ingest.service';
import { ReaperService } from './reaper.service';
import { RetentionService } from './retention.service';
import { JobHandlerRegistry } from './job-handler.registry';
import { OtlpExportService } from '../telemetry/otlp-export.service';

/** Jobs of one API queue handled at once per process (rollout steps and schedule firings are short). */
const API_QUEUE_CONCURRENCY = 4;

/**
 * Start-up and shutdown order in one place: schema first, then the admin token and the enrolled
 * hosts' Redis ACL rules, then the job handler check, then (worker role) the consumers. On shutdown
 * the consumers stop before the repositories close their connections.
 */
@Injectable()
export class LifecycleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Lifecycle');

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(MigrationRepository) private readonly migrations: MigrationRepository,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(HostTrustService) private readonly hostTrust: Pick<HostTrustService, 'applyHostAclRules'>,
    @Inject(JobHandlerRegistry) private readonly handlers: JobHandlerRegistry,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(ReaperService) private readonly reaper: ReaperService,
    @Inject(RetentionService) private readonly retention: RetentionService,
    @Inject(OtlpExportService) private readonly telemetry: OtlpExportService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.migrations.migrate();
    await this.auth.storeAdminToken();
    await this.hostTrust.applyHostAclRules();
    const table = this.handlers.build();
    if (!this.config.roles.has('worker')) return;
    for (const [queue, byName] of table) {
      this.queues.consume(
        queue,
        async (job) => {
          const handler = byName.get(job.name);
          if (!handler) throw new Error(`no handler for job "${job.name}" in queue ${queue}`);
          await handler(job.data, job.dueAt);
        },
        API_QUEUE_CONCURRENCY,
      );
    }
    this.ingest.start();
    this.reaper.start();
    this.retention.start();
    this.logger.log(`worker role started (consumer ${this.config.ingestConsumer})`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.reaper.stop();
    await this.retention.stop();
    await this.ingest.stop();
    // After ingest stopped (nothing new to export), before the pool closes (exports look runs up).
    await this.telemetry.close();
    await this.queues.closeWorkers();
  }
}
