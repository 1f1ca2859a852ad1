// Runs INSIDE the guest kernel (../guest-catalog.test.ts boots it): loads every catalog object with
// its parameters' defaults — CO-RE relocation against the guest's BTF, then the verifier — closes
// it, and prints one JSON report: per program "loaded" or the first line of why not, and whether
// any of the programs it loaded is still in the kernel.
//
//   node --import tsx libs/programs/test/guest/load-catalog-in-guest.ts
//   ... load-catalog-in-guest.ts --warm   only imports (on the host: fills tsx's cache for the guest)
import { release } from 'node:os';
import { openObject } from '@fleettrace/bpf-loader';
import { programExists } from '@fleettrace/bpf-loader/testing';
import { catalog } from '../../src/catalog';

if (process.argv[2] === '--warm') process.exit(0);

const loads: Record<string, string> = {};
const programIds: number[] = [];
for (const program of Object.values(catalog)) {
  const spec = openObject(program.objectPath);
  try {
    const loaded = spec.load();
    programIds.push(...loaded.programInfo().map((p) => p.id));
    await loaded.close();
    loads[program.name] = 'loaded';
  } catch (error) {
    loads[program.name] = String((error as Error).message).split('\n')[0]!.slice(0, 300);
  } finally {
    spec.close();
  }
}
console.log(JSON.stringify({ kernel: release(), loads, programsLoaded: programIds.length, leftPrograms: programIds.filter(programExists) }));
