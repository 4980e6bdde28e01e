/* sandbox_direct: the sandbox's run without namespaces (the fallback, where the machine
 * allows none): a supervisor of its own per run, in the caller's namespaces. sandbox.c
 * describes the mechanisms (users, seccomp, limits, memory detection); this is how the
 * fallback keeps the tree together without a PID namespace: init calls setsid() and
 * becomes a subreaper, the program gets a process group of its own, and on any end init
 * (still alive: the caller signals only the program's group) kills that group and reaps
 * it and every orphan before leaving. setsid and setpgid are not in the seccomp
 * allowlist, so the program cannot leave its group. As root the program alone becomes
 * nobody (init stays root, so the program cannot signal it). */
#define _GNU_SOURCE
#include "verifiers/sandbox.h"
#include "verifiers/sandbox_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const SandboxSpec *spec;
    char **argv, **envp;        /* argv[0] is copied into the exec page for execve */
    const char *workdir;        /* chdir target for the program */
    const struct sock_fprog *prog;
    struct rlimit rl_cpu, rl_as, rl_fsize, rl_nofile, rl_nproc;
    int in_fd, out_w, err_w, stat_w;
    int setuid_nobody;          /* root: the program becomes nobody, init stays root */
} Child;

/* The program child of the direct run: limits, filter, exec. */
static _Noreturn void program_child(const Child *c) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Without a PID namespace the program's tree is its own process group, which init
     * (outside it) kills and reaps. */
    syscall(SYS_setpgid, 0, 0);
    const struct rlimit core = { 0, 0 };
    if (syscall(SYS_prlimit64, 0, RLIMIT_CORE, &core, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_CPU, &c->rl_cpu, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_AS, &c->rl_as, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &c->rl_fsize, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &c->rl_nofile, NULL) != 0 ||
        syscall(SYS_prlimit64, 0, RLIMIT_NPROC, &c->rl_nproc, NULL) != 0) sandbox_die("setrlimit");
    if (chdir(c->workdir) != 0) sandbox_die("chdir working dir");
    /* Without a user namespace (root): only the program becomes nobody; init stays root
     * so the program cannot signal it. */
    if (c->setuid_nobody) {
        if (syscall(SYS_setgroups, 0, NULL) != 0 ||
            syscall(SYS_setresgid, SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
            syscall(SYS_setresuid, SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0) sandbox_die("become nobody");
    }
    sandbox_drop_caps();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) sandbox_die("no_new_privs");
    if (c->prog && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->prog) != 0) sandbox_die("seccomp");
    /* The peak RSS so far belongs to the copy of the harness that fork made; execve
     * records it into what wait4 reports. Tell the caller, so it can tell the two apart. */
    struct rusage self;
    if (syscall(SYS_getrusage, RUSAGE_SELF, &self) == 0) sandbox_report(REC_BASELINE, (int)self.ru_maxrss, "", 0);
    char *page = sandbox_exec_page();
    sandbox_ccopy(page, SANDBOX_EXEC_PAGE, c->argv[0]);
    sandbox_execve(page, c->argv, c->envp);
    sandbox_report(REC_EXEC_FAIL, 0, c->argv[0], errno);
    syscall(SYS_exit_group, 127);
    for (;;) {}
}

/* The clone child of the direct run: the supervisor. Only raw system calls from here on. */
static _Noreturn void init_child(const Child *c) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Park our descriptors above the fixed slots, then put them in place. */
    int in = fcntl(c->in_fd, F_DUPFD_CLOEXEC, 64), out = fcntl(c->out_w, F_DUPFD_CLOEXEC, 64);
    int err = fcntl(c->err_w, F_DUPFD_CLOEXEC, 64), st = fcntl(c->stat_w, F_DUPFD_CLOEXEC, 64);
    if (in < 0 || out < 0 || err < 0 || st < 0) syscall(SYS_exit_group, 121);
    sandbox_move_fd(in, 0, 0); sandbox_move_fd(out, 1, 0); sandbox_move_fd(err, 2, 0);
    sandbox_move_fd(st, FD_STAT, 1);
    if (syscall(SYS_close_range, FD_STAT + 1, ~0U, 0) != 0)
        for (int fd = FD_STAT + 1; fd < 4096; fd++) close(fd);
    sandbox_init_begin();
    sandbox_default_signals();
    int pp[2] = { -1, -1 };
    if (syscall(SYS_pipe2, pp, O_CLOEXEC) != 0) pp[0] = pp[1] = -1;
    long pid = sandbox_raw_clone(SIGCHLD);
    if (pid < 0) sandbox_die("fork program");
    if (pid == 0) {
        sandbox_send_host_pid(pp);
        program_child(c);
    }
    if (pp[1] >= 0) close(pp[1]);
    syscall(SYS_setpgid, pid, pid);
    sandbox_report(REC_STARTED, (int)pid, "", 0);
    /* Init holds no copies of the program's stdio. */
    close(0); close(1); close(2);
    StatusRec rec;
    int stfd = pp[0] >= 0 ? sandbox_open_status_of_child(pp[0]) : -1;
    if (pp[0] >= 0) close(pp[0]);
    sandbox_wait_program(pid, stfd, stfd >= 0 && sandbox_seize(pid), &rec);
    (void)!write(FD_STAT, &rec, sizeof rec);
    /* Kill the program's group and reap it (and any orphan: init is a subreaper) before
     * leaving, so nothing is left to a PID 1 that may never reap. A member that setsid()s
     * escapes the group kill; the caller SIGKILLs init after a grace period. */
    for (;;) {
        syscall(SYS_kill, -(long)pid, SIGKILL);
        long w = syscall(SYS_wait4, -1, NULL, __WALL, NULL);
        if (w < 0 && errno != EINTR) break;
    }
    syscall(SYS_exit_group, 0);
    for (;;) {}
}

/* Fallback only: does process group pg still have a member that is not a zombie? */
static int group_has_live_members(pid_t pg) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int live = 0;
    for (struct dirent *e; !live && (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], buf[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        char *q = strrchr(buf, ')'); /* comm may hold spaces and parens */
        char state;
        int ppid, pgrp;
        if (q && sscanf(q + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pg && state != 'Z')
            live = 1;
    }
    closedir(d);
    return live;
}

/* Wait for a child with a limit: SIGKILL it (and its group) when the grace is over. */
static int reap(pid_t pid, int *status, int killgroup) {
    double t0 = sandbox_now();
    int killed = 0;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG | __WALL);
        if (w == pid) return 0;
        if (w < 0 && errno != EINTR) return -1;
        double el = sandbox_now() - t0;
        if (el > 2.0 && !killed) {
            kill(pid, SIGKILL);
            if (killgroup) kill(-pid, SIGKILL);
            killed = 1;
        }
        if (el > 10.0) return -1; /* stuck in the kernel: give up rather than hang */
        struct timespec ts = { 0, el < 0.01 ? 200000 : 2000000 };
        nanosleep(&ts, NULL);
    }
}

/* One run in workdir (spec->dir, or a fresh directory in it: hide_dir). */
static int direct_run(const SandboxSpec *spec, const char *workdir, int hide_dir, SandboxResult *res, char *err,
                      size_t errlen) {
    const double t_start = sandbox_now();
    Child c;
    memset(&c, 0, sizeof c);
    c.spec = spec;
    c.in_fd = c.out_w = c.err_w = c.stat_w = -1;
    int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, stat_p[2] = { -1, -1 };
    int rc = -1;
    pid_t pid = -1;
    Capture co = { 0 }, ce = { 0 };
    char *envp_store[3] = { NULL, NULL, NULL };
    const int privileged = geteuid() == 0;
    if (strlen(spec->argv[0]) >= SANDBOX_EXEC_PAGE) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "argv[0] is too long", 0);
        goto out;
    }
    c.argv = (char **)spec->argv;
    c.workdir = workdir;
    if (spec->profile == SANDBOX_PROFILE_COMPILE) {
        envp_store[0] = strdup("PATH=/usr/bin:/bin");
        size_t n = strlen(c.workdir) + 8;
        envp_store[1] = malloc(n);
        if (envp_store[1]) snprintf(envp_store[1], n, "TMPDIR=%s", c.workdir);
        if (!envp_store[0] || !envp_store[1]) { sandbox_set_err(err, errlen, "sandbox_run: %s%s", "out of memory", 0); goto out; }
    }
    c.envp = envp_store;
    SandboxLimits lim;
    sandbox_limits(spec, privileged, &lim);
    c.rl_cpu = lim.cpu; c.rl_as = lim.as; c.rl_fsize = lim.fsize; c.rl_nofile = lim.nofile; c.rl_nproc = lim.nproc;
    c.setuid_nobody = privileged;
    if (sandbox_filter_failed()) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "cannot build the seccomp filter", 0);
        goto out;
    }
    c.prog = sandbox_filter(spec->profile);

    /* stdin: a sealed memfd with the data. */
    c.in_fd = sandbox_stdin_memfd(spec, err, errlen);
    if (c.in_fd < 0) goto out;
    if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(stat_p, O_CLOEXEC)) {
        sandbox_set_err(err, errlen, "sandbox_run: pipe: %s%s", "", errno);
        goto out;
    }
    struct stat dst;
    if (stat(workdir, &dst) != 0 || !S_ISDIR(dst.st_mode)) {
        sandbox_set_err(err, errlen, "sandbox_run: working dir %s: %s", workdir, errno ? errno : ENOTDIR);
        goto out;
    }
    if (privileged && chown(workdir, SANDBOX_UID, SANDBOX_GID) != 0) {
        sandbox_set_err(err, errlen, "sandbox_run: chown %s: %s", workdir, errno);
        goto out;
    }
    /* No mount namespace to hide dir from a run in one of its subdirs: as root, dir
     * becomes root's and only traversable (0711), so the program can neither list it nor
     * leave a file in it for the next run; a run in dir itself makes it nobody's again. */
    if (privileged && hide_dir && (chown(spec->dir, 0, 0) != 0 || chmod(spec->dir, 0711) != 0)) {
        sandbox_set_err(err, errlen, "sandbox_run: chown %s: %s", spec->dir, errno);
        goto out;
    }
    c.out_w = out_p[1]; c.err_w = err_p[1]; c.stat_w = stat_p[1];

    long cp = sandbox_raw_clone(0);
    if (cp == 0) init_child(&c);
    if (cp < 0) { sandbox_set_err(err, errlen, "sandbox_run: clone: %s%s", "", errno); goto out; }
    pid = (pid_t)cp;
    close(out_p[1]); out_p[1] = -1;
    close(err_p[1]); err_p[1] = -1;
    close(stat_p[1]); stat_p[1] = -1;

    fcntl(out_p[0], F_SETFL, O_NONBLOCK);
    fcntl(err_p[0], F_SETFL, O_NONBLOCK);
    const size_t cap = spec->output_bytes;
    const double wall = spec->wall_seconds > 0 ? spec->wall_seconds : 5.0;
    SandboxObserved o;
    memset(&o, 0, sizeof o);
    o.baseline_kb = -1;
    o.cpu_limit = lim.cpu.rlim_cur;
    int stat_eof = 0;
    pid_t prog_pid = -1;
    while (!o.have_done && !stat_eof) {
        int ready, w = sandbox_wait_outputs(stat_p[0], out_p[0], err_p[0], &co, &ce, cap, t_start, wall, &ready);
        if (w == 2) { o.wall_hit = 1; break; }
        if (w == 1) { o.out_hit = 1; break; }
        if (w < 0) break;
        if (ready) {
            StatusRec r;
            ssize_t k = read(stat_p[0], &r, sizeof r);
            if (k == (ssize_t)sizeof r) {
                if (r.kind == REC_DONE) { o.done = r; o.have_done = 1; }
                else if (r.kind == REC_STARTED) prog_pid = r.status;
                else if (r.kind == REC_BASELINE) o.baseline_kb = r.status;
                else if (!o.fail.kind) o.fail = r;
            } else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                stat_eof = 1;
            }
        }
    }
    /* End the tree (a no-op when init already left), reap init, drain what is left. */
    if (!o.have_done) {
        if (prog_pid > 0) {
            kill(-prog_pid, SIGKILL); /* init lives on to reap them, then leaves */
        } else {
            kill(pid, SIGKILL);
            kill(-pid, SIGKILL);
        }
    }
    int init_status = 0;
    if (reap(pid, &init_status, 1) != 0) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "the sandbox's init did not end", 0);
        pid = -1;
        goto out;
    }
    pid = -1;
    { /* No PID namespace: the group lives on until every member is gone (bounded). */
        pid_t pg = prog_pid > 0 ? prog_pid : (pid_t)cp;
        for (double t0 = sandbox_now(); sandbox_now() - t0 < 1.0;) {
            if (kill(-pg, SIGKILL) != 0 && errno == ESRCH) break;
            if (!group_has_live_members(pg)) break; /* zombies: reaped by whoever adopted them */
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    if (!o.out_hit) {
        int r1 = sandbox_capture_read(out_p[0], &co, cap), r2 = sandbox_capture_read(err_p[0], &ce, cap);
        o.out_hit = r1 > 0 || r2 > 0;
    }
    { /* a record written just before the end */
        fcntl(stat_p[0], F_SETFL, O_NONBLOCK);
        StatusRec r;
        while (!o.have_done && read(stat_p[0], &r, sizeof r) == (ssize_t)sizeof r) {
            if (r.kind == REC_DONE) { o.done = r; o.have_done = 1; }
            else if (r.kind == REC_BASELINE) o.baseline_kb = r.status;
            else if (r.kind != REC_STARTED && !o.fail.kind) o.fail = r;
        }
    }
    rc = sandbox_result_fill(spec, &o, &co, &ce, t_start, res, err, errlen);
out:
    if (pid > 0) { int s; kill(pid, SIGKILL); reap(pid, &s, 1); }
    if (rc != 0) sandbox_result_error(res);
    free(co.buf); free(ce.buf);
    const int fds[] = { out_p[0], out_p[1], err_p[0], err_p[1], stat_p[0], stat_p[1], c.in_fd };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) if (fds[i] >= 0) close(fds[i]);
    free(envp_store[0]); free(envp_store[1]);
    return rc;
}


/* dir/NAME's copy in a fresh directory made in dir (path: out), as spec.fresh_with asks:
 * the copy is root's and read-only as root (the program cannot change it), and what the
 * compiler left must be a plain file (no symlink, no FIFO; its size is bounded by the
 * compile's file limit). */
static int fresh_dir_make(const SandboxSpec *spec, char *out, size_t outlen, char *err, size_t errlen) {
    char path[PATH_MAX];
    if ((size_t)snprintf(out, outlen, "%s/runXXXXXX", spec->dir) >= outlen || !mkdtemp(out)) {
        sandbox_set_err(err, errlen, "sandbox_run: a fresh dir in %s: %s", spec->dir, errno ? errno : ENAMETOOLONG);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", spec->dir, spec->fresh_with);
    int in = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), o = -1, rc = -1;
    struct stat sb;
    if (in >= 0 && fstat(in, &sb) == 0 && S_ISREG(sb.st_mode) &&
        (size_t)snprintf(path, sizeof path, "%s/%s", out, spec->fresh_with) < sizeof path)
        o = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0555);
    if (o >= 0) {
        rc = 0;
        char buf[65536];
        for (;;) {
            ssize_t n = read(in, buf, sizeof buf);
            if (n == 0) break;
            if (n < 0 || write(o, buf, (size_t)n) != n) { rc = -1; break; }
        }
        if (close(o) != 0) rc = -1;
    }
    if (in >= 0) close(in);
    if (rc != 0) {
        sandbox_set_err(err, errlen, "sandbox_run: cannot copy %s into a fresh dir%s", spec->fresh_with, 0);
        sandbox_dir_remove(out);
    }
    return rc;
}

/* Without namespaces: a supervisor of its own per run (see the top of this file). */
int sandbox_run_direct(const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    res->outcome = SANDBOX_ERROR;
    res->violation_syscall = -1;
    if (err && errlen) err[0] = 0;
    if (!spec || !spec->argv || !spec->argv[0] || !spec->dir) {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "missing argv or dir", 0);
        return -1;
    }
    sandbox_capabilities();
    if (!spec->fresh_with) return direct_run(spec, spec->dir, 0, res, err, errlen);
    char fresh[PATH_MAX];
    if (!sandbox_name_ok(spec->fresh_with)) {
        sandbox_set_err(err, errlen, "sandbox_run: bad fresh_with \"%s\"%s", spec->fresh_with, 0);
        goto fail;
    }
    if (fresh_dir_make(spec, fresh, sizeof fresh, err, errlen) != 0) goto fail;
    /* argv's paths in dir are the copy's, in the fresh dir */
    const size_t dl = strlen(spec->dir);
    int n = 0;
    while (spec->argv[n]) n++;
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    int rc = argv ? 0 : -1;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *a = spec->argv[i];
        int in_dir = strncmp(a, spec->dir, dl) == 0 && a[dl] == '/';
        size_t len = strlen(fresh) + strlen(a) + 1;
        if (!(argv[i] = malloc(len))) rc = -1;
        else snprintf(argv[i], len, "%s%s", in_dir ? fresh : "", in_dir ? a + dl : a);
    }
    if (rc == 0) {
        SandboxSpec s = *spec;
        s.argv = (const char *const *)argv;
        rc = direct_run(&s, fresh, 1, res, err, errlen);
    } else {
        sandbox_set_err(err, errlen, "sandbox_run: %s%s", "out of memory", 0);
    }
    for (int i = 0; argv && i < n; i++) free(argv[i]);
    free(argv);
    sandbox_dir_remove(fresh);
    if (rc == 0) return 0;
fail:
    return sandbox_result_error(res);
}
