// Module entry: the native surface of @fleettrace/bpf-loader. Typed by src/native.d.ts.
#include <node_api.h>

#include "btf_names.h"
#include "errors.h"
#include "libbpf_log.h"
#include "link.h"
#include "map.h"
#include "object.h"
#include "probe.h"
#include "process.h"
#include "prog_stats.h"
#include "ringbuf.h"

static napi_value init_module(napi_env env, napi_value exports) {
  libbpf_log_install();
  napi_property_descriptor fns[] = {
      {"init", NULL, errors_init, NULL, NULL, NULL, napi_default, NULL},
      {"inspect", NULL, object_inspect, NULL, NULL, NULL, napi_default, NULL},
      {"load", NULL, object_load, NULL, NULL, NULL, napi_default, NULL},
      {"closeObject", NULL, object_close, NULL, NULL, NULL, napi_default, NULL},
      {"attach", NULL, link_attach, NULL, NULL, NULL, napi_default, NULL},
      {"attachTracepoint", NULL, link_attach_tracepoint, NULL, NULL, NULL, napi_default, NULL},
      {"attachRawTracepoint", NULL, link_attach_raw_tracepoint, NULL, NULL, NULL, napi_default, NULL},
      {"attachTrace", NULL, link_attach_trace, NULL, NULL, NULL, napi_default, NULL},
      {"attachKprobe", NULL, link_attach_kprobe, NULL, NULL, NULL, napi_default, NULL},
      {"attachUprobe", NULL, link_attach_uprobe, NULL, NULL, NULL, napi_default, NULL},
      {"attachUsdt", NULL, link_attach_usdt, NULL, NULL, NULL, napi_default, NULL},
      {"attachPerfEvent", NULL, link_attach_perf_event, NULL, NULL, NULL, napi_default, NULL},
      {"attachXdp", NULL, link_attach_xdp, NULL, NULL, NULL, napi_default, NULL},
      {"attachTc", NULL, link_attach_tc, NULL, NULL, NULL, napi_default, NULL},
      {"destroyLink", NULL, link_destroy, NULL, NULL, NULL, napi_default, NULL},
      {"mapLookup", NULL, map_lookup, NULL, NULL, NULL, napi_default, NULL},
      {"mapEntries", NULL, map_entries, NULL, NULL, NULL, napi_default, NULL},
      {"possibleCpus", NULL, map_possible_cpus, NULL, NULL, NULL, napi_default, NULL},
      {"probeProgramType", NULL, probe_program_type, NULL, NULL, NULL, napi_default, NULL},
      {"probeMapType", NULL, probe_map_type, NULL, NULL, NULL, napi_default, NULL},
      {"programTypeNames", NULL, probe_program_type_names, NULL, NULL, NULL, napi_default, NULL},
      {"mapTypeNames", NULL, probe_map_type_names, NULL, NULL, NULL, napi_default, NULL},
      {"probeHelper", NULL, probe_helper, NULL, NULL, NULL, napi_default, NULL},
      {"btfHasTypedefs", NULL, btf_has_typedefs, NULL, NULL, NULL, napi_default, NULL},
      {"fireProbeTargets", NULL, probe_fire_targets, NULL, NULL, NULL, napi_default, NULL},
      {"ringBufferStart", NULL, ringbuf_start, NULL, NULL, NULL, napi_default, NULL},
      {"ringBufferStop", NULL, ringbuf_stop, NULL, NULL, NULL, napi_default, NULL},
      {"enableStats", NULL, prog_stats_enable, NULL, NULL, NULL, napi_default, NULL},
      {"disableStats", NULL, prog_stats_disable, NULL, NULL, NULL, napi_default, NULL},
      {"programStats", NULL, prog_stats_read, NULL, NULL, NULL, napi_default, NULL},
      {"setParentDeathSignal", NULL, process_set_parent_death_signal, NULL, NULL, NULL, napi_default, NULL},
      {"releaseFreeNativeMemory", NULL, process_release_free_native_memory, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
