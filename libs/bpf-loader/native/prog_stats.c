#include "prog_stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "errors.h"
#include "napi_util.h"
#include "object.h"

static const napi_type_tag stats_tag = {0x6674737461747366ULL, 0x62706673746174fdULL};

struct stats_handle {
  int fd; // -1 once closed
};

static void stats_close(struct stats_handle *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

// A handle the GC collects without disableStats() still gives the kernel its count back.
static void stats_finalize(napi_env env, void *data, void *hint) {
  stats_close(data);
  free(data);
}

napi_value prog_stats_enable(napi_env env, napi_callback_info info) {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) return throw_bpf_error(env, "enable stats", errno, "BPF_STATS_RUN_TIME", NULL);
  struct stats_handle *s = malloc(sizeof(*s));
  if (!s) {
    close(fd);
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  s->fd = fd;
  napi_value out;
  if (!wrap_external(env, s, &stats_tag, stats_finalize, &out)) {
    // The external may already own s (its finalizer frees it); only give the fd back now.
    stats_close(s);
    return NULL;
  }
  return out;
}

napi_value prog_stats_disable(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct stats_handle *s = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!unwrap_external(env, argv[0], &stats_tag, "stats handle", (void **)&s)) return NULL;
  stats_close(s);
  return NULL;
}

static napi_value make_double(napi_env env, double n) {
  napi_value v = NULL;
  napi_create_double(env, n, &v);
  return v;
}

napi_value prog_stats_read(napi_env env, napi_callback_info info) {
  napi_value argv[1], list;
  if (!get_args(env, info, 1, argv)) return NULL;
  struct object_handle *h = get_object(env, argv[0]);
  if (!h) return NULL;
  NAPI_CALL(env, napi_create_array(env, &list));
  uint32_t i = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, h->obj) {
    struct bpf_prog_info pi = {0};
    uint32_t len = sizeof(pi);
    int fd = bpf_program__fd(p);
    if (fd < 0) continue; // never loaded
    if (bpf_obj_get_info_by_fd(fd, &pi, &len)) return throw_bpf_error(env, "prog info", errno, bpf_program__name(p), NULL);
    napi_value o;
    NAPI_CALL(env, napi_create_object(env, &o));
    // Doubles are exact up to 2^53 ns (104 days of BPF CPU time): enough for one run.
    if (!set_prop(env, o, "name", make_string(env, bpf_program__name(p))) || !set_prop(env, o, "id", make_u32(env, pi.id)) ||
        !set_prop(env, o, "runTimeNs", make_double(env, (double)pi.run_time_ns)) ||
        !set_prop(env, o, "runCount", make_double(env, (double)pi.run_cnt)) ||
        !set_prop(env, o, "recursionMisses", make_double(env, (double)pi.recursion_misses)))
      return napi_throw_last(env, "program stats");
    NAPI_CALL(env, napi_set_element(env, list, i++, o));
  }
  return list;
}
