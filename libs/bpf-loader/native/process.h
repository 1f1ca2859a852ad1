#ifndef FLEETTRACE_PROCESS_H
#define FLEETTRACE_PROCESS_H

#include <node_api.h>

// setParentDeathSignal(signal: u32): the kernel sends it to this process when its parent dies.
napi_value process_set_parent_death_signal(napi_env env, napi_callback_info info);

#endif
