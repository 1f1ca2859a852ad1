// The user-space target of the uprobe and USDT tests: after the gate releases it, calls a known
// function (which also hits a USDT probe) or a versioned libc function a given number of times.
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>

// noinline + used: the symbol and its call sites survive -O2, so a uprobe on it fires per call.
__attribute__((noinline, used)) long ft_probe_target(int a, long b) {
  DTRACE_PROBE2(fleettrace, tick, a, b);
  __asm__ volatile("" ::: "memory");
  return (long)a + b;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: probe-target call|realpath N\n");
    return 2;
  }
  long n = strtol(argv[2], NULL, 10);
  volatile long sum = 0;
  if (strcmp(argv[1], "call") == 0) {
    for (long i = 1; i <= n; i++) sum += ft_probe_target((int)i, i * 3);
  } else if (strcmp(argv[1], "realpath") == 0) {
    char buf[PATH_MAX];
    for (long i = 0; i < n; i++) sum += realpath("/", buf) != NULL;
  } else {
    return 2;
  }
  return sum == 0 && n > 0 ? 1 : 0;
}
