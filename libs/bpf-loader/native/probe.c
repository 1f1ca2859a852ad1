#include "probe.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "napi_util.h"

// libbpf names types by their enum value; the enums are dense, so walk until it runs out.
static int type_by_name(const char *(*to_str)(int), const char *name) {
  for (int t = 0;; t++) {
    const char *s = to_str(t);
    if (!s) return -1;
    if (strcmp(s, name) == 0) return t;
  }
}

static const char *prog_str(int t) { return libbpf_bpf_prog_type_str((enum bpf_prog_type)t); }
static const char *map_str(int t) { return libbpf_bpf_map_type_str((enum bpf_map_type)t); }

// → true / false, or null when libbpf cannot probe that type; TypeError for a name libbpf does not know.
static napi_value probe(napi_env env, napi_callback_info info, const char *(*to_str)(int),
                        int (*probe_fn)(int)) {
  napi_value argv[1], result;
  if (!get_args(env, info, 1, argv)) return NULL;
  char *name = get_string(env, argv[0]);
  if (!name) return NULL;
  int type = type_by_name(to_str, name);
  free(name);
  if (type < 0) {
    napi_throw_type_error(env, NULL, "bpf-loader native: unknown type name");
    return NULL;
  }
  int r = probe_fn(type);
  if (r < 0) {
    napi_get_null(env, &result);
    return result;
  }
  return make_bool(env, r > 0);
}

static int probe_prog(int t) { return libbpf_probe_bpf_prog_type((enum bpf_prog_type)t, NULL); }
static int probe_map(int t) { return libbpf_probe_bpf_map_type((enum bpf_map_type)t, NULL); }

napi_value probe_program_type(napi_env env, napi_callback_info info) { return probe(env, info, prog_str, probe_prog); }
napi_value probe_map_type(napi_env env, napi_callback_info info) { return probe(env, info, map_str, probe_map); }
