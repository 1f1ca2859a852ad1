#include "ringbuf.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "libbpf_log.h"
#include "napi_util.h"
#include "object.h"

static const napi_type_tag consumer_tag = {0x6674726163657262ULL, 0x636f6e73756d6572ULL};

// Batch layout handed to JS: records back to back, each an 8-byte header (u32 length, u32 zero)
// followed by the record padded to 8 bytes, so record data stays 8-byte aligned like in the ring.
#define RECORD_HEADER 8
#define INITIAL_BATCH_CAP (64 * 1024)
// Returned from the sample callback to stop ring_buffer__consume() once a batch is full. libbpf
// has already advanced past that record, which the callback has copied: nothing is lost.
#define BATCH_FULL (-E2BIG)

struct batch {
  char *data; // becomes the JS Buffer's memory; freed by the Buffer's finalizer
  size_t len, cap;
  uint32_t count;
  size_t payload; // record bytes without headers and padding
  uint64_t lost;  // perf buffer: records the kernel dropped since the previous batch
  bool end; // the last item a consumer delivers: JS learns the final drain is complete
};

// One consumer drains either a BPF ring buffer or, on kernels without one (or when asked), a
// perf buffer (one ring per CPU of a PERF_EVENT_ARRAY map). JS sees the same batches either way.
struct consumer {
  struct ring_buffer *rb;
  struct perf_buffer *pb;
  uint64_t lost; // thread-owned: perf-buffer drops not yet reported
  napi_threadsafe_function tsfn;
  pthread_t thread;
  bool thread_started;

  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool stop; // guarded by lock

  struct timespec interval;
  size_t max_batch_bytes;
  size_t next_cap;       // capacity the previous batch needed, so steady state never reallocs
  struct batch *current; // thread-owned
  bool env_closing;      // thread-owned: the env is going away, deliver nothing more

  int refs; // the JS handle and the tsfn finalizer; both run on the JS thread
};

static void consumer_unref(struct consumer *c) {
  if (--c->refs > 0) return;
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->wake);
  free(c);
}

static void batch_free(struct batch *b) {
  if (!b) return;
  free(b->data);
  free(b);
}

static int on_sample(void *ctx, void *data, size_t size) {
  struct consumer *c = ctx;
  struct batch *b = c->current;
  size_t need = RECORD_HEADER + ((size + 7) & ~(size_t)7);
  if (!b) {
    b = c->current = calloc(1, sizeof(*b));
    if (!b) return -ENOMEM;
  }
  if (b->len + need > b->cap) {
    size_t cap = b->cap ? b->cap : c->next_cap;
    while (cap < b->len + need) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return -ENOMEM;
    b->data = grown;
    b->cap = cap;
  }
  char *at = b->data + b->len;
  uint32_t header[2] = {(uint32_t)size, 0};
  memcpy(at, header, RECORD_HEADER);
  memcpy(at + RECORD_HEADER, data, size);
  memset(at + RECORD_HEADER + size, 0, need - RECORD_HEADER - size);
  b->len += need;
  b->count++;
  b->payload += size;
  return b->len >= c->max_batch_bytes ? BATCH_FULL : 0;
}

// Perf-buffer records arrive padded by the kernel so that (size + 4) is a multiple of 8: up to 7
// trailing bytes beyond what the program wrote. A record that does not fit in memory is dropped
// and counted as lost, like a record the kernel could not store.
static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size) {
  struct consumer *c = ctx;
  if (on_sample(ctx, data, size) == -ENOMEM) c->lost++;
}

static void on_perf_lost(void *ctx, int cpu, __u64 count) {
  struct consumer *c = ctx;
  c->lost += count;
}

// Blocks while the tsfn queue is full: a slow JS consumer backs up into the ring buffer, where
// the BPF side counts what it cannot reserve, instead of into unbounded native memory.
static void deliver(struct consumer *c, struct batch *b) {
  if (c->env_closing || napi_call_threadsafe_function(c->tsfn, b, napi_tsfn_blocking) != napi_ok) {
    c->env_closing = true;
    batch_free(b);
  }
}

static void deliver_current(struct consumer *c) {
  if (c->current && c->current->count) {
    if (c->current->cap > c->next_cap) c->next_cap = c->current->cap;
    c->current->lost = c->lost;
    c->lost = 0;
    deliver(c, c->current);
    c->current = NULL;
  }
}

static void drain_perf(struct consumer *c) {
  size_t n = perf_buffer__buffer_cnt(c->pb);
  for (size_t i = 0; i < n && !c->env_closing; i++) {
    perf_buffer__consume_buffer(c->pb, i);
    if (c->current && c->current->len >= c->max_batch_bytes) deliver_current(c);
  }
  if (c->lost && !c->current && !c->env_closing) {
    // Drops with no record to carry them: an empty batch reports them.
    c->current = calloc(1, sizeof(*c->current));
    if (c->current) {
      c->current->lost = c->lost;
      c->lost = 0;
      deliver(c, c->current);
      c->current = NULL;
    }
    return;
  }
  deliver_current(c);
}

static void drain(struct consumer *c) {
  if (c->pb) {
    drain_perf(c);
    return;
  }
  for (;;) {
    int n = ring_buffer__consume(c->rb);
    deliver_current(c);
    if (n != BATCH_FULL || c->env_closing) return;
  }
}

static void *consumer_thread(void *arg) {
  struct consumer *c = arg;
  for (;;) {
    pthread_mutex_lock(&c->lock);
    bool stopping = c->stop;
    pthread_mutex_unlock(&c->lock);
    // Drained after reading `stop`, so the last drain sees every record submitted before stop().
    drain(c);
    if (stopping || c->env_closing) break;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += c->interval.tv_sec;
    until.tv_nsec += c->interval.tv_nsec;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->stop && pthread_cond_timedwait(&c->wake, &c->lock, &until) != ETIMEDOUT) {}
    pthread_mutex_unlock(&c->lock);
  }
  batch_free(c->current);
  c->current = NULL;
  // Freed here, before JS learns the drain is over (and may close the object): perf_buffer__free
  // deletes its entries from the map by fd number, which must still be this object's map.
  if (c->pb) perf_buffer__free(c->pb);
  c->pb = NULL;
  if (!c->env_closing) {
    struct batch *end = calloc(1, sizeof(*end));
    if (end) {
      end->end = true;
      deliver(c, end);
    }
    // The thread's last touch of the tsfn; its finalizer (JS thread) joins this thread.
    if (!c->env_closing) napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
  }
  return NULL;
}

static void free_external_batch(napi_env env, void *data, void *hint) { free(data); }

// Runs on the JS thread; env is NULL when the environment is shutting down.
static void call_js(napi_env env, napi_value js_deliver, void *context, void *data) {
  struct batch *b = data;
  if (!env || !js_deliver) {
    batch_free(b);
    return;
  }
  napi_value argv[4], undefined;
  napi_status st = napi_ok;
  if (b->end) {
    st = napi_get_null(env, &argv[0]);
  } else {
    // Zero-copy: the Buffer adopts the batch memory. Runtimes that forbid external buffers
    // (a V8 sandbox) get a copy instead.
    st = napi_create_external_buffer(env, b->len, b->data, free_external_batch, NULL, &argv[0]);
    if (st == napi_ok)
      b->data = NULL;
    else
      st = napi_create_buffer_copy(env, b->len, b->data, NULL, &argv[0]);
  }
  argv[1] = make_u32(env, b->count);
  napi_create_double(env, (double)b->payload, &argv[2]);
  napi_create_double(env, (double)b->lost, &argv[3]);
  batch_free(b);
  if (st != napi_ok) return;
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, js_deliver, 4, argv, NULL) == napi_pending_exception) {
    // The TS dispatcher catches onBatch's exceptions itself; anything escaping it is a bug that
    // must surface as an uncaught exception, not vanish inside a native callback.
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void finalize_tsfn(napi_env env, void *data, void *hint) {
  struct consumer *c = data;
  if (c->thread_started) {
    // Normally the thread has already released the tsfn and is exiting. At env teardown it may
    // still run: `stop` plus a closing tsfn make it exit without needing this thread.
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
  }
  if (c->rb) ring_buffer__free(c->rb);
  if (c->pb) perf_buffer__free(c->pb);
  c->rb = NULL;
  c->pb = NULL;
  consumer_unref(c);
}

static void finalize_handle(napi_env env, void *data, void *hint) { consumer_unref(data); }

// ringBufferStart(objectHandle, mapName, deliver(batch: Buffer | null, count, payloadBytes, lost),
//   intervalMs, maxBatchBytes, perfPagesPerCpu) → consumer handle. deliver(null, ...) arrives exactly
//   once, after the final batch. A PERF_EVENT_ARRAY map is read as a perf buffer of perfPagesPerCpu
//   pages per CPU (a power of 2).
napi_value ringbuf_start(napi_env env, napi_callback_info info) {
  napi_value argv[6], handle, name;
  uint32_t interval_ms, max_batch, perf_pages;
  if (!get_args(env, info, 6, argv)) return NULL;
  struct object_handle *h = get_object(env, argv[0]);
  struct bpf_map *m = h ? get_map(env, h, argv[1]) : NULL;
  if (!m || !get_u32(env, argv[3], &interval_ms) || !get_u32(env, argv[4], &max_batch) || !get_u32(env, argv[5], &perf_pages))
    return NULL;
  bool perf = bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  if (!perf && bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) return throw_bpf_error(env, "ring buffer", EINVAL, bpf_map__name(m), NULL);

  struct consumer *c = calloc(1, sizeof(*c));
  if (!c) return throw_bpf_error(env, "ring buffer", ENOMEM, bpf_map__name(m), NULL);
  c->refs = 2;
  c->interval.tv_sec = interval_ms / 1000;
  c->interval.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
  c->max_batch_bytes = max_batch;
  c->next_cap = INITIAL_BATCH_CAP;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&c->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&c->lock, NULL);

  struct strbuf out = {0};
  libbpf_log_begin(&out);
  if (perf)
    c->pb = perf_buffer__new(bpf_map__fd(m), perf_pages, on_perf_sample, on_perf_lost, c, NULL);
  else
    c->rb = ring_buffer__new(bpf_map__fd(m), on_sample, c, NULL);
  int err = c->rb || c->pb ? 0 : errno;
  libbpf_log_end();
  if (!c->rb && !c->pb) {
    throw_bpf_error(env, "ring buffer", err, bpf_map__name(m), out.data);
    strbuf_free(&out);
    c->refs = 1;
    consumer_unref(c);
    return NULL;
  }
  strbuf_free(&out);

  if (napi_create_string_utf8(env, "fleettrace.ringbuf", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[2], NULL, name, 8, 1, c, finalize_tsfn, c, call_js, &c->tsfn) !=
          napi_ok) {
    if (c->rb) ring_buffer__free(c->rb);
    if (c->pb) perf_buffer__free(c->pb);
    c->refs = 1;
    consumer_unref(c);
    return napi_throw_last(env, "ring buffer tsfn");
  }
  // From here the tsfn finalizer owns the cleanup of rb, the thread and one ref.
  if (!wrap_external(env, c, &consumer_tag, finalize_handle, &handle)) {
    c->refs = 1; // no handle holds the other reference
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    return napi_throw_last(env, "ring buffer handle");
  }
  err = pthread_create(&c->thread, NULL, consumer_thread, c);
  if (err) {
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
    return throw_bpf_error(env, "ring buffer thread", err, bpf_map__name(m), NULL);
  }
  c->thread_started = true;
  return handle;
}

// ringBufferStop(handle): asks for a final drain; never waits for the thread (the JS thread must
// stay free to run the deliveries the thread may be blocked on).
napi_value ringbuf_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct consumer *c = NULL;
  if (!get_args(env, info, 1, argv) || !unwrap_external(env, argv[0], &consumer_tag, "ring buffer", (void **)&c))
    return NULL;
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->lock);
  return NULL;
}
