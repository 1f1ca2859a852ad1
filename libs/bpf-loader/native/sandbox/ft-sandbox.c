/*
 * ft-sandbox: runs one program (clang compiling a user's C source) confined, then gets out of the way.
 *
 *   ft-sandbox [--user UID:GID] [--read PATH]... [--write PATH]... [--cpu S] [--as BYTES]
 *              [--fsize BYTES] [--nofile N] [--pdeathsig] [--landlock-optional] -- PROGRAM ARG...
 *   ft-sandbox --abi        prints the kernel's Landlock ABI version (0: none, and why on stderr)
 *
 * In this order: a Landlock ruleset is built that handles every filesystem access the kernel knows
 * (and, from ABI 4, TCP bind/connect; from ABI 6, signals and abstract UNIX sockets out of the
 * domain), with read+execute beneath each --read path and read+create+write+remove of regular files
 * beneath each --write path, nothing else; rlimits are set (soft = hard); supplementary groups are
 * dropped and the user switched; no_new_privs is set; the ruleset is enforced; PROGRAM is exec'd.
 * The confinement is inherited by everything PROGRAM runs and cannot be lifted by it.
 *
 * Why a separate program and not Node: Landlock confines the calling thread, and Node's
 * child_process cannot run code between fork and exec, so the ruleset must be applied by the
 * process that then execs. Static, so nothing is loaded (no ld.so, no libc.so) before the ruleset
 * holds, and one binary runs on every host a runner is shipped to whatever its glibc.
 *
 * A failure here prints one line starting "ft-sandbox: " and exits 126, before PROGRAM runs. Without
 * Landlock (ENOSYS: not built in; EOPNOTSUPP: disabled at boot) that is a failure unless
 * --landlock-optional, which then runs PROGRAM with the user switch and rlimits only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our own copy of the UAPI (linux/landlock.h): the build host's headers may predate the ABI the
 * running kernel has. Values from include/uapi/linux/landlock.h. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_REMOVE_DIR (1ULL << 4)
#define FS_REMOVE_FILE (1ULL << 5)
#define FS_MAKE_CHAR (1ULL << 6)
#define FS_MAKE_DIR (1ULL << 7)
#define FS_MAKE_REG (1ULL << 8)
#define FS_MAKE_SOCK (1ULL << 9)
#define FS_MAKE_FIFO (1ULL << 10)
#define FS_MAKE_BLOCK (1ULL << 11)
#define FS_MAKE_SYM (1ULL << 12)
#define FS_REFER (1ULL << 13)    /* ABI 2 */
#define FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

/* Rights that apply to a file itself (a rule on a non-directory may hold only these). */
#define FS_FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)

struct ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

#define MAX_PATHS 64

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ft-sandbox: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(126);
}

static unsigned long long number(const char *flag, const char *text) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || *text == '\0' || *end != '\0') fail("%s needs a number, not \"%s\"", flag, text);
  return value;
}

static void limit(int resource, const char *flag, const char *text) {
  rlim_t value = (rlim_t)number(flag, text);
  struct rlimit rl = {value, value};
  if (setrlimit(resource, &rl) != 0) fail("setrlimit %s: %s", flag, strerror(errno));
}

/* Handled rights by ABI: a right the kernel does not know cannot be handled (EINVAL). */
static uint64_t handled_fs(int abi) {
  uint64_t fs = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR |
                FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM;
  if (abi >= 2) fs |= FS_REFER;
  if (abi >= 3) fs |= FS_TRUNCATE;
  if (abi >= 5) fs |= FS_IOCTL_DEV;
  return fs;
}

static void allow(int ruleset, const char *path, uint64_t rights, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) fail("cannot open %s for the ruleset: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) fail("stat %s: %s", path, strerror(errno));
  rights &= handled;
  if (!S_ISDIR(st.st_mode)) rights &= FS_FILE_RIGHTS;
  struct path_beneath_attr rule = {.allowed_access = rights, .parent_fd = fd};
  if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) != 0) fail("landlock_add_rule %s: %s", path, strerror(errno));
  close(fd);
}

int main(int argc, char **argv) {
  const char *reads[MAX_PATHS], *writes[MAX_PATHS];
  int nreads = 0, nwrites = 0, optional = 0, print_abi = 0, pdeathsig = 0;
  const char *user = NULL;
  int i = 1;
  /* rlimits are applied once parsing is done, so a bad flag fails before anything changes. */
  const char *cpu = NULL, *as = NULL, *fsize = NULL, *nofile = NULL;
  for (; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(flag, "--abi") == 0) print_abi = 1;
    else if (strcmp(flag, "--landlock-optional") == 0) optional = 1;
    else if (strcmp(flag, "--pdeathsig") == 0) pdeathsig = 1;
    else if (i + 1 >= argc) fail("%s needs a value", flag);
    else if (strcmp(flag, "--read") == 0 || strcmp(flag, "--write") == 0) {
      int is_read = flag[2] == 'r';
      if ((is_read ? nreads : nwrites) >= MAX_PATHS) fail("at most %d %s paths", MAX_PATHS, flag);
      if (is_read) reads[nreads++] = argv[++i];
      else writes[nwrites++] = argv[++i];
    } else if (strcmp(flag, "--user") == 0) user = argv[++i];
    else if (strcmp(flag, "--cpu") == 0) cpu = argv[++i];
    else if (strcmp(flag, "--as") == 0) as = argv[++i];
    else if (strcmp(flag, "--fsize") == 0) fsize = argv[++i];
    else if (strcmp(flag, "--nofile") == 0) nofile = argv[++i];
    else fail("unknown option %s", flag);
  }

  int abi = (int)syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  int abi_errno = abi < 0 ? errno : 0;
  if (print_abi) {
    if (abi < 0) fprintf(stderr, "ft-sandbox: Landlock is unavailable on this kernel (landlock_create_ruleset: %s)\n", strerror(abi_errno));
    printf("%d\n", abi < 0 ? 0 : abi);
    return 0;
  }
  if (i >= argc) fail("no program to run (after --)");

  int ruleset = -1;
  if (abi < 0) {
    if (!(optional && (abi_errno == ENOSYS || abi_errno == EOPNOTSUPP))) {
      fail("Landlock is unavailable on this kernel (landlock_create_ruleset: %s)", strerror(abi_errno));
    }
  } else {
    struct ruleset_attr attr = {.handled_access_fs = handled_fs(abi)};
    size_t size = sizeof(attr.handled_access_fs);
    if (abi >= 4) {
      attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
      size = offsetof(struct ruleset_attr, scoped);
    }
    if (abi >= 6) {
      attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
      size = sizeof(attr);
    }
    ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) fail("landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
    for (int r = 0; r < nreads; r++) allow(ruleset, reads[r], FS_READ_FILE | FS_READ_DIR | FS_EXECUTE, attr.handled_access_fs);
    for (int w = 0; w < nwrites; w++) {
      allow(ruleset, writes[w], FS_READ_FILE | FS_READ_DIR | FS_WRITE_FILE | FS_MAKE_REG | FS_REMOVE_FILE | FS_TRUNCATE, attr.handled_access_fs);
    }
  }

  if (cpu) limit(RLIMIT_CPU, "--cpu", cpu);
  if (as) limit(RLIMIT_AS, "--as", as);
  if (fsize) limit(RLIMIT_FSIZE, "--fsize", fsize);
  if (nofile) limit(RLIMIT_NOFILE, "--nofile", nofile);

  if (user) {
    char *colon = strchr(user, ':');
    if (!colon) fail("--user needs UID:GID, not \"%s\"", user);
    *colon = '\0';
    uid_t uid = (uid_t)number("--user", user);
    gid_t gid = (gid_t)number("--user", colon + 1);
    if (uid == 0 || gid == 0) fail("--user %u:%u is privileged", (unsigned)uid, (unsigned)gid);
    if (setgroups(0, NULL) != 0) fail("setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) != 0) fail("setresgid %u: %s", (unsigned)gid, strerror(errno));
    if (setresuid(uid, uid, uid) != 0) fail("setresuid %u: %s", (unsigned)uid, strerror(errno));
    if (getuid() == 0 || geteuid() == 0) fail("still root after setresuid");
  }
  /* After the user switch, which clears it; the parent is the runner: if it dies, so does PROGRAM. */
  if (pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail("PR_SET_PDEATHSIG: %s", strerror(errno));

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
  if (ruleset >= 0) {
    if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) fail("landlock_restrict_self: %s", strerror(errno));
    close(ruleset);
  }
  execv(argv[i], &argv[i]);
  fail("cannot run %s: %s", argv[i], strerror(errno));
}
