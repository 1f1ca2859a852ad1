// Growable byte buffer used for captured libbpf output and map iteration results.
#ifndef FLEETTRACE_STRBUF_H
#define FLEETTRACE_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
  char *data;
  size_t len;
  size_t cap;
};

bool strbuf_reserve(struct strbuf *b, size_t extra);
bool strbuf_append(struct strbuf *b, const void *bytes, size_t n);
bool strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap);
void strbuf_free(struct strbuf *b);

#endif
