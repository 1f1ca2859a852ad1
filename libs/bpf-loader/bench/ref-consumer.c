// Reference ring-buffer consumer in plain C over libbpf: the yardstick for the loader bench.
// It does what the TypeScript side does (set the target pid, load, attach, release the generator,
// drain every INTERVAL_MS without wakeups, final drain after the generator exits, read the kernel
// counters) and prints one JSON line, so the two differ only in the language of the consumer.
//
// usage: ref-consumer OBJECT INTERVAL_MS GENERATOR [ARG...]
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "burst.h"

struct tally {
  unsigned int tgid;
  unsigned long long records;
  unsigned long long foreign; // records whose tgid is not the generator's: must stay 0
};

static int on_record(void *ctx, void *data, size_t len) {
  struct tally *t = ctx;
  const struct burst_event *e = data;
  if (len >= sizeof(*e) && e->tgid == t->tgid)
    t->records++;
  else
    t->foreign++;
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Finds a global variable of a data section through the object's BTF.
static int var_offset(struct bpf_object *obj, const char *section, const char *var, unsigned *size) {
  struct btf *btf = bpf_object__btf(obj);
  int id = btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
  if (id < 0) return -1;
  const struct btf_type *sec = btf__type_by_id(btf, id);
  const struct btf_var_secinfo *vi = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vi++) {
    const struct btf_type *v = btf__type_by_id(btf, vi->type);
    if (strcmp(btf__name_by_offset(btf, v->name_off), var) == 0) {
      *size = vi->size;
      return vi->offset;
    }
  }
  return -1;
}

static int die(const char *what, int err) {
  fprintf(stderr, "ref-consumer: %s: %s\n", what, strerror(err < 0 ? -err : err));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ref-consumer OBJECT INTERVAL_MS GENERATOR [ARG...]\n");
    return 2;
  }
  long interval_ms = strtol(argv[2], NULL, 10);

  int go[2];
  if (pipe(go)) return die("pipe", errno);
  pid_t child = fork();
  if (child < 0) return die("fork", errno);
  if (child == 0) {
    char byte;
    close(go[1]);
    if (read(go[0], &byte, 1) != 1) _exit(3);
    execv(argv[3], argv + 3);
    _exit(127);
  }
  close(go[0]);

  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) return die("open", errno);
  unsigned size;
  int off = var_offset(obj, ".rodata", "target_tgid", &size);
  struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
  size_t rodata_size;
  char *ro = rodata ? (char *)bpf_map__initial_value(rodata, &rodata_size) : NULL;
  if (off < 0 || !ro || size != sizeof(unsigned)) return die("target_tgid", ENOENT);
  *(unsigned *)(ro + off) = (unsigned)child;
  int err = bpf_object__load(obj);
  if (err) return die("load", err);
  struct bpf_link *link = bpf_program__attach(bpf_object__find_program_by_name(obj, "ft_burst"));
  if (!link) return die("attach", errno);

  struct tally tally = {.tgid = (unsigned)child};
  struct ring_buffer *rb =
      ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_record, &tally, NULL);
  if (!rb) return die("ring_buffer__new", errno);

  double t0 = now_s();
  if (write(go[1], "g", 1) != 1) return die("release generator", errno);
  close(go[1]);
  struct timespec tick = {.tv_sec = interval_ms / 1000, .tv_nsec = (interval_ms % 1000) * 1000000L};
  int status = 0;
  for (;;) {
    ring_buffer__consume(rb);
    if (waitpid(child, &status, WNOHANG) == child) break;
    nanosleep(&tick, NULL);
  }
  bpf_link__destroy(link); // nothing more is produced; the final drain below sees everything
  ring_buffer__consume(rb);
  double seconds = now_s() - t0;

  unsigned long long counters[2] = {0, 0};
  const char *names[2] = {"submitted", "reserve_failed"};
  struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
  char *bss_value = calloc(1, bpf_map__value_size(bss));
  unsigned zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(bss), &zero, bss_value)) return die("read .bss", errno);
  for (int i = 0; i < 2; i++) {
    int o = var_offset(obj, ".bss", names[i], &size);
    if (o < 0) return die(names[i], ENOENT);
    memcpy(&counters[i], bss_value + o, sizeof(counters[i]));
  }
  printf("{\"records\":%llu,\"foreign\":%llu,\"seconds\":%.6f,\"submitted\":%llu,\"reserveFailed\":%llu,"
         "\"generatorStatus\":%d}\n",
         tally.records, tally.foreign, seconds, counters[0], counters[1],
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  free(bss_value);
  ring_buffer__free(rb);
  bpf_object__close(obj);
  return 0;
}
