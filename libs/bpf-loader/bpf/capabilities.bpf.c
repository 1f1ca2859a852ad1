// Minimal programs the capability probe (src/capabilities.ts) loads and attaches one at a time to
// learn which attach types this kernel really allows. Every program does nothing and lets
// packets pass; targets are chosen at probe time.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

SEC("tracepoint/syscalls/sys_enter_getppid")
int cap_tracepoint(void *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int cap_raw_tp(void *ctx) { return 0; }

SEC("tp_btf/sys_enter")
int cap_tp_btf(void *ctx) { return 0; }

SEC("kprobe")
int cap_kprobe(void *ctx) { return 0; }

SEC("kretprobe")
int cap_kretprobe(void *ctx) { return 0; }

SEC("fentry")
int cap_fentry(void *ctx) { return 0; }

SEC("fexit")
int cap_fexit(void *ctx) { return 0; }

SEC("lsm/file_open")
int cap_lsm(void *ctx) { return 0; }

SEC("uprobe")
int cap_uprobe(void *ctx) { return 0; }

SEC("uretprobe")
int cap_uretprobe(void *ctx) { return 0; }

SEC("usdt")
int cap_usdt(void *ctx) { return 0; }

SEC("perf_event")
int cap_perf_event(void *ctx) { return 0; }

SEC("xdp")
int cap_xdp(void *ctx) { return 2; /* XDP_PASS */ }

SEC("tc")
int cap_tc(void *ctx) { return 0; /* TC_ACT_OK */ }

char LICENSE[] SEC("license") = "GPL";
