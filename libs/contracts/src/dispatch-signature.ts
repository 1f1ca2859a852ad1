import type { InlineProgram } from './program';

/**
 * What the API signs and a host verifies of a run dispatch (Ed25519). The signature covers a
 * canonical serialisation of the whole dispatch as it travels, every field but the signature
 * itself, so a field added to RunDispatch later is covered without touching this file, and a
 * field a host does not know (its RunDispatch strips it) is still covered.
 */
export const DISPATCH_SIGNATURE_FIELD = 'signature';
/** Binds a signature to this use, so no other message signed with the key can pass for a dispatch. */
const DISPATCH_SIGNATURE_DOMAIN = 'fleettrace-dispatch-v1\n';

/**
 * JSON with object keys sorted at every depth and undefined members left out, as JSON.stringify
 * leaves them: the same value always serialises to the same bytes, whatever order it was built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, a function, a symbol: nothing JSON can carry, and never part of a dispatch.
    if (text === undefined) throw new TypeError(`canonicalJson: ${typeof value} is not JSON`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${members.join(',')}}`;
}

/** The bytes signed for a dispatch: every field but the signature, canonically serialised. */
export function dispatchSigningPayload(dispatch: Record<string, unknown>): Buffer {
  const signed = { ...dispatch };
  delete signed[DISPATCH_SIGNATURE_FIELD];
  return Buffer.from(DISPATCH_SIGNATURE_DOMAIN + canonicalJson(signed), 'utf8');
}

/** The text a dispatch's programSha256 is the hash of: a catalog name, a bpftrace script, a C source. */
export function programText(program: string | InlineProgram): string {
  if (typeof program === 'string') return program;
  return program.kind === 'bpftrace' ? program.script : program.source;
}
