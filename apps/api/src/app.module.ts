import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { getProgram, programNames } from '@fleettrace/programs';
import type { ApiConfig } from './config';
import { API_CONFIG, PROGRAM_CATALOG } from './tokens';
import type { ProgramCatalog } from './services/program-catalog';
import { JobController } from './controllers/job.controller';
import { ResultsController } from './controllers/results.controller';
import { HostController } from './controllers/host.controller';
import { ScheduleController } from './controllers/schedule.controller';
import { ProgramController } from './controllers/program.controller';
import { TokenController } from './controllers/token.controller';
import { AuditController } from './controllers/audit.controller';
import { AuthGuard } from './middleware/auth.guard';
import { HostEnrolmentRepository } from './repositories/host-enrolment.repository';
import { HostCredentialRepository } from './repositories/host-credential.repository';
import { HostTrustService } from './services/host-trust.service';
import { ErrorFilter } from './middleware/error.filter';
import { ApiTokenRepository } from './repositories/api-token.repository';
import { AuditRepository } from './repositories/audit.repository';
import { DatabaseRepository } from './repositories/database.repository';
import { HostRepository } from './repositories/host.repository';
import { JobRepository } from './repositories/job.repository';
import { JobViewRepository } from './repositories/job-view.repository';
import { MigrationRepository } from './repositories/migration.repository';
import { QueueRepository } from './repositories/queue.repository';
import { ResultRepository } from './repositories/result.repository';
import { ResultsStreamRepository } from './repositories/results-stream.repository';
import { RunRepository } from './repositories/run.repository';
import { JobNotificationRepository } from './repositories/job-notification.repository';
import { ScheduleRepository } from './repositories/schedule.repository';
import { SshHostRepository } from './repositories/ssh-host.repository';
import { SshHostRegistryRepository } from './repositories/ssh-host-registry.repository';
import { AuthService } from './services/auth.service';
import { AccessService } from './services/access.service';
import { AuditService } from './services/audit.service';
import { TokenService } from './services/token.service';
import { HostService } from './services/host.service';
import { IngestService } from './services/ingest.service';
import { JobHandlerRegistry } from './services/job-handler.registry';
import { JobService } from './services/job.service';
import { LifecycleService } from './services/lifecycle.service';
import { ReaperService } from './services/reaper.service';
import { ResultsService } from './services/results.service';
import { RetentionService } from './services/retention.service';
import { RolloutService } from './services/rollout.service';
import { RunLifecycleService } from './services/run-lifecycle.service';
import { ScheduleService } from './services/schedule.service';
import { SshHostService } from './services/ssh-host.service';
import { StreamService } from './services/stream.service';
import { ProgramService } from './services/program.service';
import { OtlpExportService } from './telemetry/otlp-export.service';
import { ServiceMetrics } from './telemetry/service-metrics';
import { MetricsController } from './controllers/metrics.controller';

/** Every controller: what the app serves, and what the OpenAPI document describes; each route needs a @Scope (AuthGuard checks at start). */
export const API_CONTROLLERS = [JobController, ResultsController, HostController, ScheduleController, ProgramController, MetricsController, TokenController, AuditController];

const programCatalog: ProgramCatalog = { get: getProgram, names: programNames };

const repositories = [
  ApiTokenRepository,
  AuditRepository,
  HostEnrolmentRepository,
  HostCredentialRepository,
  DatabaseRepository,
  HostRepository,
  JobRepository,
  JobViewRepository,
  MigrationRepository,
  QueueRepository,
  ResultRepository,
  ResultsStreamRepository,
  RunRepository,
  ScheduleRepository,
  SshHostRepository,
  SshHostRegistryRepository,
  JobNotificationRepository,
];

const services = [
  AccessService,
  AuditService,
  AuthService,
  TokenService,
  HostService,
  HostTrustService,
  IngestService,
  JobHandlerRegistry,
  JobService,
  LifecycleService,
  ReaperService,
  ResultsService,
  RetentionService,
  RolloutService,
  RunLifecycleService,
  ScheduleService,
  SshHostService,
  StreamService,
  ProgramService,
  OtlpExportService,
  ServiceMetrics,
];

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [DiscoveryModule],
      controllers: API_CONTROLLERS,
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: PROGRAM_CATALOG, useValue: programCatalog },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
        ...repositories,
        ...services,
      ],
    };
  }
}
