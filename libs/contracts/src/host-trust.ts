import { z } from 'zod';
import { apiComponent } from './api-components';
import { HostId } from './host';
import { cancelledRunKey, hostControlChannel, hostQueueName, resultsStreamKey } from './queue';

/**
 * What one host's own Redis user may touch, as Redis ACL rules (Redis 7): its queue's BullMQ keys,
 * the cancel marks (read), its own results stream (write only: it cannot report as another host
 * nor read what others report), its control channel; no command that
 * reaches the whole server (@dangerous: FLUSHALL, CONFIG, ACL, KEYS, ...), bar the two BullMQ and
 * ioredis need at connect. One place, read by the API that creates the user and by the tests that
 * check each refusal.
 */
export function hostRedisAclRules(prefix: string, hostId: string): string[] {
  return [
    'resetkeys',
    `~${prefix}:${hostQueueName(hostId)}:*`,
    `%R~${cancelledRunKey(prefix, '*')}`,
    `%W~${resultsStreamKey(prefix, hostId)}`,
    'resetchannels',
    `&${hostControlChannel(prefix, hostId)}`,
    '-@all',
    '+@read',
    '+@write',
    '+@stream',
    '+@list',
    '+@hash',
    '+@sortedset',
    '+@string',
    '+@keyspace',
    '+@connection',
    '+@transaction',
    '+@scripting',
    '+@pubsub',
    '+@blocking',
    '-@dangerous',
    '-function',
    '-script|flush',
    '-script|kill',
    '+info',
    '+client|setname',
    '+client|getname',
  ];
}

/** A host's own Redis user: one per host id and Redis prefix, so two fleets on one Redis never share one. */
export function hostRedisUser(prefix: string, hostId: string): string {
  return `${prefix}.host.${hostId}`;
}

export const ENROLMENT_TOKEN_PREFIX = 'fte_';

export const CreateEnrolmentRequest = z
  .object({
    hostId: HostId,
    expiresInSeconds: z
      .number({ error: 'expiresInSeconds must be a number of seconds' })
      .int('expiresInSeconds must be a whole number of seconds')
      .min(60, 'expiresInSeconds must be at least 60')
      .max(7 * 24 * 3600, 'expiresInSeconds must be at most 604800 (7 days)')
      .optional(),
  })
  .strict();
export type CreateEnrolmentRequest = z.infer<typeof CreateEnrolmentRequest>;

export const EnrolmentView = z.object({
  id: z.string(),
  hostId: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: z.string().nullable(),
});
export type EnrolmentView = z.infer<typeof EnrolmentView>;
apiComponent('EnrolmentView', EnrolmentView);

/** The token is in this answer only: the API keeps its keyed hash. */
export const CreatedEnrolmentView = EnrolmentView.extend({ token: z.string() });
export type CreatedEnrolmentView = z.infer<typeof CreatedEnrolmentView>;
apiComponent('CreatedEnrolmentView', CreatedEnrolmentView);

/** What a daemon sends, once, with its enrolment token. */
export const EnrolHostRequest = z.object({ hostId: HostId, token: z.string({ error: 'token is required' }).min(1, 'token is required').max(256, 'token must be at most 256 characters') }).strict();
export type EnrolHostRequest = z.infer<typeof EnrolHostRequest>;

/** The host's own Redis credentials: the daemon keeps them (0600) and uses nothing else from then on. */
export const HostCredentialsView = z.object({
  hostId: z.string(),
  /** Redis URL with the host's own user name and password (the scheme, rediss:// included, as the API is configured). */
  redisUrl: z.string(),
  redisPrefix: z.string(),
});
export type HostCredentialsView = z.infer<typeof HostCredentialsView>;
apiComponent('HostCredentialsView', HostCredentialsView);
