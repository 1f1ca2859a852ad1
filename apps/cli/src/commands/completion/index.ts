import { completionScript } from '../../completion/script';
import { ExitCode, UsageError } from '../../errors';
import type { CommandHandler } from '../../spec';

export const completion: CommandHandler = async (input, io) => {
  const shell = input.args[0];
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion: the shell must be bash or zsh, got "${shell}"`);
  io.stdout.write(await completionScript(shell));
  return ExitCode.ok;
};
