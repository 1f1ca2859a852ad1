// Deterministic workloads for tests, the demo and benchmarks: each mode does exactly what it says,
// so a tracer's counts can be checked against a known number.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long parse_count(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || n < 0) {
    fprintf(stderr, "workload: bad count '%s'\n", s);
    exit(2);
  }
  return n;
}

static int usage(void) {
  fprintf(stderr,
          "usage: workload getppid N        call getppid N times (ring-buffer burst source)\n"
          "       workload getpriority N    call getpriority N times (a rare syscall)\n"
          "       workload sleep N USEC     sleep N times for USEC microseconds (N wakeups)\n"
          "       workload nanosleep N USEC the same through nanosleep(2) itself (glibc's nanosleep() calls clock_nanosleep)\n"
          "       workload spin MS          burn CPU for MS milliseconds\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *mode = argv[1];
  long n = parse_count(argv[2]);
  if (strcmp(mode, "getppid") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(mode, "getpriority") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getpriority, 0, 0);
  } else if (strcmp(mode, "sleep") == 0) {
    if (argc < 4) return usage();
    long usec = parse_count(argv[3]);
    struct timespec ts = {.tv_sec = usec / 1000000, .tv_nsec = (usec % 1000000) * 1000};
    for (long i = 0; i < n; i++)
      while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
  } else if (strcmp(mode, "nanosleep") == 0) {
    if (argc < 4) return usage();
    long usec = parse_count(argv[3]);
    for (long i = 0; i < n; i++) {
      struct timespec ts = {.tv_sec = usec / 1000000, .tv_nsec = (usec % 1000000) * 1000};
      while (syscall(SYS_nanosleep, &ts, &ts) == -1 && errno == EINTR) {}
    }
  } else if (strcmp(mode, "spin") == 0) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long x = 0;
    do {
      for (int i = 0; i < 100000; i++) x += i;
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < n);
  } else {
    return usage();
  }
  return 0;
}
