#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strbuf *capture;
static pthread_t capture_owner;
static bool debug_to_stderr;

static int print_cb(enum libbpf_print_level level, const char *fmt, va_list ap) {
  pthread_mutex_lock(&capture_lock);
  bool captured = capture && pthread_equal(capture_owner, pthread_self());
  if (captured) {
    va_list copy;
    va_copy(copy, ap);
    strbuf_vprintf(capture, fmt, copy);
    va_end(copy);
  }
  pthread_mutex_unlock(&capture_lock);
  // Output nobody captures (e.g. from a ring-buffer thread) is a warning worth seeing; debug
  // chatter only when asked for.
  if (debug_to_stderr || (!captured && level == LIBBPF_WARN)) vfprintf(stderr, fmt, ap);
  return 0;
}

void libbpf_log_install(void) {
  const char *debug = getenv("FLEETTRACE_LIBBPF_DEBUG");
  debug_to_stderr = debug && debug[0] && debug[0] != '0';
  libbpf_set_print(print_cb);
}

void libbpf_log_begin(struct strbuf *into) {
  pthread_mutex_lock(&capture_lock);
  capture = into;
  capture_owner = pthread_self();
  pthread_mutex_unlock(&capture_lock);
}

void libbpf_log_end(void) {
  pthread_mutex_lock(&capture_lock);
  capture = NULL;
  pthread_mutex_unlock(&capture_lock);
}
