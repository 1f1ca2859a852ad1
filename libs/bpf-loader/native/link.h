// Attachments: one or more bpf_links (perf_event attaches one per CPU), a raw BPF link fd (tcx),
// or a netlink tc filter, behind one JS external that detaches all of it on close (or when collected).
#ifndef FLEETTRACE_LINK_H
#define FLEETTRACE_LINK_H

#include <node_api.h>

napi_value link_attach(napi_env env, napi_callback_info info);
napi_value link_attach_tracepoint(napi_env env, napi_callback_info info);
napi_value link_attach_raw_tracepoint(napi_env env, napi_callback_info info);
napi_value link_attach_trace(napi_env env, napi_callback_info info);
napi_value link_attach_kprobe(napi_env env, napi_callback_info info);
napi_value link_attach_uprobe(napi_env env, napi_callback_info info);
napi_value link_attach_usdt(napi_env env, napi_callback_info info);
napi_value link_attach_perf_event(napi_env env, napi_callback_info info);
napi_value link_attach_xdp(napi_env env, napi_callback_info info);
napi_value link_attach_tc(napi_env env, napi_callback_info info);
napi_value link_destroy(napi_env env, napi_callback_info info);

#endif
