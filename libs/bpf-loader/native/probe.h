// Kernel feature probes through libbpf (it loads a minimal program or creates a minimal map).
#ifndef FLEETTRACE_PROBE_H
#define FLEETTRACE_PROBE_H

#include <node_api.h>

napi_value probe_program_type(napi_env env, napi_callback_info info);
napi_value probe_map_type(napi_env env, napi_callback_info info);
napi_value probe_program_type_names(napi_env env, napi_callback_info info);
napi_value probe_map_type_names(napi_env env, napi_callback_info info);
napi_value probe_helper(napi_env env, napi_callback_info info);
napi_value probe_fire_targets(napi_env env, napi_callback_info info);

#endif
