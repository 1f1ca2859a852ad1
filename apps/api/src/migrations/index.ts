import { initial } from './0001-initial';
import { runLimits } from './0002-run-limits';
import { hostCapabilities } from './0003-host-capabilities';
import { runStacks } from './0004-run-stacks';
import { runWarnings } from './0005-run-warnings';

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
  { name: '0005-run-warnings', sql: runWarnings },
];
