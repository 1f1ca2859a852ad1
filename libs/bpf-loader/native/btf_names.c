#include "btf_names.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>

#include "errors.h"
#include "napi_util.h"

napi_value btf_has_typedefs(napi_env env, napi_callback_info info) {
  napi_value argv[2], found = NULL;
  if (!get_args(env, info, 2, argv)) return NULL;
  uint32_t count;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok) return napi_throw_last(env, "btfHasTypedefs names");
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  struct btf *btf = btf__parse(path, NULL);
  if (!btf) {
    throw_bpf_error(env, "parse BTF", errno ? errno : EINVAL, path, NULL);
    goto out;
  }
  if (napi_create_array_with_length(env, count, &found) != napi_ok) {
    found = napi_throw_last(env, "btfHasTypedefs");
    goto out;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok) {
      found = napi_throw_last(env, "btfHasTypedefs names");
      goto out;
    }
    char *name = get_string(env, item);
    if (!name) {
      found = NULL;
      goto out;
    }
    // A negative id (-ENOENT) is "not declared"; libbpf searches by name, without a JS copy of the names.
    bool declared = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
    free(name);
    if (napi_set_element(env, found, i, make_bool(env, declared)) != napi_ok) {
      found = napi_throw_last(env, "btfHasTypedefs");
      goto out;
    }
  }
out:
  btf__free(btf);
  free(path);
  return found;
}
