// Reference for the startup bench: open + load + attach every program of an object with plain
// libbpf, as fast as C can, then detach and close. Prints the milliseconds of open+load+attach.
// Globals keep their compiled defaults (for the catalog: no filter, the whole host). With CORE_BTF,
// CO-RE relocations resolve against that BTF file instead of the kernel's (btf_custom_path).
//
// usage: ref-load OBJECT [CORE_BTF]
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_LINKS 64

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: ref-load OBJECT [CORE_BTF]\n");
    return 2;
  }
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argc == 3 ? argv[2] : NULL);
  double t0 = now_ms();
  struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
  if (!obj) {
    fprintf(stderr, "ref-load: open: %s\n", strerror(errno));
    return 1;
  }
  int err = bpf_object__load(obj);
  if (err) {
    fprintf(stderr, "ref-load: load: %s\n", strerror(-err));
    return 1;
  }
  struct bpf_link *links[MAX_LINKS];
  int n = 0;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    if (n == MAX_LINKS) return 1;
    links[n] = bpf_program__attach(prog);
    if (!links[n]) {
      fprintf(stderr, "ref-load: attach %s: %s\n", bpf_program__name(prog), strerror(errno));
      return 1;
    }
    n++;
  }
  double ms = now_ms() - t0;
  for (int i = 0; i < n; i++) bpf_link__destroy(links[i]);
  bpf_object__close(obj);
  printf("%.3f\n", ms);
  return 0;
}
