import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The runs a host has in progress, on disk: a daemon that died mid-run (its runners went with it,
 * by their parent-death signal) learns at its next start which runs it left unfinished, and ends
 * them `failed` with the reason instead of leaving them for the reaper to time out much later.
 */
export class RunJournal {
  constructor(private readonly dir: string) {}

  started(runId: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, runId), '');
  }

  finished(runId: string): void {
    rmSync(join(this.dir, runId), { force: true });
  }

  /** Runs started and never finished; each is forgotten once `finished` is called for it. */
  unfinished(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }
}
