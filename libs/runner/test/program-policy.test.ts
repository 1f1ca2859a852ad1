import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRunLimits, DENIABLE_HELPERS, DEFAULT_PROGRAM_POLICY, resolveProgramPolicy, type CProgram, type ProgramPolicy } from '@fleettrace/contracts';
import { bpfObjectsHeldBy } from '@fleettrace/bpf-loader/testing';
import { cAdapter, ProgramPolicyError } from '../src/c-run';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import type { SessionContext } from '../src/run-session';

const PRELUDE = '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\nchar LICENSE[] SEC("license") = "GPL";\n';
const TP = 'SEC("tracepoint/syscalls/sys_enter_getppid")';

function program(body: string): CProgram {
  return { kind: 'c', source: PRELUDE + body, outputs: [] };
}
function start(p: CProgram, policy?: ProgramPolicy): RunnerStart {
  return { type: 'start', runId: randomUUID(), program: p, params: {}, durationSeconds: 1, cgroupId: null, limits: defaultRunLimits(), ...(policy ? { policy } : {}) };
}

/** Compiles with the real clang and checks the object, in this process: whatever loaded would be held here. */
async function refusalOf(p: CProgram, policy?: ProgramPolicy): Promise<string> {
  const before = bpfObjectsHeldBy();
  const s = start(p, policy);
  const adapter = cAdapter(s, p);
  const context: SessionContext = {
    start: s,
    limits: s.limits,
    openEvents: () => {
      throw new Error('no events output expected');
    },
    sendSnapshot: () => {},
  };
  let refusal: unknown;
  try {
    await adapter.compile!();
    await adapter.load(context);
  } catch (error) {
    refusal = error;
  } finally {
    await adapter.close();
  }
  // Refused before load: this process never held a program or map of the object.
  const after = bpfObjectsHeldBy();
  expect(after.progs.filter((id) => !before.progs.includes(id))).toEqual([]);
  expect(after.maps.filter((id) => !before.maps.includes(id))).toEqual([]);
  expect(refusal, 'the policy should refuse it').toBeInstanceOf(ProgramPolicyError);
  return (refusal as Error).message;
}

describe('program policy: a compiled C object is checked before load (real clang objects, real kernel)', () => {
  const handles: RunnerHandle[] = [];
  afterAll(async () => {
    for (const handle of handles) {
      handle.stop();
      await handle.outcome;
    }
  });

  it('the helper ids the policy knows are the ones libbpf\'s headers give those helpers', () => {
    const defs = readFileSync('/usr/include/bpf/bpf_helper_defs.h', 'utf8');
    for (const [name, id] of Object.entries(DENIABLE_HELPERS)) {
      expect(new RegExp(`\\(\\*${name}\\)\\(.*\\) = \\(void \\*\\) (\\d+);`).exec(defs)?.[1], name).toBe(String(id));
    }
  });

  describe('each denied helper is found in the call instructions', () => {
    const calls: Record<string, string> = {
      bpf_probe_write_user: 'bpf_probe_write_user((void *)0, (void *)0, 0);',
      bpf_send_signal: 'bpf_send_signal(9);',
      bpf_send_signal_thread: 'bpf_send_signal_thread(9);',
      bpf_override_return: 'bpf_override_return((struct pt_regs *)ctx, 0);',
      bpf_sys_bpf: 'bpf_sys_bpf(0, (void *)0, 0);',
      bpf_set_retval: 'bpf_set_retval(0);',
    };
    for (const [helper, call] of Object.entries(calls)) {
      it(helper, async () => {
        const message = await refusalOf(program(`${TP} int pol_${helper.slice(4, 16)}(void *ctx) { ${call} return 0; }`));
        expect(message).toBe(`program uses helper ${helper}, which the policy denies`);
      });
    }

    it('whatever the source calls it: a helper id cast to a function pointer, in a subprogram (.text)', async () => {
      const message = await refusalOf(
        program(
          'static long (*const innocent)(__u32 sig) = (void *)109;\n' +
            'static __attribute__((noinline)) int helper_sub(int x) { innocent(x); return x; }\n' +
            `${TP} int pol_cast(void *ctx) { return helper_sub(9) == 1; }`,
        ),
      );
      expect(message).toBe('program uses helper bpf_send_signal, which the policy denies');
    });

    it('an empty denied list lets the same call through the check (it then reaches the verifier)', async () => {
      const p = program(`${TP} int pol_allowed(void *ctx) { bpf_send_signal(0); return 0; }`);
      const s = start(p, { ...DEFAULT_PROGRAM_POLICY, deniedHelpers: [] });
      const adapter = cAdapter(s, p);
      await adapter.compile!();
      try {
        const loaded = await adapter.load({ start: s, limits: s.limits, openEvents: () => { throw new Error('none'); }, sendSnapshot: () => {} });
        expect(loaded).toBeDefined();
      } catch (error) {
        expect(error).not.toBeInstanceOf(ProgramPolicyError);
      } finally {
        await adapter.close();
      }
    });
  });

  describe('program kinds outside the allowlist', () => {
    const cases: [string, string, string][] = [
      ['xdp', 'SEC("xdp") int pol_xdp(struct xdp_md *ctx) { return 2; }', 'program pol_xdp (section xdp) is of kind xdp, which the policy denies without the scope jobs:c:network'],
      ['tc', 'SEC("tc") int pol_tc(struct __sk_buff *skb) { return 0; }', 'program pol_tc (section tc) is of kind tc, which the policy denies without the scope jobs:c:network'],
      ['lsm', 'SEC("lsm/file_open") int BPF_PROG(pol_lsm, struct file *file) { return 0; }', 'program pol_lsm (section lsm/file_open) is of kind lsm, which the policy denies without the scope jobs:c:hooks'],
      ['fmod_ret', 'SEC("fmod_ret/security_file_open") int BPF_PROG(pol_fmod, struct file *file) { return 0; }', 'program pol_fmod (section fmod_ret/security_file_open) is of kind fmod_ret, which the policy denies without the scope jobs:c:hooks'],
      ['struct_ops', 'SEC("struct_ops/pol_init") int BPF_PROG(pol_ops_init) { return 0; }', 'program pol_ops_init (section struct_ops/pol_init) is of kind struct_ops, which the policy denies without the scope jobs:c:hooks'],
      ['socket filter (no kind)', 'SEC("socket") int pol_sock(struct __sk_buff *skb) { return 0; }', 'program pol_sock (section socket, type socket_filter) is of no kind the policy allows (allowed: kprobe, uprobe, tracepoint, raw_tp, tp_btf, fentry, perf_event)'],
    ];
    for (const [name, body, expected] of cases) {
      it(name, async () => {
        expect(await refusalOf(program(body))).toBe(expected);
      });
    }

    it('the scope that allows a kind moves the check on to the next rule (a denied helper still is)', async () => {
      const message = await refusalOf(
        program('SEC("xdp") int pol_xdp_sig(struct xdp_md *ctx) { bpf_send_signal(9); return 2; }'),
        resolveProgramPolicy(['jobs:c', 'jobs:c:network']),
      );
      expect(message).toBe('program uses helper bpf_send_signal, which the policy denies');
    });
  });

  it('a map declared with pinning', async () => {
    const message = await refusalOf(
      program(
        'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); __uint(pinning, LIBBPF_PIN_BY_NAME); } pol_pinned SEC(".maps");\n' +
          `${TP} int pol_pin(void *ctx) { __u32 k = 0; bpf_map_lookup_elem(&pol_pinned, &k); return 0; }`,
      ),
    );
    expect(message).toBe('map pol_pinned is declared with pinning, which the policy denies');
  });

  it('in a runner process the refusal is the run\'s failure, after compiling and before anything loads', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launchRunner(start(program(`${TP} int pol_runner(void *ctx) { bpf_send_signal(9); return 0; }`)), 60_000, (m) => messages.push(m));
    handles.push(handle);
    const outcome = await handle.outcome;
    expect(outcome.exitCode).toBe(0);
    expect(messages).toEqual([
      { type: 'state', state: 'compiling' },
      { type: 'state', state: 'loading' },
      { type: 'failed', error: 'program uses helper bpf_send_signal, which the policy denies' },
    ]);
  });
});
