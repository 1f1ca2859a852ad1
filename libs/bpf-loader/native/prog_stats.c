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

// Turning stats on flips a static key: the kernel patches every BPF dispatch site and waits for
// each CPU, 3-50 ms on this 2-CPU machine. The syscall therefore runs on a libuv worker thread, so
// the JS thread goes on delivering the events of programs that are already attached.
struct enable_work {
  napi_async_work work;
  napi_deferred deferred;
  int fd;  // -1 when the call failed
  int err; // its errno
};

static void enable_execute(napi_env env, void *data) {
  struct enable_work *w = data;
  w->fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  w->err = w->fd < 0 ? errno : 0;
}

// Settles the promise on the JS thread: the handle, or the BpfError enableStats would throw.
static void enable_complete(napi_env env, napi_status status, void *data) {
  struct enable_work *w = data;
  napi_value out = NULL, error = NULL;
  struct stats_handle *s = NULL;
  if (status != napi_ok) {
    if (w->fd >= 0) close(w->fd);
    napi_throw_error(env, NULL, "bpf-loader native: enable stats was cancelled");
  } else if (w->fd < 0) {
    throw_bpf_error(env, "enable stats", w->err, "BPF_STATS_RUN_TIME", NULL);
  } else if (!(s = malloc(sizeof(*s)))) {
    close(w->fd);
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
  } else {
    s->fd = w->fd;
    // As in wrap_external's contract: the external may already own s, so only the fd is given back.
    if (!wrap_external(env, s, &stats_tag, stats_finalize, &out)) {
      stats_close(s);
      out = NULL;
    }
  }
  if (out) napi_resolve_deferred(env, w->deferred, out);
  else if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_reject_deferred(env, w->deferred, error);
  napi_delete_async_work(env, w->work);
  free(w);
}

napi_value prog_stats_enable(napi_env env, napi_callback_info info) {
  struct enable_work *w = calloc(1, sizeof(*w));
  if (!w) {
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  w->fd = -1;
  napi_value promise, name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "fleettrace:enableStats", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, enable_execute, enable_complete, w, &w->work) != napi_ok) {
    free(w); // a promise already made is left pending and collected with nothing waiting on it
    return napi_throw_last(env, "enable stats");
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    return napi_throw_last(env, "enable stats");
  }
  return promise;
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
