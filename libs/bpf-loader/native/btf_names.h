// Names declared in a BTF file, looked up by libbpf in C: the daemon asks which raw tracepoints a
// kernel has (btf_trace_<name> typedefs) without building vmlinux's whole type graph in JS or
// handing every name of it to JS.
#ifndef FLEETTRACE_BTF_NAMES_H
#define FLEETTRACE_BTF_NAMES_H

#include <node_api.h>

// btfHasTypedefs(path, names) → for each name, whether the BTF declares a typedef of that name
// (btf__find_by_name_kind); the file is parsed once per call.
napi_value btf_has_typedefs(napi_env env, napi_callback_info info);

#endif
