// Attachments: a bpf_link behind a JS external, destroyed on close (or when collected).
#ifndef FLEETTRACE_LINK_H
#define FLEETTRACE_LINK_H

#include <node_api.h>

napi_value link_attach(napi_env env, napi_callback_info info);
napi_value link_destroy(napi_env env, napi_callback_info info);

#endif
