// What a process that holds BPF objects needs from the kernel about its own life: to die with its
// parent (so a runner never outlives the daemon that started it, programs attached).
#include "process.h"

#include <errno.h>
#include <sys/prctl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "errors.h"
#include "napi_util.h"

napi_value process_set_parent_death_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  uint32_t sig;
  if (!get_u32(env, argv[0], &sig)) return NULL;
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) != 0) return throw_bpf_error(env, "prctl(PR_SET_PDEATHSIG)", errno, NULL, NULL);
  return NULL;
}

napi_value process_release_free_native_memory(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  // Freed blocks below the top of glibc's heap (and the mmap threshold it raised after freeing a
  // large block) otherwise stay resident: a long-lived process keeps its start-up's peak for good.
  malloc_trim(0);
  return make_bool(env, true);
#else
  return make_bool(env, false);
#endif
}
