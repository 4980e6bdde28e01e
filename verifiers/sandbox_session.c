/* sandbox_session: several runs in one set of namespaces (see sandbox.h). Why: a new
 * user+PID+net+mount+IPC set and its filesystem view cost about 1.5 ms (the network
 * namespace alone 0.35 ms to make and as much to tear down), more than a small program's
 * whole run; the compile and the 5-8 test runs of one program paid it every time. A
 * session pays it once per program, and the network namespace is made once per process
 * where it can be shared (sandbox.c).
 *
 * Processes. sandbox_session_open records the dir; the first run clones the session's
 * init into a new PID namespace (and, when not root, a user namespace); init makes the
 * others itself (init_namespaces: user, mount, IPC, and network unless it joins the
 * shared one), maps its own ids, builds the filesystem view once, then serves runs one
 * at a time over a SOCK_SEQPACKET socket. A
 * run is a job message (profile, limits, argv, environment, fresh dir) carrying the run's
 * stdin memfd and its stdout/stderr pipes as SCM_RIGHTS. For each job init forks the
 * program child, traces and waits for it exactly as sandbox.c's init does (the peak
 * memory at its exit stop), then kills every other process of the namespace
 * (kill(-1, SIGKILL) from PID 1 reaches all of them and nothing outside) and reaps until
 * it has no child left, and only then sends REC_DONE: a daemon or a stopped child of one
 * run is dead before the next run starts. The caller enforces the wall clock and the
 * output caps; when one hits it SIGKILLs init, which ends the namespace and everything
 * in it, and the next run of the session clones a new init. Closing the session closes
 * the socket: init leaves on EOF (SIGKILL after a grace period). Init has
 * PR_SET_PDEATHSIG(SIGKILL), and so does every program child.
 *
 * Filesystem view, built once by init: a read-only tmpfs root holding both profiles'
 * views side by side, /c (COMPILE) and /r (RUN), each as sandbox.c describes, with the
 * working dir bound read-write at /c/work and /r/work. The program child chroots into
 * its profile's view (chroot, mount, pivot_root and open_by_handle_at are not in the
 * seccomp allowlist, and the child holds no descriptor outside its view, so the other
 * view is out of reach). With spec.fresh_with init mounts a new tmpfs over the view's
 * /work for that run, holding a read-only bind of the file from the other view's /work
 * (the session's dir), and detaches it after: the run sees a directory of its own, and
 * nothing of the host's disk is made or removed per run.
 *
 * Everything else (users, capabilities, seccomp, limits, memory detection, descriptors)
 * is sandbox.c's, shared through sandbox_internal.h. Between fork and execve the
 * children make only system calls; init's job buffer is its own (a forked copy). */
#define _GNU_SOURCE
#include "verifiers/sandbox.h"
#include "verifiers/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

#define JOB_STRS 8192     /* argv and environment, NUL-separated */
#define JOB_MAX_ARGS 64
#define JOB_FD_IN 64      /* where init parks a job's descriptors until the fork */
#define JOB_FD_OUT 65
#define JOB_FD_ERR 66
#define JOB_STACK (256 << 10)

/* The program child runs on a stack of its own in init's memory (CLONE_VM, until its
 * execve); AddressSanitizer cannot follow that stack switch. */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_CODE __attribute__((no_sanitize_address))
#else
#define CHILD_CODE
#endif

/* Written by the program child just before its execve, read by init once the program
 * has ended (the memory is init's until the exec). */
static volatile long g_job_baseline;
/* Set (and futex-woken) by init once it has tried to attach to the program child: the
 * child waits for it before its execve, so a short program cannot exit before init
 * attaches when init is slow to be scheduled (a loaded machine). Usually init is first. */
static volatile int g_job_attached;

struct SandboxSession {
    char dir[PATH_MAX];
    int ns_flags;          /* 0: no namespaces, every run is a direct run */
    int privileged;
    unsigned long dir_flags;
    pid_t init;            /* -1: none yet, or killed (the next run clones one) */
    int pidfd, ctl;
};

typedef struct {
    int profile, setuid_nobody;
    SandboxLimits lim;
    unsigned long dir_flags;
    char fresh[NAME_MAX + 1];  /* "" : the whole dir; else the file of a fresh /work */
    char fresh_opts[96];       /* that tmpfs's mount options */
    int argc, envc;
    char strs[JOB_STRS];
} JobMsg;

typedef struct {
    const char *dir;
    unsigned long dir_flags;
    int ns_flags, ctl;
    int privileged;     /* root outside: init becomes SANDBOX_UID before its user namespace */
    int netns;          /* the shared network namespace to join, or -1: a new one */
    char uid_map[32], gid_map[32];   /* its user namespace's maps, which init writes itself */
} InitArgs;

/* ------------------------------------------------------------------ init's side */

static void path_join(char *out, size_t cap, const char *a, const char *b) {
    sandbox_ccopy(out, cap, a);
    size_t n = strlen(out);
    sandbox_ccopy(out + n, cap - n, b);
}

/* The two views under the working dir's path (covered by a tmpfs in this namespace),
 * then pivot_root into it. */
static void setup_views(const InitArgs *a) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) sandbox_die("make / private");
    /* A detached bind mount of the working dir, taken before the tmpfs covers its path. */
    int dfd = (int)syscall(SYS_open_tree, AT_FDCWD, a->dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (dfd < 0) sandbox_die("open_tree working dir");
    sandbox_move_fd(dfd, FD_DIR, 1);
    if (dfd != FD_DIR) close(dfd);
    if (mount("tmpfs", a->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,nr_inodes=256,mode=755") != 0)
        sandbox_die("mount tmpfs");
    if (chdir(a->dir) != 0) sandbox_die("chdir new root");
    static const char *const root[2] = { "c/", "r/" };
    for (int p = 0; p < 2; p++) {
        if (mkdir(root[p], 0755) != 0) sandbox_die(root[p]);
        int n;
        const MountOp *plan = sandbox_mount_plan((SandboxProfile)p, &n);
        for (int i = 0; i < n; i++) {
            const MountOp *o = &plan[i];
            char dst[80];
            path_join(dst, sizeof dst, root[p], o->dst);
            switch (o->kind) {
            case OP_MKDIR:
                if (mkdir(dst, 0755) != 0 && errno != EEXIST) sandbox_die(dst);
                break;
            case OP_SYMLINK:
                if (symlink(o->src, dst) != 0) sandbox_die(dst);
                break;
            case OP_BIND_FILE: {
                int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                if (fd < 0) sandbox_die(dst);
                close(fd);
            } /* fall through */
            case OP_BIND_DIR:
                if (mount(o->src, dst, NULL, MS_BIND | MS_REC, NULL) != 0) sandbox_die(o->src);
                if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | o->flags, NULL) != 0) sandbox_die(dst);
                break;
            }
        }
    }
    if (syscall(SYS_move_mount, FD_DIR, "", AT_FDCWD, "c/work", MOVE_MOUNT_F_EMPTY_PATH) != 0)
        sandbox_die("attach work dir");
    close(FD_DIR);
    if (mount("c/work", "r/work", NULL, MS_BIND, NULL) != 0) sandbox_die("bind work dir");
    for (int p = 0; p < 2; p++) {
        char w[16];
        path_join(w, sizeof w, root[p], "work");
        if (mount(NULL, w, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | a->dir_flags, NULL) != 0)
            sandbox_die("remount work dir");
    }
    if (syscall(SYS_pivot_root, ".", ".") != 0) sandbox_die("pivot_root");
    if (umount2(".", MNT_DETACH) != 0) sandbox_die("detach old root");
    if (chdir("/") != 0) sandbox_die("chdir /");
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        sandbox_die("remount / read-only");
}

/* The program child of a job: its view, limits, user, filter, exec. It shares init's
 * memory until the exec, while init attaches to it and waits, so it writes nothing of
 * init's but g_job_baseline and the exec page (and errno, which init does not read
 * meanwhile); descriptors, credentials, limits, the root and the filter are its own. */
static CHILD_CODE _Noreturn void job_child(const JobMsg *j) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    sandbox_move_fd(JOB_FD_IN, 0, 0);
    sandbox_move_fd(JOB_FD_OUT, 1, 0);
    sandbox_move_fd(JOB_FD_ERR, 2, 0);
    const char *view = j->profile == SANDBOX_PROFILE_COMPILE ? "/c" : "/r";
    if (syscall(SYS_chroot, view) != 0) sandbox_die("chroot");
    if (chdir("/work") != 0) sandbox_die("chdir /work");
    const struct rlimit core = { 0, 0 };
    if (syscall(SYS_prlimit64, 0, RLIMIT_CORE, &core, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_CPU, &j->lim.cpu, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_AS, &j->lim.as, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &j->lim.fsize, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &j->lim.nofile, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_NPROC, &j->lim.nproc, NULL) != 0) sandbox_die("setrlimit");
    if (j->setuid_nobody) {
        if (syscall(SYS_setgroups, 0, NULL) != 0 ||
            syscall(SYS_setresgid, SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
            syscall(SYS_setresuid, SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0) sandbox_die("become nobody");
    }
    char *argv[JOB_MAX_ARGS + 1], *envp[JOB_MAX_ARGS + 1];
    char *p = (char *)j->strs;
    for (int i = 0; i < j->argc; i++) { argv[i] = p; p += strlen(p) + 1; }
    argv[j->argc] = NULL;
    for (int i = 0; i < j->envc; i++) { envp[i] = p; p += strlen(p) + 1; }
    envp[j->envc] = NULL;
    sandbox_clear_caps();   /* the bounding set is init's, emptied once */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) sandbox_die("no_new_privs");
    const struct sock_fprog *prog = sandbox_filter((SandboxProfile)j->profile);
    if (prog && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0) sandbox_die("seccomp");
    /* The peak RSS so far belongs to the copy of the harness that fork made (see
     * sandbox.c): tell the caller, so it can tell the two apart. */
    struct rusage self;
    if (syscall(SYS_getrusage, RUSAGE_SELF, &self) == 0) g_job_baseline = self.ru_maxrss;
    for (int i = 0; !g_job_attached && i < 10; i++) { /* at most 1 s: nothing hangs */
        struct timespec ts = { 0, 100000000 };
        syscall(SYS_futex, &g_job_attached, FUTEX_WAIT, 0, &ts, NULL, 0);
    }
    char *page = sandbox_exec_page();
    sandbox_ccopy(page, SANDBOX_EXEC_PAGE, argv[0]);
    sandbox_execve(page, argv, envp);
    sandbox_report(REC_EXEC_FAIL, 0, argv[0], errno);
    syscall(SYS_exit_group, 127);
    for (;;) {}
}

/* With spec.fresh_with, a new tmpfs over the profile's /work for the run, holding the
 * session dir's file read-only (bound from the other view's /work, which the run cannot
 * reach); detached once every process of the run is gone. The file must be a regular one:
 * nothing of the session's runs is alive to swap it between the check and the bind. */
static void job_fresh_dir(const JobMsg *j, int on) {
    if (!j->fresh[0]) return;
    const int compile = j->profile == SANDBOX_PROFILE_COMPILE;
    const char *work = compile ? "/c/work" : "/r/work";
    if (!on) {
        if (umount2(work, MNT_DETACH) != 0) sandbox_die("detach the run's dir");
        return;
    }
    char src[NAME_MAX + 16], dst[NAME_MAX + 16];
    path_join(src, sizeof src, compile ? "/r/work/" : "/c/work/", j->fresh);
    path_join(dst, sizeof dst, work, "/");
    size_t n = strlen(dst);
    sandbox_ccopy(dst + n, sizeof dst - n, j->fresh);
    struct stat st;
    if (lstat(src, &st) != 0) sandbox_die(j->fresh);
    if (!S_ISREG(st.st_mode)) { errno = EINVAL; sandbox_die("the run's file is not a regular file"); }
    if (mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, j->fresh_opts) != 0) sandbox_die("mount the run's dir");
    int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0500);
    if (fd < 0) sandbox_die("the run's file");
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL) != 0) sandbox_die("bind the run's file");
    if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | j->dir_flags, NULL) != 0)
        sandbox_die("remount the run's file read-only");
}

static CHILD_CODE int job_child_main(void *arg) {
    job_child(arg);
}

/* Receives one job and its three descriptors (parked at JOB_FD_*). 1: a job; 0: the
 * caller closed the session; -1: a malformed message. */
static int job_receive(JobMsg *j) {
    char cbuf[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = { j, sizeof *j };
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    mh.msg_control = cbuf; mh.msg_controllen = sizeof cbuf;
    ssize_t n;
    while ((n = recvmsg(FD_STAT, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    if (n == 0) return 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n != (ssize_t)sizeof *j || !cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(3 * sizeof(int)))
        return -1;
    int fds[3];
    memcpy(fds, CMSG_DATA(cm), sizeof fds);
    for (int i = 0; i < 3; i++) {
        if (syscall(SYS_dup3, fds[i], JOB_FD_IN + i, O_CLOEXEC) < 0) return -1;
        close(fds[i]);
    }
    if (j->argc < 1 || j->argc > JOB_MAX_ARGS || j->envc < 0 || j->envc > JOB_MAX_ARGS) return -1;
    j->strs[JOB_STRS - 1] = 0;
    j->fresh[NAME_MAX] = 0;
    j->fresh_opts[sizeof j->fresh_opts - 1] = 0;
    return 1;
}

/* Init's namespaces besides its PID namespace (made by the clone): it joins the shared
 * network namespace while it is still root outside, becomes SANDBOX_UID, makes its user
 * namespace and maps it itself (a one-line map of the creator's own ids needs no help
 * from outside: no round trip with the caller), then makes the mount and IPC namespaces
 * (and the network one when there is none to share), owned by that user namespace. */
static void init_namespaces(const InitArgs *a, int netns_errno) {
    if (netns_errno) { errno = netns_errno; sandbox_die("join the network namespace"); }
    if (a->ns_flags & CLONE_NEWUSER) {
        if (a->privileged) {
            if (syscall(SYS_setgroups, 0, NULL) != 0 ||
                syscall(SYS_setresgid, SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
                syscall(SYS_setresuid, SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0) sandbox_die("become nobody");
            /* The uid change made init undumpable, and its /proc files root's: its own
             * maps must stay writable to it. */
            syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
            if (syscall(SYS_unshare, CLONE_NEWUSER) != 0) sandbox_die("unshare user namespace");
        }
        if (sandbox_write_file("/proc/self/setgroups", "deny") != 0 ||
            sandbox_write_file("/proc/self/uid_map", a->uid_map) != 0 ||
            sandbox_write_file("/proc/self/gid_map", a->gid_map) != 0) sandbox_die("write the user namespace's maps");
    }
    /* A change of credentials clears the parent-death signal: set it (again) after. */
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int more = (a->ns_flags & (CLONE_NEWNS | CLONE_NEWIPC)) | (a->netns < 0 ? a->ns_flags & CLONE_NEWNET : 0);
    if (syscall(SYS_unshare, more) != 0) sandbox_die("unshare mount, IPC and network namespaces");
}

/* The clone child: PID 1 of the session's namespaces. Only system calls from here on. */
static _Noreturn void session_init(const InitArgs *a) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Before the descriptors move (the namespace's may be where FD_STAT goes). */
    int netns_errno = a->netns >= 0 && syscall(SYS_setns, a->netns, CLONE_NEWNET) != 0 ? errno : 0;
    int st = fcntl(a->ctl, F_DUPFD_CLOEXEC, 64);
    if (st < 0) syscall(SYS_exit_group, 121);
    sandbox_move_fd(st, FD_STAT, 1);
    init_namespaces(a, netns_errno);
    if (syscall(SYS_close_range, 0, FD_STAT - 1, 0) != 0 || syscall(SYS_close_range, FD_STAT + 1, ~0U, 0) != 0)
        for (int fd = 0; fd < 4096; fd++) if (fd != FD_STAT) close(fd);
    sandbox_init_begin();
    setup_views(a);
    sandbox_default_signals();
    sandbox_drop_bounding();
    static JobMsg job; /* this process's own copy */
    /* The program child shares init's memory until its execve: no copy of the harness's
     * page tables per run (init is a copy of the harness, which may hold a model). Init
     * attaches to it at once, which needs the shared mm dumpable (init's setresuid made it
     * not; a job child's setresuid, without a user namespace, may again). Being dumpable
     * lets processes of the sandbox's own uid trace init: the programs, for whom ptrace
     * is not in the allowlist, and outside the host's own "nobody" processes, which can
     * trace the programs anyway. */
    char *stack = mmap(NULL, JOB_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) sandbox_die("the program child's stack");
    for (;;) {
        int r = job_receive(&job);
        if (r == 0) syscall(SYS_exit_group, 0);
        if (r < 0) sandbox_die("a malformed job");
        job_fresh_dir(&job, 1);
        g_job_baseline = -1;
        g_job_attached = 0;
        syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
        long pid = clone(job_child_main, stack + JOB_STACK, CLONE_VM | SIGCHLD, &job);
        if (pid < 0) sandbox_die("fork program");
        close(JOB_FD_IN); close(JOB_FD_OUT); close(JOB_FD_ERR);
        /* Only a program's peak memory is worth its exit stop (two more context switches
         * per run): the compiler's is wait4's figure, when it is above the baseline. */
        int stfd = -1, pidfd = job.profile == SANDBOX_PROFILE_RUN ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd >= 0) { stfd = sandbox_open_status_of_pidfd(pidfd); close(pidfd); }
        int traced = stfd >= 0 && sandbox_seize(pid);
        g_job_attached = 1;
        syscall(SYS_futex, &g_job_attached, FUTEX_WAKE, 1, NULL, NULL, 0);
        StatusRec rec;
        sandbox_wait_program(pid, stfd, traced, &rec);
        rec.baseline_kb = g_job_baseline;
        /* Nothing of this run may outlive it: from PID 1, kill(-1) reaches every other
         * process of the namespace; all of them end up as init's children (orphans are
         * reparented to it), so no child left means no process left. */
        for (;;) {
            syscall(SYS_kill, -1L, SIGKILL);
            long w = syscall(SYS_wait4, -1, NULL, __WALL, NULL);
            if (w < 0 && errno != EINTR) break;
        }
        job_fresh_dir(&job, 0);
        if (write(FD_STAT, &rec, sizeof rec) != (ssize_t)sizeof rec) syscall(SYS_exit_group, 124);
    }
}

/* ------------------------------------------------------------------ the caller's side */

/* Wait for init to end; SIGKILL it after `grace` seconds. 0 once reaped, -1 if it would
 * not go (stuck in the kernel: give up rather than hang). */
static int init_reap(SandboxSession *s, double grace) {
    const double t0 = sandbox_now();
    int killed = 0;
    for (;;) {
        int st;
        pid_t w = waitpid(s->init, &st, WNOHANG | __WALL);
        if (w == s->init) break;
        if (w < 0 && errno != EINTR) break;
        double el = sandbox_now() - t0;
        if (el >= grace && !killed) { kill(s->init, SIGKILL); killed = 1; }
        if (el > grace + 10.0) return -1;
        struct pollfd pf = { s->pidfd, POLLIN, 0 };
        if (s->pidfd < 0 || poll(&pf, 1, 50) < 0) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

/* The caller waits for init's exit: a teardown left to run alongside the next session's
 * set-up made open+run+close 2-3x slower (measured), the kernel serialising the two. */
static void session_end(SandboxSession *s, int kill_now) {
    if (s->init <= 0) return;
    if (s->ctl >= 0) { close(s->ctl); s->ctl = -1; }   /* init leaves on EOF */
    if (kill_now) kill(s->init, SIGKILL);
    init_reap(s, kill_now ? 0.0 : 2.0);
    if (s->pidfd >= 0) close(s->pidfd);
    s->pidfd = -1;
    s->init = -1;
}

static int session_spawn(SandboxSession *s, char *err, size_t errlen) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        sandbox_set_err(err, errlen, "sandbox_run: socketpair: %s%s", "", errno);
        return -1;
    }
    const uid_t inner = s->privileged ? SANDBOX_UID : geteuid();
    const gid_t inner_g = s->privileged ? SANDBOX_GID : getegid();
    if (s->privileged && chown(s->dir, inner, inner_g) != 0) {
        sandbox_set_err(err, errlen, "sandbox_run: chown %s: %s", s->dir, errno);
        close(sv[0]); close(sv[1]);
        return -1;
    }
    InitArgs a = { s->dir, s->dir_flags, s->ns_flags, sv[1], s->privileged, sandbox_shared_netns(), "", "" };
    snprintf(a.uid_map, sizeof a.uid_map, "0 %u 1\n", (unsigned)inner);
    snprintf(a.gid_map, sizeof a.gid_map, "0 %u 1\n", (unsigned)inner_g);
    /* Root makes the PID namespace here and the others in init (see init_namespaces);
     * anybody else needs the user namespace first, in the same clone. */
    const unsigned long flags = CLONE_NEWPID | (s->privileged ? 0 : (unsigned long)(s->ns_flags & CLONE_NEWUSER));
    long cp = sandbox_raw_clone(flags);
    if (cp == 0) session_init(&a);
    close(sv[1]);
    if (cp < 0) {
        sandbox_set_err(err, errlen, "sandbox_run: clone: %s%s", "", errno);
        close(sv[0]);
        return -1;
    }
    s->init = (pid_t)cp;
    s->ctl = sv[0];
    s->pidfd = (int)syscall(SYS_pidfd_open, cp, 0);
    return 0;
}

int sandbox_session_open(SandboxSession **out, const char *dir, char *err, size_t errlen) {
    *out = NULL;
    if (err && errlen) err[0] = 0;
    if (!dir || strlen(dir) >= PATH_MAX) {
        sandbox_set_err(err, errlen, "sandbox_session_open: %s%s", "missing or too long dir", 0);
        return -1;
    }
    SandboxSession *s = calloc(1, sizeof *s);
    if (!s) { sandbox_set_err(err, errlen, "sandbox_session_open: %s%s", "out of memory", 0); return -1; }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->ns_flags = sandbox_ns_flags();
    if (!(s->ns_flags & CLONE_NEWPID) || !(s->ns_flags & CLONE_NEWNS)) s->ns_flags = 0;
    s->privileged = geteuid() == 0;
    s->dir_flags = sandbox_locked_flags(dir) & ~(unsigned long)MS_RDONLY;
    s->init = -1;
    s->pidfd = s->ctl = -1;
    *out = s;
    return 0;
}

void sandbox_session_close(SandboxSession *s) {
    if (!s) return;
    session_end(s, 0);
    free(s);
}

/* Appends str to j->strs; -1 when it does not fit. */
static int job_add(JobMsg *j, size_t *used, const char *a, const char *b) {
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    if (*used + la + lb + 1 > JOB_STRS) return -1;
    memcpy(j->strs + *used, a, la);
    if (lb) memcpy(j->strs + *used + la, b, lb);
    j->strs[*used + la + lb] = 0;
    *used += la + lb + 1;
    return 0;
}

/* The job of spec: limits, view, argv with the working dir's host paths as /work/... */
static int job_build(const SandboxSession *s, const SandboxSpec *spec, JobMsg *j, char *err, size_t errlen) {
    memset(j, 0, sizeof *j);
    j->profile = spec->profile == SANDBOX_PROFILE_COMPILE ? SANDBOX_PROFILE_COMPILE : SANDBOX_PROFILE_RUN;
    j->setuid_nobody = s->privileged && !(s->ns_flags & CLONE_NEWUSER);
    sandbox_limits(spec, 1, &j->lim);
    j->dir_flags = s->dir_flags;
    char host[PATH_MAX];
    snprintf(host, sizeof host, "%s", s->dir);
    if (spec->fresh_with) {
        const char *f = spec->fresh_with;
        if (!sandbox_name_ok(f)) {
            sandbox_set_err(err, errlen, "sandbox_run: bad fresh_with \"%s\"%s", f, 0);
            return -1;
        }
        snprintf(j->fresh, sizeof j->fresh, "%s", f);
        /* The run's files together get file_bytes; owned by whom the program runs as. */
        size_t bytes = spec->file_bytes < 65536 ? 65536 : spec->file_bytes;
        const unsigned owner = j->setuid_nobody ? SANDBOX_UID : 0;
        snprintf(j->fresh_opts, sizeof j->fresh_opts, "size=%zu,nr_inodes=256,mode=700,uid=%u,gid=%u", bytes, owner,
                 owner);
    }
    size_t used = 0, hl = strlen(host);
    for (; spec->argv[j->argc]; j->argc++) {
        const char *a = spec->argv[j->argc];
        int mapped = strncmp(a, host, hl) == 0 && (a[hl] == '/' || a[hl] == 0);
        if (j->argc >= JOB_MAX_ARGS || (mapped ? job_add(j, &used, "/work", a + hl) : job_add(j, &used, a, NULL))) {
            sandbox_set_err(err, errlen, "sandbox_run: %s%s", "too many or too long arguments", 0);
            return -1;
        }
    }
    if (strlen(j->strs) >= SANDBOX_EXEC_PAGE) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "argv[0] is too long", 0);
        return -1;
    }
    if (j->profile == SANDBOX_PROFILE_COMPILE) {
        /* gcc's temporary files go to the working dir, and go with it. */
        if (job_add(j, &used, "PATH=/usr/bin:/bin", NULL) || job_add(j, &used, "TMPDIR=/work", NULL)) return -1;
        j->envc = 2;
    }
    return 0;
}

static int job_send(SandboxSession *s, JobMsg *j, const int fds[3]) {
    char cbuf[CMSG_SPACE(3 * sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = { j, sizeof *j };
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    mh.msg_control = cbuf; mh.msg_controllen = sizeof cbuf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, 3 * sizeof(int));
    ssize_t n;
    while ((n = sendmsg(s->ctl, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    return n == (ssize_t)sizeof *j ? 0 : -1;
}

int sandbox_session_run(SandboxSession *s, const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    res->outcome = SANDBOX_ERROR;
    res->violation_syscall = -1;
    if (err && errlen) err[0] = 0;
    if (!s || !spec || !spec->argv || !spec->argv[0] || (spec->dir && strcmp(spec->dir, s->dir) != 0)) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "missing argv, or a dir that is not the session's", 0);
        goto fail;
    }
    if (!s->ns_flags) {
        SandboxSpec d = *spec;
        d.dir = s->dir;
        return sandbox_run_direct(&d, res, err, errlen);
    }
    if (sandbox_filter_failed()) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "cannot build the seccomp filter", 0);
        goto fail;
    }
    static _Thread_local JobMsg job; /* 8 KB: not on a worker thread's stack */
    if (job_build(s, spec, &job, err, errlen) != 0) goto fail;
    const double t_start = sandbox_now();
    int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, in_fd = -1, rc = -1;
    Capture co = { 0 }, ce = { 0 };
    in_fd = sandbox_stdin_memfd(spec, err, errlen);
    if (in_fd < 0) goto out;
    if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC)) {
        sandbox_set_err(err, errlen, "sandbox_run: pipe: %s%s", "", errno);
        goto out;
    }
    const int fds[3] = { in_fd, out_p[1], err_p[1] };
    /* A session whose init is gone (killed at a limit) gets a new one; so does one whose
     * init died under it since (then the send fails). */
    for (int attempt = 0;; attempt++) {
        if (s->init < 0 && session_spawn(s, err, errlen) != 0) goto out;
        if (job_send(s, &job, fds) == 0) break;
        session_end(s, 1);
        if (attempt == 1) {
            sandbox_set_err(err, errlen, "sandbox_run: the sandbox's init does not take jobs: %s%s", "", errno);
            goto out;
        }
    }
    close(out_p[1]); out_p[1] = -1;
    close(err_p[1]); err_p[1] = -1;
    close(in_fd); in_fd = -1;

    fcntl(out_p[0], F_SETFL, O_NONBLOCK);
    fcntl(err_p[0], F_SETFL, O_NONBLOCK);
    const size_t cap = spec->output_bytes;
    const double wall = spec->wall_seconds > 0 ? spec->wall_seconds : 5.0;
    SandboxObserved o;
    memset(&o, 0, sizeof o);
    o.baseline_kb = -1;
    o.cpu_limit = job.lim.cpu.rlim_cur;
    int ctl_eof = 0;
    while (!o.have_done && !ctl_eof) {
        int ready, w = sandbox_wait_outputs(s->ctl, out_p[0], err_p[0], &co, &ce, cap, t_start, wall, &ready);
        if (w == 2) { o.wall_hit = 1; break; }
        if (w == 1) { o.out_hit = 1; break; }
        if (w < 0) break;
        if (ready) {
            StatusRec r;
            ssize_t k = recv(s->ctl, &r, sizeof r, MSG_DONTWAIT);
            if (k == (ssize_t)sizeof r) {
                if (r.kind == REC_DONE) { o.done = r; o.have_done = 1; o.baseline_kb = r.baseline_kb; }
                else if (r.kind != REC_STARTED && !o.fail.kind) o.fail = r;
            } else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                ctl_eof = 1;
            }
        }
    }
    /* Not finished (a limit, or init died): end the namespaces and everything in them. */
    if (!o.have_done) session_end(s, 1);
    if (!o.out_hit) {
        int r1 = sandbox_capture_read(out_p[0], &co, cap), r2 = sandbox_capture_read(err_p[0], &ce, cap);
        o.out_hit = r1 > 0 || r2 > 0;
    }
    rc = sandbox_result_fill(spec, &o, &co, &ce, t_start, res, err, errlen);
out:
    free(co.buf); free(ce.buf);
    const int all[] = { out_p[0], out_p[1], err_p[0], err_p[1], in_fd };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) if (all[i] >= 0) close(all[i]);
    if (rc == 0) return 0;
fail:
    return sandbox_result_error(res);
}
