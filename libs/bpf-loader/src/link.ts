// One attachment of a program. Detaching is synchronous: the kernel stops running the program
// for this attachment before close() returns.
import { native } from './binding';
import type { LinkHandle } from './native';

export class Link {
  readonly program: string;
  /** How it is attached: "tracepoint", "uprobe", "perf_event", "tc", ... ("auto" for attach()/attachAll()). */
  readonly kind: string;
  /** Kernel link id (what `bpftool link list` shows); 0 for attachments that are not BPF links. */
  readonly id: number;
  /** Every kernel link id behind this attachment (perf_event: one per CPU; netlink tc: none). */
  readonly ids: readonly number[];
  #handle: LinkHandle | undefined;
  readonly #onClose: (link: Link) => void;

  /** @internal created by LoadedObject.attach */
  constructor(program: string, kind: string, ids: readonly number[], handle: LinkHandle, onClose: (link: Link) => void) {
    this.program = program;
    this.kind = kind;
    this.id = ids[0] ?? 0;
    this.ids = Object.freeze([...ids]);
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
