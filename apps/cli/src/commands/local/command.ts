import { localCommandWith } from './spec';

// The one command that loads the BPF runner and its native loader (src/local/ alone may import it).
export const localCommand = localCommandWith(async () => (await import('../../local/local-run-script')).loadLocalRun());
