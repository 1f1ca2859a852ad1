// Small N-API helpers shared by the addon's files. Native code only does cheap checks; the
// TypeScript layer validates arguments before calling in.
#ifndef FLEETTRACE_NAPI_UTIL_H
#define FLEETTRACE_NAPI_UTIL_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Any failing N-API call leaves an exception pending (set by N-API or by us); bail out with NULL.
#define NAPI_CALL(env, call)                                  \
  do {                                                        \
    if ((call) != napi_ok) return napi_throw_last(env, #call); \
  } while (0)

napi_value napi_throw_last(napi_env env, const char *what);

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
// Returns a malloc'ed NUL-terminated copy; NULL with an exception pending on failure.
char *get_string(napi_env env, napi_value v);
bool get_buffer(napi_env env, napi_value v, void **data, size_t *len);
bool get_u32(napi_env env, napi_value v, uint32_t *out);

napi_value make_string(napi_env env, const char *s);
napi_value make_u32(napi_env env, uint32_t n);
napi_value make_bool(napi_env env, bool b);
bool set_prop(napi_env env, napi_value obj, const char *key, napi_value value);

// Externals wrapping native handles are type-tagged so a handle of one kind passed where another
// is expected is a TypeError instead of memory corruption.
bool unwrap_external(napi_env env, napi_value v, const napi_type_tag *tag, const char *kind, void **out);
bool wrap_external(napi_env env, void *data, const napi_type_tag *tag, napi_finalize fin, napi_value *out);

#endif
