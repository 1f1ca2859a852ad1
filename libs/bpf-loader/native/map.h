// Map reads. Values come back raw: for per-CPU maps one 8-byte-aligned slot per possible CPU;
// the TypeScript layer sums or splits them.
#ifndef FLEETTRACE_MAP_H
#define FLEETTRACE_MAP_H

#include <node_api.h>

napi_value map_lookup(napi_env env, napi_callback_info info);
napi_value map_entries(napi_env env, napi_callback_info info);
napi_value map_possible_cpus(napi_env env, napi_callback_info info);

#endif
