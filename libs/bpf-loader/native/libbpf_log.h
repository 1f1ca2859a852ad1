// libbpf prints its diagnostics through one process-wide callback. While the JS thread runs a
// libbpf operation it captures that output, so the resulting error carries libbpf's context
// (including the kernel verifier log libbpf prints after a rejected load).
#ifndef FLEETTRACE_LIBBPF_LOG_H
#define FLEETTRACE_LIBBPF_LOG_H

#include "strbuf.h"

void libbpf_log_install(void);
// Starts capturing on the calling thread into `into` (which the caller owns and frees).
void libbpf_log_begin(struct strbuf *into);
void libbpf_log_end(void);

#endif
