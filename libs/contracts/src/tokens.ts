import { z } from 'zod';
import { SelectorSyntaxError, parseSelector } from './selector';
import { apiComponent } from './api-components';
import { API_SCOPES, type ApiScope } from './api-scopes';

/** The id of the configured bootstrap admin token (FLEETTRACE_ADMIN_TOKEN); tokens made through the API have UUIDs. */
export const BOOTSTRAP_TOKEN_ID = 'admin';

/** A secret is this many random bytes, base64url after a `ft_` prefix (the prefix lets secret scanners find leaks). */
export const TOKEN_SECRET_BYTES = 32;
export const TOKEN_SECRET_PREFIX = 'ft_';

const NAME_MESSAGE = 'name must be 1 to 128 characters';
const SCOPES_MESSAGE = `scopes must be a non-empty list of ${API_SCOPES.join(', ')}`;
const EXPIRES_MESSAGE = 'expiresAt must be a time like 2026-12-31T00:00:00Z';

export const CreateTokenRequest = z
  .object(
    {
      name: z.string({ error: NAME_MESSAGE }).trim().min(1, NAME_MESSAGE).max(128, NAME_MESSAGE),
      scopes: z
        .array(z.string({ error: SCOPES_MESSAGE }), { error: SCOPES_MESSAGE })
        .min(1, SCOPES_MESSAGE)
        .superRefine((scopes, ctx) => {
          const unknown = scopes.find((scope) => !(API_SCOPES as readonly string[]).includes(scope));
          if (unknown !== undefined) ctx.addIssue({ code: 'custom', message: `scopes: unknown scope "${unknown}" (known: ${API_SCOPES.join(', ')})` });
        })
        .transform((scopes) => [...new Set(scopes as ApiScope[])].sort()),
      /** Limits the token to hosts this selector matches (libs/contracts selector grammar): it sees and targets no other. */
      hostSelector: z
        .string({ error: 'hostSelector must be a selector string' })
        .max(4096, 'hostSelector must be at most 4096 characters')
        .superRefine((text, ctx) => {
          try {
            parseSelector(text);
          } catch (error) {
            if (!(error instanceof SelectorSyntaxError)) throw error;
            ctx.addIssue({ code: 'custom', message: `hostSelector: ${error.problem}` });
          }
        })
        .optional(),
      expiresAt: z
        .string({ error: EXPIRES_MESSAGE })
        .refine((text) => !Number.isNaN(Date.parse(text)), EXPIRES_MESSAGE)
        .refine((text) => Date.parse(text) > Date.now(), 'expiresAt must be in the future')
        .optional(),
    },
    { error: 'request body must be a JSON object' },
  )
  .strict();
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** A token as listed: never its secret nor the secret's hash. */
export const TokenView = apiComponent(
  'TokenView',
  z.object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(API_SCOPES)),
    hostSelector: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
  }),
);
export type TokenView = z.infer<typeof TokenView>;

/** The answer to POST /v1/tokens: the only time the secret is shown. */
export const CreatedTokenView = apiComponent('CreatedTokenView', TokenView.extend({ secret: z.string() }));
export type CreatedTokenView = z.infer<typeof CreatedTokenView>;

/** One audit record: who (token id, or null when authentication failed or a host reported it), from where, did what to what. */
export const AuditEntryView = apiComponent(
  'AuditEntryView',
  z.object({
    id: z.string(),
    at: z.string(),
    actor: z.string().nullable(),
    address: z.string().nullable(),
    action: z.string(),
    subject: z.string(),
    /** sha256 of the program text, for job and schedule records of bpftrace and C programs. */
    programSha256: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  }),
);
export type AuditEntryView = z.infer<typeof AuditEntryView>;

export const AuditPage = apiComponent(
  'AuditPage',
  z.object({
    items: z.array(AuditEntryView),
    /** Pass as `cursor` for the next (older) page; null on the last page. */
    nextCursor: z.string().nullable(),
  }),
);
export type AuditPage = z.infer<typeof AuditPage>;
