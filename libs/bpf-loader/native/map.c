#include "map.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "napi_util.h"
#include "object.h"
#include "strbuf.h"

static bool is_per_cpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Size of the buffer the kernel fills for one lookup.
static size_t raw_value_size(const struct bpf_map *m) {
  size_t vs = bpf_map__value_size(m);
  if (!is_per_cpu(bpf_map__type(m))) return vs;
  return ((vs + 7) & ~(size_t)7) * (size_t)libbpf_num_possible_cpus();
}

// lookup(objectHandle, mapName, key: Buffer) → Buffer | null
napi_value map_lookup(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  void *key;
  size_t key_len;
  if (!get_args(env, info, 3, argv)) return NULL;
  struct object_handle *h = get_object(env, argv[0]);
  struct bpf_map *m = h ? get_map(env, h, argv[1]) : NULL;
  if (!m || !get_buffer(env, argv[2], &key, &key_len)) return NULL;
  if (key_len != bpf_map__key_size(m)) return throw_bpf_error(env, "lookup", EINVAL, "key size", NULL);

  void *value;
  NAPI_CALL(env, napi_create_buffer(env, raw_value_size(m), &value, &result));
  if (bpf_map_lookup_elem(bpf_map__fd(m), key, value) == 0) return result;
  if (errno == ENOENT) {
    napi_get_null(env, &result);
    return result;
  }
  return throw_bpf_error(env, "lookup", errno, bpf_map__name(m), NULL);
}

// entries(objectHandle, mapName) → { keys: Buffer, values: Buffer, count }
// Walks the map with get_next_key in one native call; a key deleted between the walk and its
// lookup is skipped rather than reported.
napi_value map_entries(napi_env env, napi_callback_info info) {
  napi_value argv[2], result, keys_buf, values_buf;
  if (!get_args(env, info, 2, argv)) return NULL;
  struct object_handle *h = get_object(env, argv[0]);
  struct bpf_map *m = h ? get_map(env, h, argv[1]) : NULL;
  if (!m) return NULL;
  int fd = bpf_map__fd(m);
  size_t ks = bpf_map__key_size(m), vs = raw_value_size(m);
  struct strbuf keys = {0}, values = {0};
  char *prev = NULL, *key = calloc(1, ks ? ks : 1), *value = malloc(vs ? vs : 1);
  uint32_t count = 0;
  int err = (key && value) ? 0 : ENOMEM;
  while (!err) {
    if (bpf_map_get_next_key(fd, prev, key)) {
      if (errno != ENOENT) err = errno;
      break;
    }
    if (bpf_map_lookup_elem(fd, key, value) == 0) {
      if (!strbuf_append(&keys, key, ks) || !strbuf_append(&values, value, vs)) err = ENOMEM;
      count++;
    } else if (errno != ENOENT) {
      err = errno;
    }
    if (!prev && !(prev = malloc(ks ? ks : 1))) err = ENOMEM;
    if (prev) memcpy(prev, key, ks);
  }
  free(prev);
  free(key);
  free(value);
  napi_value out = NULL;
  if (err) {
    throw_bpf_error(env, "iterate", err, bpf_map__name(m), NULL);
  } else if (napi_create_buffer_copy(env, keys.len, keys.len ? keys.data : "", NULL, &keys_buf) == napi_ok &&
             napi_create_buffer_copy(env, values.len, values.len ? values.data : "", NULL, &values_buf) == napi_ok &&
             napi_create_object(env, &result) == napi_ok && set_prop(env, result, "keys", keys_buf) &&
             set_prop(env, result, "values", values_buf) && set_prop(env, result, "count", make_u32(env, count))) {
    out = result;
  } else {
    napi_throw_last(env, "entries");
  }
  strbuf_free(&keys);
  strbuf_free(&values);
  return out;
}

napi_value map_possible_cpus(napi_env env, napi_callback_info info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) return throw_bpf_error(env, "possible cpus", -n, "", NULL);
  return make_u32(env, (uint32_t)n);
}
