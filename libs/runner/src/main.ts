import { serveRunner } from './serve';

// The daemon's runner: programs come from the catalog (libs/programs) only.
serveRunner();
