// The runner entry for tests: the daemon's runner, which also resolves the test-only programs.
import { getProgram, type CatalogProgram } from '@fleettrace/programs';
import { serveRunner } from '../../src/serve';
import { TEST_PROGRAMS } from './test-programs';

serveRunner((name) => (Object.hasOwn(TEST_PROGRAMS, name) ? TEST_PROGRAMS[name] : (getProgram(name) as CatalogProgram | undefined)));
