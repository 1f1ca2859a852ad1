// A loaded bpf_object behind a JS external. Other native files reach programs and maps through it.
#ifndef FLEETTRACE_OBJECT_H
#define FLEETTRACE_OBJECT_H

#include <bpf/libbpf.h>
#include <node_api.h>

struct object_handle {
  struct bpf_object *obj; // NULL once closed
  void *elf;              // private copy of the ELF bytes: libbpf parses in place
};

// Fails (exception pending) for a wrong or closed handle.
struct object_handle *get_object(napi_env env, napi_value v);
// Fails (BpfError ENOENT) when the object has no such map; name may be a data section (".bss").
struct bpf_map *get_map(napi_env env, struct object_handle *h, napi_value name);

napi_value object_inspect(napi_env env, napi_callback_info info);
napi_value object_load(napi_env env, napi_callback_info info);
napi_value object_close(napi_env env, napi_callback_info info);

#endif
