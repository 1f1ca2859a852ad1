import type { CommandSpec } from '../spec';
import { completionCommand } from './completion/command';
import { hostsCommand } from './hosts/command';
import { jobsCommand } from './jobs/command';
import { localCommand } from './local/command';
import { programsCommand } from './programs/command';
import { schedulesCommand } from './schedules/command';
import { runCommand } from './run/command';
import { tokensCommand } from './tokens/command';
import { auditCommand } from './audit/command';

/**
 * Every command, in the order help lists them. A command is its spec (commands/<name>/command.ts)
 * and a handler loaded when it runs; adding one is a line here.
 */
export const COMMANDS: readonly CommandSpec[] = [runCommand, jobsCommand, hostsCommand, programsCommand, schedulesCommand, tokensCommand, auditCommand, localCommand, completionCommand];
