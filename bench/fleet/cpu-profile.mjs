// Preloaded into the API (NODE_OPTIONS=--import) by `npm run bench -- fleet --api-cpu-prof DIR`:
// node refuses --cpu-prof in NODE_OPTIONS, so this starts V8's profiler through the inspector and
// writes DIR/api-<pid>.cpuprofile (open it in Chrome DevTools or speedscope) when the process exits.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.FLEETTRACE_BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // A session on the main thread answers synchronously, so this completes within 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `api-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
