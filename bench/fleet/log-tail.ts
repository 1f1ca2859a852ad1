import { readFileSync } from 'node:fs';

/** The last lines of a service's log, for an error that says why it failed; says so when there is no log. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
