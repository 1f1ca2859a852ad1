#ifndef FLEETTRACE_PROCESS_H
#define FLEETTRACE_PROCESS_H

#include <node_api.h>

// setParentDeathSignal(signal: u32): the kernel sends it to this process when its parent dies.
napi_value process_set_parent_death_signal(napi_env env, napi_callback_info info);
// releaseFreeNativeMemory() → bool: hands the C heap's free pages back to the kernel (glibc
// malloc_trim); false where the C library has no such call.
napi_value process_release_free_native_memory(napi_env env, napi_callback_info info);

#endif
