#include "btf_names.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "napi_util.h"

napi_value btf_typedef_names(napi_env env, napi_callback_info info) {
  napi_value argv[2], list = NULL;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  char *prefix = path ? get_string(env, argv[1]) : NULL;
  if (!prefix) {
    free(path);
    return NULL;
  }
  struct btf *btf = btf__parse(path, NULL);
  if (!btf) {
    throw_bpf_error(env, "parse BTF", errno ? errno : EINVAL, path, NULL);
    goto out;
  }
  if (napi_create_array(env, &list) != napi_ok) {
    list = napi_throw_last(env, "btfTypedefNames");
    goto out;
  }
  size_t prefix_len = strlen(prefix);
  uint32_t n = 0, types = btf__type_cnt(btf);
  for (uint32_t id = 1; id < types; id++) {
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!btf_is_typedef(t)) continue;
    const char *name = btf__name_by_offset(btf, t->name_off);
    if (!name || strncmp(name, prefix, prefix_len) != 0) continue;
    if (napi_set_element(env, list, n++, make_string(env, name + prefix_len)) != napi_ok) {
      list = napi_throw_last(env, "btfTypedefNames");
      goto out;
    }
  }
out:
  btf__free(btf);
  free(path);
  free(prefix);
  return list;
}
