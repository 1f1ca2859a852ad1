import { initial } from './0001-initial';
import { runLimits } from './0002-run-limits';
import { hostCapabilities } from './0003-host-capabilities';
import { runStacks } from './0004-run-stacks';
import { scheduler } from './0006-scheduler';
import { ingest } from './0007-ingest';
import { liveResults } from './0008-live-results';
import { runWarnings } from './0009-run-warnings';
import { sshHosts } from './0010-ssh-hosts';
import { tokensAudit } from './0011-tokens-audit';
import { hostTrust } from './0012-host-trust';
import { wholeRunLimits } from './0013-whole-run-limits';
import { programPolicy } from './0015-program-policy';
import { hostTraceContext } from './0017-host-trace-context';
import { refusalWindows } from './0018-refusal-windows';
import { runSlots } from './0019-run-slots';
import { runPageIndex } from './0020-run-page-index';

export interface Migration {
  /** Applied in this order; a name, once released, never changes. */
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { name: '0001-initial', sql: initial },
  { name: '0002-run-limits', sql: runLimits },
  { name: '0003-host-capabilities', sql: hostCapabilities },
  { name: '0004-run-stacks', sql: runStacks },
  { name: '0006-scheduler', sql: scheduler },
  { name: '0007-ingest', sql: ingest },
  { name: '0008-live-results', sql: liveResults },
  { name: '0009-run-warnings', sql: runWarnings },
  { name: '0010-ssh-hosts', sql: sshHosts },
  { name: '0011-tokens-audit', sql: tokensAudit },
  { name: '0012-host-trust', sql: hostTrust },
  { name: '0013-whole-run-limits', sql: wholeRunLimits },
  { name: '0015-program-policy', sql: programPolicy },
  { name: '0017-host-trace-context', sql: hostTraceContext },
  { name: '0018-refusal-windows', sql: refusalWindows },
  { name: '0019-run-slots', sql: runSlots },
  { name: '0020-run-page-index', sql: runPageIndex },
];
