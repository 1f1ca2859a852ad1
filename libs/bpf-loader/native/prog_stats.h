// Run-time statistics of loaded programs (run_time_ns / run_cnt) and the BPF_ENABLE_STATS switch
// that makes the kernel collect them.
#ifndef FLEETTRACE_PROG_STATS_H
#define FLEETTRACE_PROG_STATS_H

#include <node_api.h>

// enableStats() → Promise<handle>, the syscall made on a worker thread (see prog_stats.c). Stats
// are collected while any such fd is open; the kernel drops its count when the fd closes, however
// the process ends (SIGKILL included).
napi_value prog_stats_enable(napi_env env, napi_callback_info info);
// disableStats(handle): closes the fd now (idempotent).
napi_value prog_stats_disable(napi_env env, napi_callback_info info);
// programStats(objectHandle) → [{ name, id, runTimeNs, runCount, recursionMisses }] of loaded programs.
napi_value prog_stats_read(napi_env env, napi_callback_info info);

#endif
