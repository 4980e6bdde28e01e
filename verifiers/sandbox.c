/* sandbox: see sandbox.h for the contract. How it works, mechanism by mechanism:
 *
 * Processes. With namespaces, sandbox_run is a session of one run (sandbox_session.c):
 * a small supervisor, "init", that never execs, in new user, PID, mount, network and IPC
 * namespaces, PID 1 of the new PID namespace; it starts the program, reaps every
 * orphan, and kills whatever the run left before reporting. When PID 1 of a PID
 * namespace dies the kernel SIGKILLs every other process in it and waits for them, so
 * a double-forked daemon, a SIGSTOPped child or a fork bomb all end with the run. The
 * caller kills init (SIGKILL) on the wall-clock limit or the output cap, and then reaps
 * it; init also has PR_SET_PDEATHSIG(SIGKILL), so if the calling thread dies the tree
 * goes with it. Without namespaces (fallback) each run gets a supervisor of its own
 * (sandbox_direct.c): the program gets a process group of its own, which init kills and
 * reaps with every orphan before leaving, so nothing is left to a PID 1 that may not
 * reap; setsid and setpgid are not in the seccomp allowlist, so the program cannot
 * leave its group.
 *
 * Users. Running as root, the user namespace maps its uid/gid 0 to the unprivileged
 * SANDBOX_UID/GID outside (nobody), and init switches to it: the program can only touch
 * what "nobody" may, RLIMIT_NPROC is enforced (it is not for real root), and it cannot
 * signal any process of the harness. The working dir is chowned to that uid for the run.
 * Not root: the namespace maps 0 to the caller's own uid (no chown). Root without a user
 * namespace (fallback): only the program switches to nobody, init stays root so the
 * program cannot signal it. Before exec every capability
 * is dropped (bounding set, effective/permitted/inheritable, securebits NOROOT locked),
 * and PR_SET_NO_NEW_PRIVS is set.
 *
 * Filesystem view (mount namespace; built once per session, see sandbox_session.c). A
 * tmpfs is mounted over the working dir's path (only inside the namespace), populated,
 * pivot_root'ed into and remounted read-only; each profile's view is:
 *   /work          the working dir, read-write (bind mount of the real dir; cwd)
 *   /dev/null, /dev/zero, /dev/urandom
 *   /etc/ld.so.cache
 *   COMPILE: /usr read-only, /bin /lib /lib64 /sbin as on the host (symlinks or
 *            read-only binds)
 *   RUN:     only /usr/lib and /usr/lib64 read-only (+ /lib, /lib64 links): enough for
 *            a dynamically linked C program, and no /bin/sh, no /usr/bin at all.
 * Nothing else of the host (/tmp, /home, /proc, /etc...) is visible. argv entries that
 * start with the working dir's host path are rewritten to /work/... .
 *
 * Network and IPC: a fresh IPC namespace per session (no shared SysV IPC), and a network
 * namespace apart from the host's, with only a downed loopback. As root with seccomp on
 * (no socket can be made in a sandbox) every session of the process joins one such
 * namespace, made once (see netns_create); otherwise each session makes its own.
 *
 * Environment: RUN gets none at all; COMPILE gets PATH=/usr/bin:/bin and TMPDIR=/work
 * (the working dir: gcc's temporary files go there and go with it).
 *
 * Seccomp (libseccomp, built once per process and exported to a BPF buffer so the child
 * only makes raw system calls; a binary tree, which the kernel prepares in a third of the
 * time of the linear list at each attach): an allowlist; anything else kills the whole process
 * (SCMP_ACT_KILL_PROCESS: the status shows SIGSYS, so the syscall number is not known
 * and violation_syscall is -1). Foreign ABIs (i386, x32) kill too (BADARCH action, and
 * libseccomp's native x86_64 filter rejects x32 numbers). clone3 returns ENOSYS so glibc
 * falls back to clone, whose flags can be checked: no namespace flags. Not allowed in
 * either profile: socket and all networking, ptrace, mount/umount, unshare/setns,
 * setuid and friends, setsid/setpgid, symlink/link (nothing left in the dir may point
 * elsewhere), chmod with set-id bits, memfd_create (its pages escape RLIMIT_AS), ioctl
 * other than terminal queries, bpf, perf_event_open, keyctl, io_uring, process_vm_*...
 *   COMPILE additionally allows execve/vfork/fork (gcc runs cc1, as, collect2, ld).
 *   RUN allows execve only with the exact pathname pointer of the sandbox's own final
 *   execve (SCMP_A0 == that address: a page mapped once per process, into which the
 *   program child copies its path just before that call). After the exec the program's
 *   memory is new: to exec again it would have to pass the same address (an mmap
 *   address of the harness, randomised by ASLR, that it has no way to read) and have a
 *   valid path there: one wrong guess kills it. Seccomp compares the
 *   pointer, not the string, so this alone is not a proof; it is backed by the mount
 *   view, in which there is nothing else to exec (no /usr/bin, no /bin). execveat is
 *   never allowed.
 *
 * Limits: RLIMIT_CPU (soft = ceil(cpu_seconds), hard one second later), RLIMIT_AS,
 * RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC (max_processes, +1 for init, counted per
 * user namespace), RLIMIT_CORE 0. A wall-clock limit in the caller. stdout and stderr are
 * read while the program runs (poll with short timeouts) and capped at output_bytes
 * each: past it the tree is killed and the outcome is OUTPUT_LIMIT. stdin is a sealed
 * memfd holding stdin_data (no writer to block on, no SIGPIPE in the harness).
 *
 * Memory limit detection (a heuristic: RLIMIT_AS makes allocations fail, it does not
 * signal): the program ended abnormally (SIGSEGV, SIGBUS, SIGABRT, SIGKILL or a
 * non-zero exit) and its peak RSS reached half of memory_bytes or its peak address
 * space (VmPeak) three quarters of it. A program that asks for one huge block, gets
 * NULL and dereferences it is reported as SIGNALED/SIGSEGV.
 * Measuring the peak: wait4's maxrss is max(the program's own peak, the RSS of the
 * forked copy of the harness just before execve; the kernel folds the old mm's
 * high-water mark in at exec), useless under a harness holding a model. So init
 * attaches to the program with PTRACE_SEIZE (only PTRACE_O_TRACEEXIT: no stop at exec,
 * its children and threads are not traced, signals are passed on unchanged) and reads
 * VmHWM/VmPeak from /proc/<pid>/status (through a descriptor of the host's /proc kept
 * by init, never by the program) at the exit stop, while the memory still exists.
 * Where that fails (no ptrace; no exit stop on SIGKILL), max_rss_kb is wait4's value if
 * it is above the pre-exec baseline the program child reports (+1 MB), else -1.
 *
 * Not limited in the working dir itself (a compile's): the number of files the program
 * creates (each is capped by RLIMIT_FSIZE, their count is not; there is no disk quota)
 * and the dir's total size. A run with spec.fresh_with (a test run) is bounded in both:
 * its directory is a tmpfs of file_bytes and 256 inodes.
 *
 * Threads: everything that allocates (argv rewriting, the filters, the mount plan, the
 * environment) is prepared before the fork; between fork and execve the children only
 * make system calls (raw, or async-signal-safe wrappers: sigaction, sigprocmask). Every
 * descriptor is O_CLOEXEC, and init closes every descriptor it does not need at once,
 * so concurrent runs do not hold each other's pipes. */
#define _GNU_SOURCE
#include "verifiers/sandbox.h"
#include "verifiers/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>



/* ------------------------------------------------------------------ capabilities */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ns_flags;      /* namespaces sandbox_run creates */
static int g_have_seccomp;
static char g_caps[256];
static struct sock_fprog g_filter[2]; /* per profile; .filter NULL without seccomp */
static int g_filter_failed;
static char *g_exec_page;
static int g_netns = -1;    /* the runs' shared network namespace (see sandbox_shared_netns) */

#define MAX_OPS 24
static MountOp g_plan[2][MAX_OPS];
static int g_nplan[2];

/* A fork-like clone. The caller's children (init) get no exit signal, so that a harness
 * that ignores SIGCHLD does not have them reaped behind its back (waitpid uses __WALL);
 * init's child (the program) gets the usual SIGCHLD. */
long sandbox_raw_clone(unsigned long flags) {
    return syscall(SYS_clone, flags, 0, 0, 0, 0);
}

unsigned long sandbox_locked_flags(const char *path) {
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) == 0) {
        if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    }
    return f;
}

static void plan_add(int p, int kind, const char *src, const char *dst, unsigned long flags) {
    if (g_nplan[p] >= MAX_OPS) return;
    MountOp *o = &g_plan[p][g_nplan[p]++];
    o->kind = kind;
    snprintf(o->src, sizeof o->src, "%s", src ? src : "");
    snprintf(o->dst, sizeof o->dst, "%s", dst);
    o->flags = flags;
}

/* A top-level host path: a symlink is reproduced, a directory bound read-only. */
static void plan_top(int p, const char *host) {
    struct stat st;
    char target[64];
    if (lstat(host, &st) != 0) return;
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(host, target, sizeof target - 1);
        if (n <= 0) return;
        target[n] = 0;
        plan_add(p, OP_SYMLINK, target, host + 1, 0);
    } else if (S_ISDIR(st.st_mode)) {
        plan_add(p, OP_MKDIR, NULL, host + 1, 0);
        plan_add(p, OP_BIND_DIR, host, host + 1, MS_RDONLY | MS_NOSUID | MS_NODEV | sandbox_locked_flags(host));
    }
}

static void plan_build(void) {
    for (int p = 0; p < 2; p++) {
        struct stat st;
        plan_add(p, OP_MKDIR, NULL, "work", 0);
        plan_add(p, OP_MKDIR, NULL, "dev", 0);
        const char *devs[] = { "/dev/null", "/dev/zero", "/dev/urandom" };
        for (int i = 0; i < 3; i++)
            if (stat(devs[i], &st) == 0 && S_ISCHR(st.st_mode))
                plan_add(p, OP_BIND_FILE, devs[i], devs[i] + 1, MS_NOSUID | MS_NOEXEC | sandbox_locked_flags(devs[i]));
        if (stat("/etc/ld.so.cache", &st) == 0 && S_ISREG(st.st_mode)) {
            plan_add(p, OP_MKDIR, NULL, "etc", 0);
            plan_add(p, OP_BIND_FILE, "/etc/ld.so.cache", "etc/ld.so.cache",
                     MS_RDONLY | MS_NOSUID | MS_NODEV | sandbox_locked_flags("/etc/ld.so.cache"));
        }
        if (p == SANDBOX_PROFILE_COMPILE) {
            plan_top(p, "/usr");
            plan_top(p, "/bin");
            plan_top(p, "/sbin");
        } else {
            plan_add(p, OP_MKDIR, NULL, "usr", 0);
            const char *libs[] = { "/usr/lib", "/usr/lib64" };
            for (int i = 0; i < 2; i++)
                if (lstat(libs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                    plan_add(p, OP_MKDIR, NULL, libs[i] + 1, 0);
                    plan_add(p, OP_BIND_DIR, libs[i], libs[i] + 1,
                             MS_RDONLY | MS_NOSUID | MS_NODEV | sandbox_locked_flags(libs[i]));
                }
        }
        plan_top(p, "/lib");
        plan_top(p, "/lib64");
    }
}

/* An empty network namespace (a loopback that is down, nothing else) for every run of
 * this process, held by a descriptor: creating one per session cost 0.35 ms and its
 * teardown as much again in a kernel worker, the largest part of a small program's
 * sandbox overhead. Sharing it gives nothing away while seccomp is on: a run cannot make
 * a socket, the only way in or out of a network namespace, and it is owned by the host's
 * user namespace, so nothing in a sandbox can configure it. As root only (joining it
 * takes CAP_SYS_ADMIN over its owner); -1 where it cannot be made (then each session
 * makes its own). */
static int netns_create(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    long pid = sandbox_raw_clone(CLONE_NEWNET);
    if (pid == 0) {   /* holds the namespace until the parent has opened it */
        char c;
        syscall(SYS_close, p[1]);
        (void)!syscall(SYS_read, p[0], &c, 1);
        syscall(SYS_exit_group, 0);
    }
    close(p[0]);
    int fd = -1;
    if (pid > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    close(p[1]);
    if (pid > 0) {
        int st;
        while (waitpid((pid_t)pid, &st, __WALL) < 0 && errno == EINTR) {}
    }
    return fd;
}

int sandbox_shared_netns(void) {
    sandbox_capabilities();
    return g_netns;
}

static void caps_init(void) {
    plan_build();
    g_have_seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
    const int want = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC;
    const int tries[] = { want, want & ~CLONE_NEWUSER, 0 };
    g_ns_flags = 0;
    /* RLVR_SANDBOX_NAMESPACES=0 forces the fallback (for testing it); never set in runs. */
    const char *force = getenv("RLVR_SANDBOX_NAMESPACES");
    for (int i = force && !strcmp(force, "0") ? 3 : 0; i < 3; i++) {
        if (tries[i] & CLONE_NEWUSER ? 0 : (geteuid() != 0 && tries[i])) continue;
        long pid = sandbox_raw_clone((unsigned long)tries[i]);
        if (pid == 0) syscall(SYS_exit_group, 0);
        if (pid < 0) continue;
        int st;
        while (waitpid((pid_t)pid, &st, __WALL) < 0 && errno == EINTR) {}
        g_ns_flags = tries[i];
        break;
    }
    const struct { int f; const char *n; } ns[] = {
        { CLONE_NEWUSER, "user" }, { CLONE_NEWPID, "pid" }, { CLONE_NEWNET, "net" },
        { CLONE_NEWNS, "mount" }, { CLONE_NEWIPC, "ipc" } };
    char have[100] = "", miss[100] = "";
    for (int i = 0; i < 5; i++) {
        char *b = (g_ns_flags & ns[i].f) ? have : miss;
        if (*b) strcat(b, ", ");
        strcat(b, ns[i].n);
    }
    snprintf(g_caps, sizeof g_caps, "%s namespaces; %s%s%s", *have ? have : "no",
             g_have_seccomp ? "seccomp" : "NO seccomp",
             *miss ? "; missing: " : "", miss);
    if (*miss || !g_have_seccomp)
        fprintf(stderr, "sandbox: isolation is reduced on this machine: %s\n", g_caps);
    /* The filters are the same for every run (~0.3 ms each to build): the RUN filter's
     * execve address is this page's, into which each program child copies its path. */
    void *page = mmap(NULL, SANDBOX_EXEC_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_exec_page = page == MAP_FAILED ? NULL : page;
    if (g_have_seccomp)
        for (int p = 0; p < 2; p++)
            if (!g_exec_page || sandbox_build_filter((SandboxProfile)p, g_exec_page, &g_filter[p]) != 0)
                g_filter_failed = 1;
    if (geteuid() == 0 && (g_ns_flags & CLONE_NEWNET) && g_have_seccomp && !g_filter_failed) g_netns = netns_create();
}

const char *sandbox_capabilities(void) {
    pthread_once(&g_once, caps_init);
    return g_caps;
}

int sandbox_ns_flags(void) {
    sandbox_capabilities();
    return g_ns_flags;
}

const struct sock_fprog *sandbox_filter(SandboxProfile profile) {
    sandbox_capabilities();
    const struct sock_fprog *f = &g_filter[profile == SANDBOX_PROFILE_COMPILE ? 0 : 1];
    return f->filter ? f : NULL;
}

int sandbox_filter_failed(void) {
    sandbox_capabilities();
    return g_filter_failed || !g_exec_page;
}

char *sandbox_exec_page(void) {
    sandbox_capabilities();
    return g_exec_page;
}

const MountOp *sandbox_mount_plan(SandboxProfile profile, int *n) {
    sandbox_capabilities();
    int p = profile == SANDBOX_PROFILE_COMPILE ? 0 : 1;
    *n = g_nplan[p];
    return g_plan[p];
}

/* ------------------------------------------------------------------ defaults, dirs */

SandboxSpec sandbox_default_spec(SandboxProfile profile) {
    SandboxSpec s;
    memset(&s, 0, sizeof s);
    s.profile = profile;
    if (profile == SANDBOX_PROFILE_COMPILE) {
        s.cpu_seconds = 10; s.wall_seconds = 20;
        s.memory_bytes = (size_t)1 << 30; s.file_bytes = (size_t)64 << 20;
        s.output_bytes = (size_t)1 << 20; s.max_processes = 16; s.max_open_files = 256;
    } else {
        s.cpu_seconds = 2; s.wall_seconds = 5;
        s.memory_bytes = (size_t)256 << 20; s.file_bytes = (size_t)16 << 20;
        s.output_bytes = (size_t)16 << 20; s.max_processes = 8; s.max_open_files = 64;
    }
    return s;
}

int sandbox_dir_create(char *path, size_t len, char *err, size_t errlen) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    int n = snprintf(path, len, "%s/rlvr-sbx-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "sandbox_dir_create: path buffer too small");
        return -1;
    }
    if (!mkdtemp(path)) {
        snprintf(err, errlen, "sandbox_dir_create: mkdtemp %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int remove_at(int parent, const char *name, int depth) {
    if (depth > 256) return -1;
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
    /* A directory, or one we may not write: open it up, empty it, remove it. */
    fchmodat(parent, name, 0700, AT_SYMLINK_NOFOLLOW);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return unlinkat(parent, name, 0);
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return -1; }
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (remove_at(fd, e->d_name, depth + 1) != 0) rc = -1;
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) rc = -1;
    return rc;
}

int sandbox_dir_remove(const char *path) {
    if (!path || !*path) return -1;
    return remove_at(AT_FDCWD, path, 0);
}

void sandbox_result_free(SandboxResult *res) {
    if (!res) return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

/* ------------------------------------------------------------------ the children */



void sandbox_ccopy(char *d, size_t cap, const char *s) {
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) d[i] = s[i];
    d[i] = 0;
}

void sandbox_execve(const char *path, char *const argv[], char *const envp[]) {
    for (int i = 0; i < 100; i++) {
        syscall(SYS_execve, path, argv, envp);
        if (errno != ETXTBSY) return;
        struct timespec ts = { 0, 10000000 };
        syscall(SYS_nanosleep, &ts, NULL);
    }
}

void sandbox_report(int kind, int status, const char *what, int err) {
    StatusRec r;
    memset(&r, 0, sizeof r);
    r.kind = kind; r.status = status; r.err = err;
    sandbox_ccopy(r.what, sizeof r.what, what);
    (void)!write(FD_STAT, &r, sizeof r);
}

_Noreturn void sandbox_die(const char *what) {
    sandbox_report(REC_SETUP_FAIL, 0, what, errno);
    syscall(SYS_exit_group, 120);
    for (;;) {}
}

void sandbox_move_fd(int from, int to, int cloexec) {
    if (from == to) {
        if (!cloexec) fcntl(to, F_SETFD, 0);
        return;
    }
    syscall(SYS_dup3, from, to, cloexec ? O_CLOEXEC : 0);
}

void sandbox_drop_bounding(void) {
    prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
          SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0);
    for (int cap = 0; cap < 64; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
}

void sandbox_clear_caps(void) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    syscall(SYS_capset, &h, d);
}

void sandbox_drop_caps(void) {
    sandbox_drop_bounding();
    sandbox_clear_caps();
}

/* The program's /proc/<host pid>/status, opened through FD_PROC: its pid in the PID
 * namespace means nothing to the host's /proc, so the program child reads its host pid
 * from /proc/self and sends it over a pipe. -1 when anything is missing. */
static int put_num(char *p, long v) {
    char t[24];
    int n = 0, k = 0;
    do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v && n < 23);
    while (n) p[k++] = t[--n];
    return k;
}
static long get_num(const char *p) {
    long v = 0;
    while (*p == ' ' || *p == '\t') p++;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    return v;
}
int sandbox_open_status_of_child(int rfd) {
    char buf[32], path[64];
    ssize_t n;
    while ((n = read(rfd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {}
    if (n <= 0) return -1;
    buf[n] = 0;
    long child = get_num(buf);
    if (child <= 0) return -1;
    int k = put_num(path, child);
    const char *st = "/status";
    for (int i = 0; st[i]; i++) path[k++] = st[i];
    path[k] = 0;
    return openat(FD_PROC, path, O_RDONLY | O_CLOEXEC);
}
/* The same through a pidfd of the child: the "Pid:" line of its fdinfo read through the
 * host's /proc is the host pid (no help from the child needed). -1 when anything fails. */
int sandbox_open_status_of_pidfd(int pidfd) {
    char path[96], buf[512];
    const char *pre = "self/fdinfo/";
    int k = 0;
    for (int i = 0; pre[i]; i++) path[k++] = pre[i];
    k += put_num(path + k, pidfd);
    path[k] = 0;
    int fd = openat(FD_PROC, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    long pid = -1;
    for (char *p = buf; *p; p++)
        if ((p == buf || p[-1] == '\n') && !strncmp(p, "Pid:", 4)) { pid = get_num(p + 4); break; }
    if (pid <= 0) return -1;
    k = put_num(path, pid);
    const char *st = "/status";
    for (int i = 0; st[i]; i++) path[k++] = st[i];
    path[k] = 0;
    return openat(FD_PROC, path, O_RDONLY | O_CLOEXEC);
}

void sandbox_read_peaks(int fd, long *vm, long *rss) {
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = 0;
    for (char *p = buf; *p; p++) {
        if (p == buf || p[-1] == '\n') {
            if (!strncmp(p, "VmPeak:", 7)) *vm = get_num(p + 7);
            else if (!strncmp(p, "VmHWM:", 6)) *rss = get_num(p + 6);
        }
    }
}

/* Init attaches to its program child for its exit stop (see below); 1 when it did. */
int sandbox_seize(long pid) {
    return syscall(SYS_ptrace, PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL) == 0;
}

/* Init's wait for its program child `pid` (stfd: the child's /proc/<pid>/status through
 * FD_PROC, or -1; closed here; traced: sandbox_seize succeeded), filling rec (REC_DONE:
 * status, rusage, peaks). The program's own peak
 * memory: wait4's maxrss also counts the forked copy of the harness (see the top of this
 * file), so init traces the program (PTRACE_SEIZE, only PTRACE_O_TRACEEXIT: no stop at
 * exec, children and threads untraced) and reads /proc/<pid>/status at its exit stop,
 * when its memory still exists. Signals are passed on unchanged; group stops are kept
 * (PTRACE_LISTEN). Other children (orphans) are reaped on the way. */
void sandbox_wait_program(long pid, int stfd, int traced, StatusRec *rec) {
    traced = traced && stfd >= 0;
    long peak_vm = -1, peak_rss = -1;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        struct rusage r;
        int s;
        long w = syscall(SYS_wait4, -1, &s, __WALL, &r);
        if (w == pid && traced && WIFSTOPPED(s)) {
            int ev = (s >> 16) & 0xff;
            if (ev == PTRACE_EVENT_EXIT) {
                sandbox_read_peaks(stfd, &peak_vm, &peak_rss);
                syscall(SYS_ptrace, PTRACE_CONT, pid, 0, 0);
            } else if (ev == PTRACE_EVENT_STOP) {
                syscall(SYS_ptrace, PTRACE_LISTEN, pid, 0, 0);
            } else {
                syscall(SYS_ptrace, PTRACE_CONT, pid, 0, (long)WSTOPSIG(s));
            }
            continue;
        }
        if (w == pid) { status = s; ru = r; break; }
        if (w < 0 && errno != EINTR) break;
    }
    if (stfd >= 0) close(stfd);
    memset(rec, 0, sizeof *rec);
    rec->kind = REC_DONE; rec->status = status; rec->ru = ru;
    rec->peak_vm_kb = peak_vm; rec->peak_rss_kb = peak_rss;
}

/* The program child's side of the above: make itself traceable, send its host pid. */
void sandbox_send_host_pid(int pp[2]) {
    if (pp[1] < 0) return;
    /* Init changed its uids (user namespace), which made this copy non-dumpable, and so
     * not traceable by init; the program will be dumpable after its execve anyway. Init
     * attaches only after reading the pid. */
    syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
    char self[24];
    ssize_t n = readlinkat(FD_PROC, "self", self, sizeof self);
    if (n > 0) (void)!write(pp[1], self, (size_t)n);
    close(pp[1]);
    close(pp[0]);
}

/* ------------------------------------------------------------------ the caller */

double sandbox_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}


/* Read what is there (the fd is non-blocking); returns 1 when the cap was passed. */
int sandbox_capture_read(int fd, Capture *c, size_t limit) {
    for (int rounds = 0; rounds < 64 && !c->eof; rounds++) {
        if (c->cap - c->len < 65536 + 1) {
            size_t want = c->cap ? c->cap * 2 : 65536 + 1;
            if (want > limit + 65536 + 1) want = limit + 65536 + 1;
            if (want <= c->cap) want = c->cap + 65536 + 1;
            char *b = realloc(c->buf, want);
            if (!b) return -1;
            c->buf = b; c->cap = want;
        }
        ssize_t n = read(fd, c->buf + c->len, c->cap - c->len - 1);
        if (n > 0) {
            c->len += (size_t)n;
            if (c->len > limit) { c->len = limit; c->over = 1; return 1; }
            continue;
        }
        if (n == 0) c->eof = 1;
        break; /* EAGAIN or error */
    }
    return 0;
}

void sandbox_init_begin(void) {
    syscall(SYS_setsid);
    syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (procfd >= 0) { sandbox_move_fd(procfd, FD_PROC, 1); if (procfd != FD_PROC) close(procfd); }
}

void sandbox_default_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int sandbox_wait_outputs(int status_fd, int out_fd, int err_fd, Capture *co, Capture *ce, size_t limit,
                         double t_start, double wall, int *status_ready) {
    *status_ready = 0;
    double el = sandbox_now() - t_start;
    if (el >= wall) return 2;
    int to = (int)((wall - el) * 1000) + 1;
    if (to > 100) to = 100;
    struct pollfd pf[3] = { { status_fd, POLLIN, 0 }, { co->eof ? -1 : out_fd, POLLIN, 0 },
                            { ce->eof ? -1 : err_fd, POLLIN, 0 } }; /* at EOF a pipe polls ready forever */
    if (poll(pf, 3, to) < 0 && errno != EINTR) return -1;
    int hit = 0, r;
    if (pf[1].revents) {
        if ((r = sandbox_capture_read(out_fd, co, limit)) < 0) return -1;
        hit |= r > 0;
    }
    if (pf[2].revents) {
        if ((r = sandbox_capture_read(err_fd, ce, limit)) < 0) return -1;
        hit |= r > 0;
    }
    if (hit) return 1;
    *status_ready = pf[0].revents != 0;
    return 0;
}

int sandbox_result_error(SandboxResult *res) {
    res->outcome = SANDBOX_ERROR;
    if (!res->out) res->out = calloc(1, 1);
    if (!res->err) res->err = calloc(1, 1);
    return -1;
}

int sandbox_name_ok(const char *name) {
    return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") && strlen(name) <= NAME_MAX;
}

void sandbox_set_err(char *err, size_t errlen, const char *fmt, const char *a, int e) {
    if (!err || !errlen) return;
    snprintf(err, errlen, fmt, a, e ? strerror(e) : "");
}

int sandbox_write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

void sandbox_limits(const SandboxSpec *spec, int count_init, SandboxLimits *l) {
    rlim_t cpu = spec->cpu_seconds > 0 ? (rlim_t)ceil(spec->cpu_seconds) : 1;
    l->cpu = (struct rlimit){ cpu, cpu + 1 };
    l->as = (struct rlimit){ spec->memory_bytes ? spec->memory_bytes : RLIM_INFINITY,
                             spec->memory_bytes ? spec->memory_bytes : RLIM_INFINITY };
    l->fsize = (struct rlimit){ spec->file_bytes, spec->file_bytes };
    rlim_t nofile = spec->max_open_files > 0 ? (rlim_t)spec->max_open_files : 64;
    l->nofile = (struct rlimit){ nofile, nofile };
    rlim_t nproc = (spec->max_processes > 0 ? (rlim_t)spec->max_processes : 1) + (count_init ? 1 : 0);
    l->nproc = (struct rlimit){ nproc, nproc };
}

int sandbox_result_fill(const SandboxSpec *spec, const SandboxObserved *o, Capture *co, Capture *ce,
                        double t_start, SandboxResult *res, char *err, size_t errlen) {
    res->outcome = SANDBOX_ERROR;
    res->wall_seconds = sandbox_now() - t_start;
    res->out = co->buf ? co->buf : malloc(1);
    res->err = ce->buf ? ce->buf : malloc(1);
    co->buf = ce->buf = NULL;
    if (!res->out || !res->err) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "out of memory", 0);
        return -1;
    }
    res->out_len = co->len; res->out[co->len] = 0;
    res->err_len = ce->len; res->err[ce->len] = 0;
    const StatusRec *done = &o->done;
    if (o->have_done) {
        res->cpu_seconds = (double)done->ru.ru_utime.tv_sec + done->ru.ru_utime.tv_usec * 1e-6 +
                           (double)done->ru.ru_stime.tv_sec + done->ru.ru_stime.tv_usec * 1e-6;
        /* Above the pre-exec baseline (+1 MB) the peak is the program's own; at or
         * below it the program's peak is unknown (-1): smaller than the harness. */
        res->max_rss_kb = o->baseline_kb >= 0 && done->ru.ru_maxrss > o->baseline_kb + 1024 ? done->ru.ru_maxrss : -1;
        if (done->peak_rss_kb > 0) res->max_rss_kb = done->peak_rss_kb; /* exact, from the exit stop */
    }
    if (o->fail.kind == REC_SETUP_FAIL || o->fail.kind == REC_EXEC_FAIL) {
        char what[96];
        snprintf(what, sizeof what, "%s %.64s", o->fail.kind == REC_EXEC_FAIL ? "execve" : "setup", o->fail.what);
        sandbox_set_err(err, errlen, "sandbox_run: %s: %s", what, o->fail.err);
        return -1;
    }
    if (o->out_hit) {
        res->outcome = SANDBOX_OUTPUT_LIMIT;
    } else if (o->wall_hit) {
        res->outcome = SANDBOX_TIME_LIMIT;
    } else if (!o->have_done) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "the sandbox's init ended without a status", 0);
        return -1;
    } else if (WIFEXITED(done->status)) {
        res->outcome = SANDBOX_EXITED;
        res->exit_code = WEXITSTATUS(done->status);
    } else if (WIFSIGNALED(done->status)) {
        int sig = WTERMSIG(done->status);
        res->signal = sig;
        res->outcome = SANDBOX_SIGNALED;
        if (sig == SIGSYS) res->outcome = SANDBOX_VIOLATION;
        else if (sig == SIGXCPU || (sig == SIGKILL && res->cpu_seconds >= (double)o->cpu_limit - 0.05))
            res->outcome = SANDBOX_TIME_LIMIT;
    }
    /* The memory heuristic (see the top of this file). */
    const double lim = (double)spec->memory_bytes;
    if (spec->memory_bytes &&
        ((res->max_rss_kb > 0 && (double)res->max_rss_kb * 1024.0 >= 0.5 * lim) ||
         (o->have_done && done->peak_vm_kb > 0 && (double)done->peak_vm_kb * 1024.0 >= 0.75 * lim)) &&
        ((res->outcome == SANDBOX_SIGNALED &&
          (res->signal == SIGSEGV || res->signal == SIGBUS || res->signal == SIGABRT || res->signal == SIGKILL)) ||
         (res->outcome == SANDBOX_EXITED && res->exit_code != 0)))
        res->outcome = SANDBOX_MEMORY_LIMIT;
    return 0;
}

int sandbox_run(const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen) {
    if (!spec || !spec->dir || !(sandbox_ns_flags() & CLONE_NEWPID))
        return sandbox_run_direct(spec, res, err, errlen);
    memset(res, 0, sizeof *res);
    res->outcome = SANDBOX_ERROR;
    res->violation_syscall = -1;
    SandboxSession *s = NULL;
    if (sandbox_session_open(&s, spec->dir, err, errlen) != 0) return -1;
    int rc = sandbox_session_run(s, spec, res, err, errlen);
    sandbox_session_close(s);
    return rc;
}

int sandbox_stdin_memfd(const SandboxSpec *spec, char *err, size_t errlen) {
    int fd = memfd_create("rlvr-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) { sandbox_set_err(err, errlen, "sandbox_run: memfd: %s%s", "", errno); return -1; }
    for (size_t off = 0; spec->stdin_data && off < spec->stdin_len;) {
        ssize_t n = write(fd, spec->stdin_data + off, spec->stdin_len - off);
        if (n <= 0) { sandbox_set_err(err, errlen, "sandbox_run: stdin: %s%s", "", errno); close(fd); return -1; }
        off += (size_t)n;
    }
    lseek(fd, 0, SEEK_SET);
    /* Sealed: no writer to block on, no SIGPIPE in the harness. */
    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    return fd;
}
