#include "link.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>

#include "errors.h"
#include "libbpf_log.h"
#include "napi_util.h"
#include "object.h"

static const napi_type_tag link_tag = {0x6674726163656c69ULL, 0x6e6b5f5f5f763031ULL};

struct link_handle {
  struct bpf_link *link; // NULL once destroyed
};

static void link_finalize(napi_env env, void *data, void *hint) {
  struct link_handle *l = data;
  if (l->link) bpf_link__destroy(l->link);
  free(l);
}

// attach(objectHandle, programName, optional: boolean) → { handle, id } | undefined
// Attaches by the program's SEC() definition (tracepoint/..., raw_tp/..., tp_btf/..., uprobe/...).
// A section that names no target cannot be auto-attached: with `optional` that is `undefined`
// (attachAll skips it), otherwise NotSupportedError.
napi_value link_attach(napi_env env, napi_callback_info info) {
  napi_value argv[3], result, handle;
  bool optional = false;
  if (!get_args(env, info, 3, argv)) return NULL;
  struct object_handle *h = get_object(env, argv[0]);
  if (!h) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[2], &optional));
  char *name = get_string(env, argv[1]);
  if (!name) return NULL;
  struct bpf_program *p = bpf_object__find_program_by_name(h->obj, name);
  if (!p) {
    throw_bpf_error(env, "find program", ENOENT, name, NULL);
    free(name);
    return NULL;
  }
  free(name);

  struct strbuf out = {0};
  libbpf_log_begin(&out);
  struct bpf_link *link = bpf_program__attach(p);
  int err = link ? 0 : errno;
  libbpf_log_end();
  if (!link) {
    if (err == EOPNOTSUPP && optional) {
      strbuf_free(&out);
      napi_get_undefined(env, &result);
      return result;
    }
    if (err == EOPNOTSUPP)
      throw_not_supported(env, "auto-attach", bpf_program__section_name(p));
    else
      throw_bpf_error(env, "attach", err, bpf_program__name(p), out.data);
    strbuf_free(&out);
    return NULL;
  }
  strbuf_free(&out);

  struct link_handle *l = malloc(sizeof(*l));
  if (!l) {
    bpf_link__destroy(link);
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  l->link = link;
  napi_value tagged;
  if (!wrap_external(env, l, &link_tag, link_finalize, &tagged)) {
    bpf_link__destroy(link);
    free(l);
    return napi_throw_last(env, "attach");
  }
  handle = tagged;
  // The kernel's link id lets tests find it with bpftool. Attachments that are not BPF links
  // (legacy perf-event attach on old kernels) have none: 0.
  struct bpf_link_info li = {0};
  uint32_t len = sizeof(li);
  uint32_t id = bpf_obj_get_info_by_fd(bpf_link__fd(link), &li, &len) == 0 ? li.id : 0;
  NAPI_CALL(env, napi_create_object(env, &result));
  if (!set_prop(env, result, "handle", handle) || !set_prop(env, result, "id", make_u32(env, id)))
    return napi_throw_last(env, "attach");
  return result;
}

// destroyLink(handle): idempotent detach.
napi_value link_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct link_handle *l = NULL;
  if (!get_args(env, info, 1, argv) || !unwrap_external(env, argv[0], &link_tag, "link", (void **)&l)) return NULL;
  if (l->link) {
    int err = bpf_link__destroy(l->link);
    l->link = NULL;
    if (err) return throw_bpf_error(env, "detach", -err, "", NULL);
  }
  return NULL;
}
