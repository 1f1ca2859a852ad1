#include "link.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"
#include "libbpf_log.h"
#include "napi_util.h"
#include "object.h"

// Newer than the uapi headers this builds against (Linux 6.6): tc attachments as BPF links.
#define FT_BPF_TCX_INGRESS 46
#define FT_BPF_TCX_EGRESS 47

static const napi_type_tag link_tag = {0x6674726163656c69ULL, 0x6e6b5f5f5f763032ULL};

// A tc filter attached over netlink (kernels before tcx). Not a BPF link: it outlives our fds, so
// detaching is explicit, and the clsact qdisc goes only when we created it and no filter of ours
// still uses it.
struct tc_filter {
  int ifindex;
  enum bpf_tc_attach_point point;
  uint32_t handle, priority;
};

struct link_handle {
  struct bpf_link **links;
  size_t n;
  int raw_fd; // tcx link fd, -1 when none
  struct tc_filter *tc;
};

// Interfaces whose clsact qdisc this process created, with how many of our filters use it.
struct hook_ref {
  int ifindex;
  int refs;
  struct hook_ref *next;
};
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hook_ref *hooks;

static struct hook_ref **find_hook(int ifindex) {
  struct hook_ref **at = &hooks;
  while (*at && (*at)->ifindex != ifindex) at = &(*at)->next;
  return at;
}

// Returns 0 or a negative errno. A vanished interface took its filters and qdisc with it: not an error.
static int tc_filter_remove(struct tc_filter *f) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = f->point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->priority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err == -ENODEV || err == -ENOENT || err == -EINVAL) err = 0;
  pthread_mutex_lock(&hooks_lock);
  struct hook_ref **at = find_hook(f->ifindex);
  if (*at && --(*at)->refs == 0) {
    struct hook_ref *dead = *at;
    *at = dead->next;
    free(dead);
    hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
    int derr = bpf_tc_hook_destroy(&hook);
    if (derr && derr != -ENODEV && derr != -ENOENT && derr != -EINVAL && !err) err = derr;
  }
  pthread_mutex_unlock(&hooks_lock);
  return err;
}

// Returns 0 or the first negative errno; everything is released either way.
static int link_handle_release(struct link_handle *l) {
  int err = 0;
  for (size_t i = 0; i < l->n; i++) {
    int e = bpf_link__destroy(l->links[i]);
    if (e && !err) err = e;
  }
  free(l->links);
  l->links = NULL;
  l->n = 0;
  if (l->raw_fd >= 0) close(l->raw_fd);
  l->raw_fd = -1;
  if (l->tc) {
    int e = tc_filter_remove(l->tc);
    if (e && !err) err = e;
    free(l->tc);
    l->tc = NULL;
  }
  return err;
}

static void link_finalize(napi_env env, void *data, void *hint) {
  link_handle_release(data);
  free(data);
}

static uint32_t link_id_of_fd(int fd) {
  struct bpf_link_info li = {0};
  uint32_t len = sizeof(li);
  return fd >= 0 && bpf_obj_get_info_by_fd(fd, &li, &len) == 0 ? li.id : 0;
}

// Wraps a filled link_handle (taking ownership) into { handle, ids }.
static napi_value link_result(napi_env env, struct link_handle *l) {
  napi_value result, handle, ids;
  if (!wrap_external(env, l, &link_tag, link_finalize, &handle)) {
    link_handle_release(l);
    free(l);
    return napi_throw_last(env, "attach");
  }
  NAPI_CALL(env, napi_create_array(env, &ids));
  // Kernel link ids let tests find them with bpftool. Attachments that are not BPF links (legacy
  // perf-event attach on old kernels, netlink tc filters) have none.
  uint32_t n = 0;
  for (size_t i = 0; i < l->n; i++) {
    uint32_t id = link_id_of_fd(bpf_link__fd(l->links[i]));
    if (id) NAPI_CALL(env, napi_set_element(env, ids, n++, make_u32(env, id)));
  }
  if (l->raw_fd >= 0) {
    uint32_t id = link_id_of_fd(l->raw_fd);
    if (id) NAPI_CALL(env, napi_set_element(env, ids, n++, make_u32(env, id)));
  }
  NAPI_CALL(env, napi_create_object(env, &result));
  if (!set_prop(env, result, "handle", handle) || !set_prop(env, result, "ids", ids)) return napi_throw_last(env, "attach");
  return result;
}

static struct link_handle *link_handle_new(napi_env env) {
  struct link_handle *l = calloc(1, sizeof(*l));
  if (!l) napi_throw_error(env, NULL, "bpf-loader native: out of memory");
  else l->raw_fd = -1;
  return l;
}

static napi_value wrap_one_link(napi_env env, struct bpf_link *link) {
  struct link_handle *l = link_handle_new(env);
  if (l) l->links = malloc(sizeof(*l->links));
  if (!l || !l->links) {
    free(l);
    bpf_link__destroy(link);
    if (l) napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  l->links[0] = link;
  l->n = 1;
  return link_result(env, l);
}

static struct bpf_program *get_program(napi_env env, napi_value handle, napi_value name_arg) {
  struct object_handle *h = get_object(env, handle);
  if (!h) return NULL;
  char *name = get_string(env, name_arg);
  if (!name) return NULL;
  struct bpf_program *p = bpf_object__find_program_by_name(h->obj, name);
  if (!p) throw_bpf_error(env, "find program", ENOENT, name, NULL);
  // Left out of the load (LoadOptions.programs): there is no kernel program to attach.
  else if (bpf_program__fd(p) < 0) throw_bpf_error(env, "attach", EBADF, name, "program was not loaded");
  free(name);
  return p && bpf_program__fd(p) >= 0 ? p : NULL;
}

// Finishes an attach call: BpfError("attach <what>", errno, program, libbpf output) on failure.
static napi_value finish_attach(napi_env env, struct bpf_program *p, const char *what, struct bpf_link *link, int err,
                                struct strbuf *out) {
  napi_value r = NULL;
  if (link) {
    r = wrap_one_link(env, link);
  } else {
    char op[64];
    snprintf(op, sizeof(op), "attach %s", what);
    throw_bpf_error(env, op, err ? err : EINVAL, bpf_program__name(p), out->data);
  }
  strbuf_free(out);
  return r;
}

#define CAPTURE_BEGIN            \
  struct strbuf out = {0};       \
  libbpf_log_begin(&out)
#define CAPTURE_END(link)        \
  int err = (link) ? 0 : errno;  \
  libbpf_log_end()

// attach(objectHandle, programName, optional: boolean) → { handle, ids } | undefined
// Attaches by the program's SEC() definition (tracepoint/..., raw_tp/..., tp_btf/..., uprobe/...).
// A section that names no target cannot be auto-attached: with `optional` that is `undefined`
// (attachAll skips it), otherwise NotSupportedError.
napi_value link_attach(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  bool optional = false;
  if (!get_args(env, info, 3, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[2], &optional));
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach(p);
  CAPTURE_END(link);
  if (!link && err == EOPNOTSUPP) {
    strbuf_free(&out);
    if (optional) {
      napi_get_undefined(env, &result);
      return result;
    }
    return throw_not_supported(env, "auto-attach", bpf_program__section_name(p));
  }
  return finish_attach(env, p, "", link, err, &out);
}

// attachTracepoint(objectHandle, program, category, name)
napi_value link_attach_tracepoint(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  char *cat = p ? get_string(env, argv[2]) : NULL;
  char *name = cat ? get_string(env, argv[3]) : NULL;
  if (!name) {
    free(cat);
    return NULL;
  }
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach_tracepoint(p, cat, name);
  CAPTURE_END(link);
  free(cat);
  free(name);
  return finish_attach(env, p, "tracepoint", link, err, &out);
}

// attachRawTracepoint(objectHandle, program, name)
napi_value link_attach_raw_tracepoint(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  char *name = p ? get_string(env, argv[2]) : NULL;
  if (!name) return NULL;
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach_raw_tracepoint(p, name);
  CAPTURE_END(link);
  free(name);
  return finish_attach(env, p, "raw_tp", link, err, &out);
}

// attachTrace(objectHandle, program, lsm: boolean): tp_btf, fentry, fexit, fmod_ret (target fixed
// at load) or an LSM hook.
napi_value link_attach_trace(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool lsm = false;
  if (!get_args(env, info, 3, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[2], &lsm));
  CAPTURE_BEGIN;
  struct bpf_link *link = lsm ? bpf_program__attach_lsm(p) : bpf_program__attach_trace(p);
  CAPTURE_END(link);
  return finish_attach(env, p, lsm ? "lsm" : "trace", link, err, &out);
}

// attachKprobe(objectHandle, program, function, offset, retprobe)
napi_value link_attach_kprobe(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  uint32_t offset;
  bool retprobe;
  if (!get_args(env, info, 5, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_u32(env, argv[3], &offset)) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[4], &retprobe));
  char *fn = get_string(env, argv[2]);
  if (!fn) return NULL;
  LIBBPF_OPTS(bpf_kprobe_opts, opts, .offset = offset, .retprobe = retprobe);
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach_kprobe_opts(p, fn, &opts);
  CAPTURE_END(link);
  free(fn);
  return finish_attach(env, p, retprobe ? "kretprobe" : "kprobe", link, err, &out);
}

static bool get_pid(napi_env env, napi_value v, int *pid) {
  return napi_get_value_int32(env, v, pid) == napi_ok || (napi_throw_type_error(env, NULL, "pid"), false);
}

// attachUprobe(objectHandle, program, binaryPath, fileOffset, pid (-1: all), retprobe)
// The offset is resolved from ELF symbols by the TypeScript layer.
napi_value link_attach_uprobe(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  double offset;
  int pid;
  bool retprobe;
  if (!get_args(env, info, 6, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_pid(env, argv[4], &pid)) return NULL;
  NAPI_CALL(env, napi_get_value_double(env, argv[3], &offset));
  NAPI_CALL(env, napi_get_value_bool(env, argv[5], &retprobe));
  char *path = get_string(env, argv[2]);
  if (!path) return NULL;
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach_uprobe_opts(p, pid, path, (size_t)offset, &opts);
  CAPTURE_END(link);
  free(path);
  return finish_attach(env, p, retprobe ? "uretprobe" : "uprobe", link, err, &out);
}

// attachUsdt(objectHandle, program, binaryPath, provider, name, pid (-1: all))
napi_value link_attach_usdt(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int pid;
  if (!get_args(env, info, 6, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_pid(env, argv[5], &pid)) return NULL;
  char *path = get_string(env, argv[2]);
  char *provider = path ? get_string(env, argv[3]) : NULL;
  char *name = provider ? get_string(env, argv[4]) : NULL;
  struct bpf_link *link = NULL;
  if (name) {
    CAPTURE_BEGIN;
    link = bpf_program__attach_usdt(p, pid, path, provider, name, NULL);
    CAPTURE_END(link);
    free(path);
    free(provider);
    free(name);
    return finish_attach(env, p, "usdt", link, err, &out);
  }
  free(path);
  free(provider);
  return NULL;
}

// attachPerfEvent(objectHandle, program, frequencyHz, cpus: number[]) → one handle for all CPUs.
// CPU-clock sampling; CPUs that are offline (ENODEV) are skipped.
napi_value link_attach_perf_event(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t freq, ncpus;
  if (!get_args(env, info, 4, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_u32(env, argv[2], &freq)) return NULL;
  NAPI_CALL(env, napi_get_array_length(env, argv[3], &ncpus));
  struct link_handle *l = link_handle_new(env);
  if (!l) return NULL;
  l->links = calloc(ncpus ? ncpus : 1, sizeof(*l->links));
  if (!l->links) {
    free(l);
    return throw_bpf_error(env, "attach perf_event", ENOMEM, bpf_program__name(p), NULL);
  }
  for (uint32_t i = 0; i < ncpus; i++) {
    napi_value v;
    uint32_t cpu;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || !get_u32(env, v, &cpu)) goto fail;
    struct perf_event_attr attr = {
        .type = PERF_TYPE_SOFTWARE,
        .size = sizeof(attr),
        .config = PERF_COUNT_SW_CPU_CLOCK,
        .sample_freq = freq,
        .freq = 1,
    };
    int pfd = (int)syscall(__NR_perf_event_open, &attr, -1, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (pfd < 0) {
      if (errno == ENODEV) continue;
      throw_bpf_error(env, "attach perf_event", errno, "perf_event_open", NULL);
      goto fail;
    }
    CAPTURE_BEGIN;
    struct bpf_link *link = bpf_program__attach_perf_event(p, pfd);
    CAPTURE_END(link);
    if (!link) {
      close(pfd);
      throw_bpf_error(env, "attach perf_event", err, bpf_program__name(p), out.data);
      strbuf_free(&out);
      goto fail;
    }
    strbuf_free(&out);
    l->links[l->n++] = link; // the link owns pfd now
  }
  return link_result(env, l);
fail:
  link_handle_release(l);
  free(l);
  return NULL;
}

// attachXdp(objectHandle, program, ifindex)
napi_value link_attach_xdp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t ifindex;
  if (!get_args(env, info, 3, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_u32(env, argv[2], &ifindex)) return NULL;
  CAPTURE_BEGIN;
  struct bpf_link *link = bpf_program__attach_xdp(p, (int)ifindex);
  CAPTURE_END(link);
  return finish_attach(env, p, "xdp", link, err, &out);
}

static napi_value attach_tc_netlink(napi_env env, struct bpf_program *p, int ifindex, bool egress) {
  enum bpf_tc_attach_point point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(p));
  struct strbuf out = {0};
  struct link_handle *l = link_handle_new(env);
  if (!l) return NULL;
  l->tc = calloc(1, sizeof(*l->tc));
  if (!l->tc) {
    free(l);
    return throw_bpf_error(env, "attach tc", ENOMEM, bpf_program__name(p), NULL);
  }

  pthread_mutex_lock(&hooks_lock);
  libbpf_log_begin(&out);
  int err = bpf_tc_hook_create(&hook);
  bool created = err == 0;
  if (err == -EEXIST) err = 0;
  if (!err) {
    struct hook_ref **at = find_hook(ifindex);
    if (created && !*at) {
      *at = calloc(1, sizeof(**at));
      if (*at) (*at)->ifindex = ifindex;
    }
    if (*at) (*at)->refs++;
    err = bpf_tc_attach(&hook, &opts);
  }
  libbpf_log_end();
  pthread_mutex_unlock(&hooks_lock);

  l->tc->ifindex = ifindex;
  l->tc->point = point;
  if (err) {
    l->tc->handle = 0; // nothing attached; releasing drops our qdisc reference only
    link_handle_release(l);
    free(l);
    throw_bpf_error(env, "attach tc", -err, bpf_program__name(p), out.data);
    strbuf_free(&out);
    return NULL;
  }
  strbuf_free(&out);
  l->tc->handle = opts.handle;
  l->tc->priority = opts.priority;
  return link_result(env, l);
}

// attachTc(objectHandle, program, ifindex, egress, mechanism: 0 auto, 1 tcx link only, 2 netlink only)
// tcx (Linux 6.6+) is a BPF link: the kernel removes it when our fd closes, whatever happens to us.
napi_value link_attach_tc(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  uint32_t ifindex, mechanism;
  bool egress;
  if (!get_args(env, info, 5, argv)) return NULL;
  struct bpf_program *p = get_program(env, argv[0], argv[1]);
  if (!p || !get_u32(env, argv[2], &ifindex) || !get_u32(env, argv[4], &mechanism)) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[3], &egress));
  if (mechanism != 2) {
    int fd = bpf_link_create(bpf_program__fd(p), (int)ifindex, egress ? FT_BPF_TCX_EGRESS : FT_BPF_TCX_INGRESS, NULL);
    if (fd >= 0) {
      struct link_handle *l = link_handle_new(env);
      if (!l) {
        close(fd);
        return NULL;
      }
      l->raw_fd = fd;
      return link_result(env, l);
    }
    int err = errno;
    // EINVAL: a kernel that does not know the attach type. Anything else is a real failure.
    if (mechanism == 1 || err != EINVAL) return throw_bpf_error(env, "attach tcx", err, bpf_program__name(p), NULL);
  }
  return attach_tc_netlink(env, p, (int)ifindex, egress);
}

// destroyLink(handle): idempotent detach.
napi_value link_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct link_handle *l = NULL;
  if (!get_args(env, info, 1, argv) || !unwrap_external(env, argv[0], &link_tag, "link", (void **)&l)) return NULL;
  int err = link_handle_release(l);
  if (err) return throw_bpf_error(env, "detach", -err, "", NULL);
  return NULL;
}
