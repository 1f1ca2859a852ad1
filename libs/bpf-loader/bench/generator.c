// Bench generator: calls getppid() N times, optionally throttled to RATE calls per second (0 =
// as fast as it can), and writes how long the loop took to OUTFILE as one JSON line. The loop
// time is what the overhead bench compares traced against untraced, so it is measured here, in
// the process, with nothing but the calls inside it. Pacing reads the vDSO clock, never a syscall
// (the traced tracepoint must see exactly N events).
//
// usage: generator RATE N [OUTFILE]
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Calls between two clock reads when throttled: keeps pacing overhead negligible at 1M/s.
#define PACE_EVERY 16

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long parse(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || n < 0) {
    fprintf(stderr, "generator: bad number '%s'\n", s);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: generator RATE N [OUTFILE]\n");
    return 2;
  }
  long rate = parse(argv[1]);
  long n = parse(argv[2]);
  long long t0 = now_ns();
  if (rate == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else {
    double ns_per_call = 1e9 / (double)rate;
    for (long i = 0; i < n; i++) {
      if (i % PACE_EVERY == 0) {
        long long due = t0 + (long long)(i * ns_per_call);
        while (now_ns() < due) {}
      }
      syscall(SYS_getppid);
    }
  }
  long long loop_ns = now_ns() - t0;
  if (argc > 3) {
    FILE *f = fopen(argv[3], "w");
    if (!f) return 1;
    fprintf(f, "{\"calls\":%ld,\"loopNs\":%lld}\n", n, loop_ns);
    fclose(f);
  }
  return 0;
}
