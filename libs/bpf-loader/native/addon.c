// Module entry: the native surface of @fleettrace/bpf-loader. Typed by src/native.d.ts.
#include <node_api.h>

#include "errors.h"
#include "libbpf_log.h"
#include "link.h"
#include "map.h"
#include "object.h"
#include "probe.h"
#include "ringbuf.h"

static napi_value init_module(napi_env env, napi_value exports) {
  libbpf_log_install();
  napi_property_descriptor fns[] = {
      {"init", NULL, errors_init, NULL, NULL, NULL, napi_default, NULL},
      {"inspect", NULL, object_inspect, NULL, NULL, NULL, napi_default, NULL},
      {"load", NULL, object_load, NULL, NULL, NULL, napi_default, NULL},
      {"closeObject", NULL, object_close, NULL, NULL, NULL, napi_default, NULL},
      {"programIds", NULL, object_program_ids, NULL, NULL, NULL, napi_default, NULL},
      {"attach", NULL, link_attach, NULL, NULL, NULL, napi_default, NULL},
      {"destroyLink", NULL, link_destroy, NULL, NULL, NULL, napi_default, NULL},
      {"mapLookup", NULL, map_lookup, NULL, NULL, NULL, napi_default, NULL},
      {"mapEntries", NULL, map_entries, NULL, NULL, NULL, napi_default, NULL},
      {"possibleCpus", NULL, map_possible_cpus, NULL, NULL, NULL, napi_default, NULL},
      {"probeProgramType", NULL, probe_program_type, NULL, NULL, NULL, napi_default, NULL},
      {"probeMapType", NULL, probe_map_type, NULL, NULL, NULL, napi_default, NULL},
      {"ringBufferStart", NULL, ringbuf_start, NULL, NULL, NULL, napi_default, NULL},
      {"ringBufferStop", NULL, ringbuf_stop, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
