/* A user's own C program, as tests submit one (kind 'c'): counts getpriority() calls per process
 * in a hash map and streams one event per call, only in the cgroup the runner sets. Tests edit
 * it (a missing ';', an unchecked lookup) to provoke compile and verifier failures. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct pid_key { __u32 pid; char comm[16]; };
struct event { __u64 ts; __u32 pid; char comm[16]; };
/* Puts struct event in the object's BTF, so the runner can decode records by its name. */
struct event *unused_event __attribute__((unused));

const volatile __u64 filter_cgroup_id = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct pid_key);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpriority")
int count_getpriority(void *ctx)
{
  if (filter_cgroup_id && bpf_get_current_cgroup_id() != filter_cgroup_id)
    return 0;
  struct pid_key k = {};
  k.pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(k.comm, sizeof(k.comm));
  __u64 one = 1, *v = bpf_map_lookup_elem(&counts, &k);
  if (v) __sync_fetch_and_add(v, 1);
  else bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e)
    return 0;
  e->ts = bpf_ktime_get_ns();
  e->pid = k.pid;
  __builtin_memcpy(e->comm, k.comm, sizeof(e->comm));
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
