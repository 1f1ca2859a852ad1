// Names declared in a BTF file, looked up by libbpf in C: the daemon asks which raw tracepoints a
// kernel has (btf_trace_<name> typedefs) without building vmlinux's whole type graph in JS.
#ifndef FLEETTRACE_BTF_NAMES_H
#define FLEETTRACE_BTF_NAMES_H

#include <node_api.h>

// btfTypedefNames(path, prefix) → the names of typedefs starting with prefix, prefix removed.
napi_value btf_typedef_names(napi_env env, napi_callback_info info);

#endif
