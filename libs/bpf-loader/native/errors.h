// Throws the TypeScript error classes (BpfError, VerifierError, NotSupportedError) that the
// TS layer hands to the addon at init, so native and TS failures are the same types.
#ifndef FLEETTRACE_ERRORS_H
#define FLEETTRACE_ERRORS_H

#include <node_api.h>

napi_value errors_init(napi_env env, napi_callback_info info);

// errno is positive. libbpf_output is what libbpf printed during the failed operation (may be NULL).
napi_value throw_bpf_error(napi_env env, const char *op, int err, const char *subject, const char *libbpf_output);
// Throws VerifierError when libbpf_output holds a kernel verifier log, BpfError otherwise.
napi_value throw_not_supported(napi_env env, const char *feature, const char *detail);
napi_value throw_load_error(napi_env env, int err, const char *libbpf_output);

#endif
