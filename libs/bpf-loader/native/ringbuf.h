// Ring-buffer consumers: one native thread per ring buffer drains on a timer into batches that
// one thread-safe function hands to JS. JS is called once per batch, never once per record.
#ifndef FLEETTRACE_RINGBUF_H
#define FLEETTRACE_RINGBUF_H

#include <node_api.h>

napi_value ringbuf_start(napi_env env, napi_callback_info info);
napi_value ringbuf_stop(napi_env env, napi_callback_info info);

#endif
