// A tiny C program whose named function the uprobe programs (funccount, funclatency) probe.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The function the workload calls: it sleeps argv[2] µs, argv[1] times over. */
export const SLEEP_FUNCTION = 'ft_func_sleep';
/** The workload's comm (its file name). */
export const FUNC_WORKLOAD_COMM = 'ftfunc';

const SOURCE = String.raw`
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) int ${SLEEP_FUNCTION}(long usec)
{
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };

	return nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]), usec = atol(argv[2]);

	for (long i = 0; i < n; i++)
		if (${SLEEP_FUNCTION}(usec))
			return 1;
	return 0;
}
`;

export interface FuncWorkload {
  /** Absolute path of the built binary: run it as `binary N USEC`. */
  binary: string;
  remove(): void;
}

/** Builds the workload in a fresh temporary directory; remove() deletes it. */
export function buildFuncWorkload(): FuncWorkload {
  const dir = mkdtempSync(join(tmpdir(), 'ft-func-'));
  writeFileSync(join(dir, 'func.c'), SOURCE);
  const binary = join(dir, FUNC_WORKLOAD_COMM);
  // -O0 keeps the call a real call: the uprobe sits on the function's first instruction.
  execFileSync('cc', ['-O0', '-g', '-o', binary, join(dir, 'func.c')]);
  return { binary, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
