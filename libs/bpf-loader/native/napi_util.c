#include "napi_util.h"

#include <stdio.h>
#include <stdlib.h>

napi_value napi_throw_last(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    char msg[256];
    snprintf(msg, sizeof(msg), "bpf-loader internal N-API failure in %s: %s", what,
             info && info->error_message ? info->error_message : "unknown");
    napi_throw_error(env, NULL, msg);
  }
  return NULL;
}

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    napi_throw_type_error(env, NULL, "bpf-loader native: missing arguments");
    return false;
  }
  return true;
}

char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "bpf-loader native: expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

bool get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "bpf-loader native: expected a Buffer");
    return false;
  }
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "bpf-loader native: expected a number");
    return false;
  }
  return true;
}

napi_value make_string(napi_env env, const char *s) {
  napi_value v = NULL;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value make_u32(napi_env env, uint32_t n) {
  napi_value v = NULL;
  napi_create_uint32(env, n, &v);
  return v;
}

napi_value make_bool(napi_env env, bool b) {
  napi_value v = NULL;
  napi_get_boolean(env, b, &v);
  return v;
}

bool set_prop(napi_env env, napi_value obj, const char *key, napi_value value) {
  return value && napi_set_named_property(env, obj, key, value) == napi_ok;
}

bool unwrap_external(napi_env env, napi_value v, const napi_type_tag *tag, const char *kind, void **out) {
  bool ok = false;
  if (napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof(msg), "bpf-loader native: expected a %s handle", kind);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

bool wrap_external(napi_env env, void *data, const napi_type_tag *tag, napi_finalize fin, napi_value *out) {
  if (napi_create_external(env, data, fin, NULL, out) != napi_ok) return false;
  return napi_type_tag_object(env, *out, tag) == napi_ok;
}
