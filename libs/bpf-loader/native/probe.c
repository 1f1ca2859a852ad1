#include "probe.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>

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

// Every type name libbpf knows, in enum order.
static napi_value names(napi_env env, const char *(*to_str)(int)) {
  napi_value list;
  NAPI_CALL(env, napi_create_array(env, &list));
  for (int t = 0;; t++) {
    const char *s = to_str(t);
    if (!s) break;
    NAPI_CALL(env, napi_set_element(env, list, (uint32_t)t, make_string(env, s)));
  }
  return list;
}

napi_value probe_program_type_names(napi_env env, napi_callback_info info) { return names(env, prog_str); }
napi_value probe_map_type_names(napi_env env, napi_callback_info info) { return names(env, map_str); }

// Helper names as the uapi header spells them (without the bpf_ prefix), from its own list.
#define HELPER_NAME(x) #x
static const char *const helper_names[] = {__BPF_FUNC_MAPPER(HELPER_NAME)};
#undef HELPER_NAME

// probeHelper(programType, helperName) → true / false, or null when libbpf cannot tell for that
// program type. TypeError for names neither libbpf nor the uapi header knows.
napi_value probe_helper(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *type_name = get_string(env, argv[0]);
  if (!type_name) return NULL;
  char *helper = get_string(env, argv[1]);
  if (!helper) {
    free(type_name);
    return NULL;
  }
  int type = type_by_name(prog_str, type_name);
  int id = -1;
  for (size_t i = 1; i < sizeof(helper_names) / sizeof(helper_names[0]); i++)
    if (strcmp(helper_names[i], helper) == 0) id = (int)i;
  free(type_name);
  free(helper);
  if (type < 0 || id < 0) {
    napi_throw_type_error(env, NULL, "bpf-loader native: unknown program type or helper name");
    return NULL;
  }
  int r = libbpf_probe_bpf_helper((enum bpf_prog_type)type, (enum bpf_func_id)id, NULL);
  if (r < 0) {
    napi_get_null(env, &result);
    return result;
  }
  return make_bool(env, r > 0);
}

// Targets the capability probe attaches a uprobe and a USDT probe to, in this very addon, and
// fires: proof that user-space probes work here without shipping another binary.
__attribute__((noinline, used, visibility("default"))) int fleettrace_uprobe_target(int n) {
  DTRACE_PROBE1(fleettrace, capability_probe, n);
  __asm__ volatile("" ::: "memory");
  return n + 1;
}

// fireProbeTargets(n): calls fleettrace_uprobe_target (and its USDT probe) n times.
napi_value probe_fire_targets(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t n;
  if (!get_args(env, info, 1, argv) || !get_u32(env, argv[0], &n)) return NULL;
  volatile int sink = 0;
  for (uint32_t i = 0; i < n; i++) sink += fleettrace_uprobe_target((int)i);
  (void)sink;
  return NULL;
}
