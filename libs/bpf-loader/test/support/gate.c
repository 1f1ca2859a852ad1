// Runs a command only after one byte arrives on stdin, keeping its pid (exec, not fork). Tests and
// the bench learn the generator's pid, put it into a BPF filter and attach before it makes a
// single syscall of interest; gate itself calls nothing a fixture traces.
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: gate COMMAND [ARG...]  (runs COMMAND after one byte on stdin)\n");
    return 2;
  }
  char go;
  if (read(0, &go, 1) != 1) return 3; // stdin closed without the go byte: the parent gave up
  execv(argv[1], argv + 1);
  perror("gate: execv");
  return 127;
}
