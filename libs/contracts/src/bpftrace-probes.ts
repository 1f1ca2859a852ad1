import type { AttachKind } from './capabilities';

/**
 * bpftrace's probe providers (and their short aliases) that need a kernel attach type a host may
 * lack, as the capability probe names it. Providers absent here (BEGIN, END, interval, profile,
 * software, hardware, usdt, watchpoint, rawtracepoint, iter) are not judged: bpftrace picks how to
 * attach them by kernel version, so the host's bpftrace answers for them.
 */
const PROVIDER_ATTACH_KIND: Readonly<Record<string, AttachKind>> = {
  kprobe: 'kprobe',
  k: 'kprobe',
  kretprobe: 'kretprobe',
  kr: 'kretprobe',
  kfunc: 'fentry',
  fentry: 'fentry',
  f: 'fentry',
  kretfunc: 'fexit',
  fexit: 'fexit',
  fr: 'fexit',
  tracepoint: 'tracepoint',
  t: 'tracepoint',
  uprobe: 'uprobe',
  u: 'uprobe',
  uretprobe: 'uretprobe',
  ur: 'uretprobe',
};

/**
 * The attach types a bpftrace script's probes need, in order of first use: what planning checks
 * against a host's capability report, so a kprobe script is `unsupported` on a kernel without
 * kprobes instead of failing there. Only probe headers count (text outside every `{ }` block, with
 * comments and strings removed): `a ? k : b` inside an action is not a probe.
 */
export function bpftraceAttachKinds(script: string): AttachKind[] {
  const kinds = new Set<AttachKind>();
  const headers = topLevelText(script);
  for (const match of headers.matchAll(/(?:^|[\s,;}])([a-z]+):/g)) {
    const kind = PROVIDER_ATTACH_KIND[match[1]];
    if (kind) kinds.add(kind);
  }
  return [...kinds];
}

/** The script without comments, string literals and the insides of braces, each replaced by a space. */
function topLevelText(script: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    if (c === '/' && script[i + 1] === '/') {
      while (i < script.length && script[i] !== '\n') i++;
      out += ' ';
      continue;
    }
    if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 1;
      out += ' ';
      continue;
    }
    if (c === '"') {
      for (i++; i < script.length && script[i] !== '"'; i++) if (script[i] === '\\') i++;
      out += ' ';
      continue;
    }
    if (c === '{') {
      depth++;
      out += ' ';
      continue;
    }
    if (c === '}') {
      depth = Math.max(0, depth - 1);
      out += ' ';
      continue;
    }
    out += depth === 0 ? c : ' ';
  }
  return out;
}
