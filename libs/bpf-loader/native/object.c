#include "object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "libbpf_log.h"
#include "napi_util.h"

static const napi_type_tag object_tag = {0x6674726163656f62ULL, 0x6a6563745f763031ULL};

static void object_handle_free(struct object_handle *h) {
  if (h->obj) bpf_object__close(h->obj);
  h->obj = NULL;
  free(h->elf);
  h->elf = NULL;
}

// Safety net for objects nobody closed: the kernel objects go when the handle is collected.
static void object_finalize(napi_env env, void *data, void *hint) {
  object_handle_free(data);
  free(data);
}

struct object_handle *get_object(napi_env env, napi_value v) {
  struct object_handle *h = NULL;
  if (!unwrap_external(env, v, &object_tag, "bpf object", (void **)&h)) return NULL;
  if (!h->obj) {
    throw_bpf_error(env, "use", EBADF, "object is closed", NULL);
    return NULL;
  }
  return h;
}

struct bpf_map *get_map(napi_env env, struct object_handle *h, napi_value name) {
  char *n = get_string(env, name);
  if (!n) return NULL;
  struct bpf_map *m = bpf_object__find_map_by_name(h->obj, n);
  if (!m) throw_bpf_error(env, "find map", ENOENT, n, NULL);
  free(n);
  return m;
}

// Opens ELF bytes with captured libbpf output; on failure throws BpfError(op "open").
// core_btf: a BTF file CO-RE relocations resolve against instead of the kernel's (NULL: the kernel's).
static struct object_handle *open_object(napi_env env, napi_value elf_arg, napi_value name_arg,
                                         const char *core_btf) {
  void *bytes;
  size_t len;
  if (!get_buffer(env, elf_arg, &bytes, &len)) return NULL;
  char *name = get_string(env, name_arg);
  if (!name) return NULL;
  struct object_handle *h = calloc(1, sizeof(*h));
  if (h) h->elf = malloc(len ? len : 1);
  if (!h || !h->elf) {
    free(h);
    free(name);
    napi_throw_error(env, NULL, "bpf-loader native: out of memory");
    return NULL;
  }
  memcpy(h->elf, bytes, len);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .btf_custom_path = core_btf);
  struct strbuf out = {0};
  libbpf_log_begin(&out);
  h->obj = bpf_object__open_mem(h->elf, len, &opts);
  int err = h->obj ? 0 : errno;
  libbpf_log_end();
  if (!h->obj) {
    throw_bpf_error(env, "open", err, name, out.data);
    object_handle_free(h);
    free(h);
    h = NULL;
  }
  strbuf_free(&out);
  free(name);
  return h;
}

static napi_value describe_programs(napi_env env, struct bpf_object *obj) {
  napi_value list;
  uint32_t i = 0;
  NAPI_CALL(env, napi_create_array(env, &list));
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) {
    napi_value o;
    NAPI_CALL(env, napi_create_object(env, &o));
    const char *type = libbpf_bpf_prog_type_str(bpf_program__type(p));
    if (!set_prop(env, o, "name", make_string(env, bpf_program__name(p))) ||
        !set_prop(env, o, "section", make_string(env, bpf_program__section_name(p))) ||
        !set_prop(env, o, "type", make_string(env, type ? type : "unknown")) ||
        !set_prop(env, o, "autoAttach", make_bool(env, bpf_program__autoattach(p))))
      return napi_throw_last(env, "describe program");
    NAPI_CALL(env, napi_set_element(env, list, i++, o));
  }
  return list;
}

// Data sections (.rodata, .data, .bss, .data.*) that libbpf backs with an internal map. The
// kernel-facing name of such a map is mangled ("objname.rodata"); users address it by section.
static bool is_data_section(struct bpf_object *obj, const char *sec) {
  return sec[0] == '.' && strcmp(sec, ".kconfig") != 0 && strcmp(sec, ".ksyms") != 0 &&
         bpf_object__find_map_by_name(obj, sec) != NULL;
}

static const char *section_of_internal_map(struct bpf_object *obj, const struct bpf_map *m) {
  struct btf *btf = bpf_object__btf(obj);
  if (!btf) return NULL;
  for (uint32_t id = 1; id < btf__type_cnt(btf); id++) {
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!btf_is_datasec(t)) continue;
    const char *sec = btf__name_by_offset(btf, t->name_off);
    if (sec && sec[0] == '.' && bpf_object__find_map_by_name(obj, sec) == m) return sec;
  }
  return NULL;
}

static napi_value describe_maps(napi_env env, struct bpf_object *obj) {
  napi_value list;
  uint32_t i = 0;
  NAPI_CALL(env, napi_create_array(env, &list));
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    napi_value o;
    NAPI_CALL(env, napi_create_object(env, &o));
    const char *section = bpf_map__is_internal(m) ? section_of_internal_map(obj, m) : NULL;
    const char *type = libbpf_bpf_map_type_str(bpf_map__type(m));
    if (!set_prop(env, o, "name", make_string(env, section ? section : bpf_map__name(m))) ||
        !set_prop(env, o, "kernelName", make_string(env, bpf_map__name(m))) ||
        !set_prop(env, o, "type", make_string(env, type ? type : "unknown")) ||
        !set_prop(env, o, "keySize", make_u32(env, bpf_map__key_size(m))) ||
        !set_prop(env, o, "valueSize", make_u32(env, bpf_map__value_size(m))) ||
        !set_prop(env, o, "maxEntries", make_u32(env, bpf_map__max_entries(m))) ||
        !set_prop(env, o, "internal", make_bool(env, bpf_map__is_internal(m))))
      return napi_throw_last(env, "describe map");
    NAPI_CALL(env, napi_set_element(env, list, i++, o));
  }
  return list;
}

// Globals come from the BTF DATASECs: each var's section, offset and size.
static napi_value describe_globals(napi_env env, struct bpf_object *obj) {
  napi_value list;
  uint32_t n = 0;
  NAPI_CALL(env, napi_create_array(env, &list));
  struct btf *btf = bpf_object__btf(obj);
  if (!btf) return list;
  for (uint32_t id = 1; id < btf__type_cnt(btf); id++) {
    const struct btf_type *sec = btf__type_by_id(btf, id);
    if (!btf_is_datasec(sec)) continue;
    const char *sec_name = btf__name_by_offset(btf, sec->name_off);
    if (!sec_name || !is_data_section(obj, sec_name)) continue;
    const struct btf_var_secinfo *vi = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); i++, vi++) {
      const struct btf_type *var = btf__type_by_id(btf, vi->type);
      // Static variables are the object's private state, not parameters.
      if (!btf_is_var(var) || btf_var(var)->linkage == BTF_VAR_STATIC) continue;
      napi_value o;
      NAPI_CALL(env, napi_create_object(env, &o));
      if (!set_prop(env, o, "name", make_string(env, btf__name_by_offset(btf, var->name_off))) ||
          !set_prop(env, o, "section", make_string(env, sec_name)) ||
          !set_prop(env, o, "offset", make_u32(env, vi->offset)) ||
          !set_prop(env, o, "size", make_u32(env, vi->size)))
        return napi_throw_last(env, "describe global");
      NAPI_CALL(env, napi_set_element(env, list, n++, o));
    }
  }
  return list;
}

// inspect(elf: Buffer, objectName: string) → { programs, maps, globals }
napi_value object_inspect(napi_env env, napi_callback_info info) {
  napi_value argv[2], result = NULL, programs, maps, globals;
  if (!get_args(env, info, 2, argv)) return NULL;
  struct object_handle *h = open_object(env, argv[0], argv[1], NULL);
  if (!h) return NULL;
  if ((programs = describe_programs(env, h->obj)) && (maps = describe_maps(env, h->obj)) &&
      (globals = describe_globals(env, h->obj)) && napi_create_object(env, &result) == napi_ok) {
    if (!set_prop(env, result, "programs", programs) || !set_prop(env, result, "maps", maps) ||
        !set_prop(env, result, "globals", globals))
      result = napi_throw_last(env, "inspect");
  }
  object_handle_free(h);
  free(h);
  return result;
}

// Writes one { section, offset, value } into the section's initial image before load.
static bool apply_global(napi_env env, struct object_handle *h, napi_value g) {
  napi_value section, offset, value;
  uint32_t off;
  void *bytes;
  size_t len;
  if (napi_get_named_property(env, g, "section", &section) != napi_ok ||
      napi_get_named_property(env, g, "offset", &offset) != napi_ok ||
      napi_get_named_property(env, g, "value", &value) != napi_ok || !get_u32(env, offset, &off) ||
      !get_buffer(env, value, &bytes, &len))
    return false;
  struct bpf_map *m = get_map(env, h, section);
  if (!m) return false;
  size_t size = 0;
  // libbpf keeps the section image in memory until load; skeletons write through this pointer too.
  char *image = (char *)bpf_map__initial_value(m, &size);
  if (!image || off > size || len > size - off) {
    throw_bpf_error(env, "set global", ERANGE, bpf_map__name(m), NULL);
    return false;
  }
  memcpy(image + off, bytes, len);
  return true;
}

static bool apply_max_entries(napi_env env, struct object_handle *h, napi_value item) {
  napi_value map, value;
  uint32_t n;
  if (napi_get_named_property(env, item, "map", &map) != napi_ok ||
      napi_get_named_property(env, item, "maxEntries", &value) != napi_ok || !get_u32(env, value, &n))
    return false;
  struct bpf_map *m = get_map(env, h, map);
  if (!m) return false;
  int err = bpf_map__set_max_entries(m, n);
  if (err) throw_bpf_error(env, "set max entries", -err, bpf_map__name(m), NULL);
  return err == 0;
}

static bool for_each(napi_env env, struct object_handle *h, napi_value array,
                     bool (*apply)(napi_env, struct object_handle *, napi_value)) {
  uint32_t n = 0;
  if (napi_get_array_length(env, array, &n) != napi_ok) return false;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok || !apply(env, h, item)) return false;
  }
  return true;
}

// { program, target }: the kernel function (or BPF program) an fentry/fexit program attaches to.
static bool apply_attach_target(napi_env env, struct object_handle *h, napi_value item) {
  napi_value program, target;
  if (napi_get_named_property(env, item, "program", &program) != napi_ok ||
      napi_get_named_property(env, item, "target", &target) != napi_ok)
    return false;
  char *name = get_string(env, program);
  char *fn = name ? get_string(env, target) : NULL;
  bool ok = false;
  if (fn) {
    struct bpf_program *p = bpf_object__find_program_by_name(h->obj, name);
    int err = p ? bpf_program__set_attach_target(p, 0, fn) : -ENOENT;
    if (err) throw_bpf_error(env, "set attach target", -err, name, NULL);
    ok = err == 0;
  }
  free(name);
  free(fn);
  return ok;
}

// A ring buffer replaced by a one-entry array: on the perf-buffer path the programs' ring-buffer
// code is dead (a const volatile switch the verifier resolves), but the map must still exist, and
// a kernel without ring buffers cannot create one.
static bool apply_placeholder(napi_env env, struct object_handle *h, napi_value name) {
  struct bpf_map *m = get_map(env, h, name);
  if (!m) return false;
  int err = bpf_map__set_type(m, BPF_MAP_TYPE_ARRAY);
  if (!err) err = bpf_map__set_key_size(m, 4);
  if (!err) err = bpf_map__set_value_size(m, 4);
  if (!err) err = bpf_map__set_max_entries(m, 1);
  if (err) throw_bpf_error(env, "replace ring buffer", -err, bpf_map__name(m), NULL);
  return err == 0;
}

// Only the named programs are loaded (null: all).
static bool select_programs(napi_env env, struct object_handle *h, napi_value names) {
  napi_valuetype t;
  uint32_t n = 0;
  if (napi_typeof(env, names, &t) != napi_ok) return false;
  if (t == napi_null || t == napi_undefined) return true;
  if (napi_get_array_length(env, names, &n) != napi_ok) return false;
  struct bpf_program *p;
  bpf_object__for_each_program(p, h->obj) {
    bool wanted = false;
    for (uint32_t i = 0; i < n && !wanted; i++) {
      napi_value item;
      if (napi_get_element(env, names, i, &item) != napi_ok) return false;
      char *name = get_string(env, item);
      if (!name) return false;
      wanted = strcmp(name, bpf_program__name(p)) == 0;
      free(name);
    }
    bpf_program__set_autoload(p, wanted);
  }
  return true;
}

// load(elf, objectName, globals: {section, offset, value}[], maxEntries: {map, maxEntries}[],
//      programs: string[] | null, attachTargets: {program, target}[], placeholderMaps: string[],
//      coreBtf: string | null) → handle
// All-or-nothing: on any failure everything libbpf created is closed before the error is thrown.
napi_value object_load(napi_env env, napi_callback_info info) {
  napi_value argv[8], handle;
  napi_valuetype core_btf_type;
  char *core_btf = NULL;
  if (!get_args(env, info, 8, argv)) return NULL;
  if (napi_typeof(env, argv[7], &core_btf_type) != napi_ok) return napi_throw_last(env, "load");
  if (core_btf_type != napi_null && !(core_btf = get_string(env, argv[7]))) return NULL;
  struct object_handle *h = open_object(env, argv[0], argv[1], core_btf);
  free(core_btf); // libbpf keeps its own copy
  if (!h) return NULL;
  if (!for_each(env, h, argv[2], apply_global) || !for_each(env, h, argv[3], apply_max_entries) ||
      !select_programs(env, h, argv[4]) || !for_each(env, h, argv[5], apply_attach_target) ||
      !for_each(env, h, argv[6], apply_placeholder))
    goto fail;

  struct strbuf out = {0};
  libbpf_log_begin(&out);
  int err = bpf_object__load(h->obj);
  libbpf_log_end();
  if (err) throw_load_error(env, -err, out.data);
  strbuf_free(&out);
  if (err) goto fail;

  if (!wrap_external(env, h, &object_tag, object_finalize, &handle)) goto fail;
  return handle;

fail:
  object_handle_free(h);
  free(h);
  return napi_throw_last(env, "load");
}

// closeObject(handle): idempotent; frees every fd the object holds (programs, maps).
napi_value object_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct object_handle *h = NULL;
  if (!get_args(env, info, 1, argv) || !unwrap_external(env, argv[0], &object_tag, "bpf object", (void **)&h))
    return NULL;
  object_handle_free(h);
  return NULL;
}
