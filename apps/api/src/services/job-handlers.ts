import { ROLLOUT_QUEUE, ROLLOUT_STEP_JOB_NAME, SCHEDULES_QUEUE, SCHEDULE_FIRE_JOB_NAME } from '@fleettrace/contracts';
import { jobHandlersOf, type JobDeclaration } from '../decorators/on-job.decorator';

/** Every job the API's worker role consumes. Each needs exactly one @OnJob handler. */
export const API_JOBS: readonly JobDeclaration[] = [
  { queue: ROLLOUT_QUEUE, name: ROLLOUT_STEP_JOB_NAME },
  { queue: SCHEDULES_QUEUE, name: SCHEDULE_FIRE_JOB_NAME },
];

/** A handler gets the job's data and, for a job a scheduler made, when it was due (epoch ms). */
export type JobHandler = (data: unknown, dueAt?: number) => Promise<void>;

/** queue → job name → handler. */
export type JobHandlerTable = Map<string, Map<string, JobHandler>>;

/**
 * Matches declared jobs with the @OnJob methods of the given service instances. A declared job with
 * no handler, a job with two, or a handler for a job nobody declared is a start-up error: better to
 * refuse to start than to let jobs pile up unprocessed.
 */
export function buildJobHandlerTable(declared: readonly JobDeclaration[], instances: readonly object[]): JobHandlerTable {
  const found = new Map<string, Array<{ owner: string; handler: JobHandler }>>();
  const key = (d: JobDeclaration) => `${d.queue}/${d.name}`;
  for (const instance of instances) {
    for (const meta of jobHandlersOf(instance.constructor)) {
      const method = (instance as Record<string, unknown>)[meta.method];
      if (typeof method !== 'function') throw new Error(`@OnJob on ${instance.constructor.name}.${meta.method}, which is not a method`);
      const list = found.get(key(meta)) ?? [];
      list.push({ owner: `${instance.constructor.name}.${meta.method}`, handler: (data, dueAt) => method.call(instance, data, dueAt) });
      found.set(key(meta), list);
    }
  }
  const problems: string[] = [];
  const table: JobHandlerTable = new Map();
  for (const declaration of declared) {
    const handlers = found.get(key(declaration)) ?? [];
    found.delete(key(declaration));
    if (handlers.length === 0) problems.push(`job ${key(declaration)} has no handler`);
    else if (handlers.length > 1) problems.push(`job ${key(declaration)} has ${handlers.length} handlers: ${handlers.map((h) => h.owner).join(', ')}`);
    else table.set(declaration.queue, (table.get(declaration.queue) ?? new Map()).set(declaration.name, handlers[0].handler));
  }
  for (const [job, handlers] of found) problems.push(`${handlers.map((h) => h.owner).join(', ')} handles undeclared job ${job}`);
  if (problems.length > 0) throw new Error(`job handlers: ${problems.join('; ')}`);
  return table;
}
