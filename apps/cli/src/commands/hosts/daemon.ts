import type { SshHostView } from '@fleettrace/contracts';
import type { ApiClient } from '../../api/client';
import { withClient } from '../../api/with-client';
import { CliError, ExitCode, UsageError } from '../../errors';
import { printDocument, printOptions } from '../../output/printer';
import type { CommandHandler, CommandInput } from '../../spec';
import type { Io } from '../../io';

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const POLL_MS = 500;

function hostIdOf(input: CommandInput): string {
  const id = input.args[0] ?? '';
  if (!HOST_ID.test(id)) throw new UsageError(`host id must be 1 to 128 of A-Z a-z 0-9 _ . -, got "${id}"`);
  return id;
}

function waitSecondsOf(input: CommandInput): number {
  const text = input.options.waitSeconds;
  if (text === undefined) return 120;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) throw new UsageError(`--wait-seconds must be a whole number of seconds from 0 to 3600, got "${String(text)}"`);
  return seconds;
}

/** Whether the request has come to an end: the daemon registered or removed, or it failed. */
function settled(host: SshHostView, action: 'bootstrap' | 'uninstall'): boolean {
  const state = host.daemon?.state;
  return state === 'failed' || (action === 'bootstrap' ? state === 'registered' : host.daemon === null || host.daemon === undefined);
}

/**
 * Asks for the host's daemon (or asks it away) and follows the request until it ends, polling
 * GET /v1/hosts/ssh/:id: 0 when it registered (or was removed), 1 with the API's reason when it
 * failed or did not end within --wait-seconds (0: do not wait; the answer is the request taken).
 */
async function follow(input: CommandInput, io: Io, action: 'bootstrap' | 'uninstall'): Promise<ExitCode> {
  const id = hostIdOf(input);
  const waitSeconds = waitSecondsOf(input);
  const print = printOptions(input.options);
  const host = await withClient(input, io, async (client: ApiClient) => {
    let view = await client.sshDaemon(id, action);
    io.stderr.write(`${action === 'bootstrap' ? 'installing a daemon on' : 'removing the daemon of'} ${id}\n`);
    const deadline = Date.now() + waitSeconds * 1000;
    while (waitSeconds > 0 && !settled(view, action) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      view = await client.sshHost(id);
    }
    return view;
  });
  if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, host);
  const daemon = host.daemon ?? null;
  if (daemon?.state === 'failed') throw new CliError(`${id}: ${daemon.error ?? `${action} failed`}`);
  if (waitSeconds > 0 && !settled(host, action)) throw new CliError(`${id}: the daemon is still ${daemon?.state ?? 'pending'} after ${waitSeconds} s; see fleettrace hosts show ${id}`);
  if (print.format !== 'json' && print.format !== 'yaml') {
    const line =
      waitSeconds === 0
        ? `${id}: ${daemon?.state ?? 'done'}`
        : action === 'bootstrap'
          ? `${id}: daemon registered (${daemon?.mode}${daemon?.pid ? ` pid ${daemon.pid}` : ''}); its runs go to it`
          : `${id}: daemon removed; reached over SSH again`;
    io.stdout.write(`${line}\n`);
  }
  return ExitCode.ok;
}

export const bootstrap: CommandHandler = (input, io) => follow(input, io, 'bootstrap');
export const uninstall: CommandHandler = (input, io) => follow(input, io, 'uninstall');
