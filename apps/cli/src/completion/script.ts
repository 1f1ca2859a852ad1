import { COMMANDS } from '../commands/index';
import { programNames } from '../program/catalog';
import { bashCompletion, zshCompletion } from './completion';

export async function completionScript(shell: 'bash' | 'zsh'): Promise<string> {
  return shell === 'bash' ? bashCompletion(COMMANDS, programNames()) : zshCompletion(COMMANDS, programNames());
}
