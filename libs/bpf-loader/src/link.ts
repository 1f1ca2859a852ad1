// One attachment of a program. Detaching is synchronous: the kernel stops running the program
// for this attachment before close() returns.
import { native } from './binding';
import type { LinkHandle } from './native';

export class Link {
  readonly program: string;
  /** Kernel link id (what `bpftool link list` shows); 0 for attachments that are not BPF links. */
  readonly id: number;
  #handle: LinkHandle | undefined;
  readonly #onClose: (link: Link) => void;

  /** @internal created by LoadedObject.attach */
  constructor(program: string, id: number, handle: LinkHandle, onClose: (link: Link) => void) {
    this.program = program;
    this.id = id;
    this.#handle = handle;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** Detaches; idempotent. */
  close(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    this.#onClose(this);
    native().destroyLink(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
