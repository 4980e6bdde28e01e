/* The sandbox's system-call allowlist (see sandbox.c for how it is installed). Anything
 * not listed kills the process, including calls of the 32-bit ABIs (x32, i386). */
#define _GNU_SOURCE
#include "verifiers/sandbox_internal.h"
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static int rule(scmp_filter_ctx c, const char *name) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0; /* not on this architecture */
    return seccomp_rule_add(c, SCMP_ACT_ALLOW, nr, 0);
}

int sandbox_build_filter(SandboxProfile profile, const char *exec_path, struct sock_fprog *out) {
    static const char *common[] = {
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "lseek", "close", "fstat", "newfstatat", "stat", "lstat", "statx", "openat", "open",
        "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd", "getdents64",
        "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "exit", "exit_group",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
        "rt_sigtimedwait", "sigaltstack", "getpid", "gettid", "getppid", "getuid", "geteuid",
        "getgid", "getegid", "getresuid", "getresgid", "getgroups", "getpgrp", "getpgid",
        "getsid", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
        "gettimeofday", "time", "getrandom", "arch_prctl", "set_tid_address",
        "set_robust_list", "get_robust_list", "rseq", "futex", "sched_yield",
        "sched_getaffinity", "getrlimit", "getrusage", "sysinfo", "uname", "times", "fcntl",
        "dup", "dup2", "dup3", "pipe", "pipe2", "poll", "ppoll", "select", "pselect6",
        "wait4", "waitid", "kill", "tgkill", "tkill", "umask", "fsync", "fdatasync",
        "ftruncate", "truncate", "unlink", "unlinkat", "rename", "renameat", "renameat2",
        "mkdir", "mkdirat", "rmdir", "fadvise64",
        "restart_syscall", "alarm", "pause", "getitimer", "setitimer", "timer_create",
        "timer_settime", "timer_gettime", "timer_delete", "timer_getoverrun", "getcpu",
        "sched_getparam", "sched_getscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "membarrier", "mincore", "utimensat", "fallocate",
        "sendfile", "copy_file_range", "statfs", "fstatfs", "flock", "fchdir", "chdir",
        "eventfd2",
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", NULL };
    scmp_filter_ctx c = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!c) return -1;
    int rc = 0;
    rc |= seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    rc |= seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (int i = 0; common[i]; i++) rc |= rule(c, common[i]);
    /* prlimit64 on itself only (setrlimit/getrlimit); raising a hard limit needs
     * CAP_SYS_RESOURCE outside, which nothing here has. */
    rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A0(SCMP_CMP_EQ, 0));
    /* ioctl: terminal queries and non-blocking flags only (no TIOCSTI and the like). */
    const unsigned long ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TIOCGPGRP };
    for (size_t i = 0; i < sizeof ioctls / sizeof *ioctls; i++)
        rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctls[i]));
    /* chmod without set-id bits (the dir outlives the run on the host). No symlink or
     * link: nothing left in the dir may point elsewhere. No memfd_create: its pages
     * would not count against RLIMIT_AS. */
    const scmp_datum_t setid = S_ISUID | S_ISGID;
    rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(chmod), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, setid, 0));
    rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(fchmod), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, setid, 0));
    rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(fchmodat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, setid, 0));
    /* clone3 passes its flags in memory, which seccomp cannot read: make glibc fall back
     * to clone, whose flags are checked (no new namespaces). */
    rc |= seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    const scmp_datum_t nsflags = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags, 0));
    rc |= rule(c, "fork");
    rc |= rule(c, "vfork");
    if (profile == SANDBOX_PROFILE_COMPILE) {
        rc |= rule(c, "execve");
    } else {
        rc |= seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(execve), 1,
                               SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(uintptr_t)exec_path));
    }
    if (rc != 0) { seccomp_release(c); return -1; }
    int mfd = memfd_create("rlvr-bpf", MFD_CLOEXEC);
    if (mfd < 0) { seccomp_release(c); return -1; }
    rc = seccomp_export_bpf(c, mfd);
    seccomp_release(c);
    off_t n = lseek(mfd, 0, SEEK_END);
    if (rc != 0 || n <= 0 || n % sizeof(struct sock_filter) != 0 || n > 65536) { close(mfd); return -1; }
    struct sock_filter *f = malloc((size_t)n);
    if (!f || pread(mfd, f, (size_t)n, 0) != n) { free(f); close(mfd); return -1; }
    close(mfd);
    out->len = (unsigned short)(n / sizeof(struct sock_filter));
    out->filter = f;
    return 0;
}

