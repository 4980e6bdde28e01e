/* sandbox_internal: what the sandbox's files (sandbox.c: capabilities, the view's plan,
 * the children's shared steps, results; sandbox_session.c: runs in one set of namespaces;
 * sandbox_direct.c: runs without namespaces; sandbox_seccomp.c: the filter) share with
 * each other, and nobody else. */
#ifndef RLVR_SANDBOX_INTERNAL_H
#define RLVR_SANDBOX_INTERNAL_H
#include "verifiers/sandbox.h"
#include <linux/filter.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SANDBOX_UID 65534 /* nobody: what the sandbox's root is outside, when we are root */
#define SANDBOX_GID 65534

#define FD_STAT 3 /* the status channel of init and of the program child (cloexec) */
#define FD_SYNC 4 /* init waits here until the caller has written the id maps */
#define FD_DIR 5  /* an O_PATH descriptor of the working dir, for the bind mount */
#define FD_PROC 6 /* init's O_PATH descriptor of the host's /proc (the peak memory) */

/* The profile's seccomp filter as BPF (malloc'd out->filter). RUN allows execve only with
 * the pathname pointer exec_path. Returns -1 if libseccomp fails. */
int sandbox_build_filter(SandboxProfile profile, const char *exec_path, struct sock_fprog *out);

/* Built once (sandbox_capabilities): the namespaces every run gets, the filters of both
 * profiles (NULL without seccomp or when libseccomp failed: sandbox_filter_failed), and
 * the page the final execve's path is copied into in the child, whose address is the one
 * the RUN filter allows (fixed for the process, so the filters are built once). */
int sandbox_ns_flags(void);
const struct sock_fprog *sandbox_filter(SandboxProfile profile);
int sandbox_filter_failed(void);
char *sandbox_exec_page(void);
/* A descriptor of the network namespace every session of this process joins (empty,
 * owned by the host's user namespace), or -1: each session makes its own. */
int sandbox_shared_netns(void);
#define SANDBOX_EXEC_PAGE 4096

enum { OP_MKDIR, OP_SYMLINK, OP_BIND_DIR, OP_BIND_FILE };
typedef struct {
    int kind;
    char src[64], dst[64];     /* dst relative to the new root */
    unsigned long flags;       /* remount flags for binds (ro, nosuid, nodev, + locked) */
} MountOp;
/* The filesystem view of a profile, as operations relative to the new root. */
const MountOp *sandbox_mount_plan(SandboxProfile profile, int *n);
unsigned long sandbox_locked_flags(const char *path);

/* Records on the status channel. */
enum { REC_DONE = 1, REC_SETUP_FAIL, REC_EXEC_FAIL, REC_STARTED, REC_BASELINE };
typedef struct {
    int kind, status, err;
    struct rusage ru;
    long peak_vm_kb, peak_rss_kb; /* the program's VmPeak/VmHWM at its exit, or -1 */
    long baseline_kb;             /* REC_DONE of a session: the pre-exec peak RSS, or -1 */
    char what[64];
} StatusRec;

/* Child side (only raw system calls): a record on FD_STAT; a setup failure then exit. */
void sandbox_report(int kind, int status, const char *what, int err);
_Noreturn void sandbox_die(const char *what);
void sandbox_move_fd(int from, int to, int cloexec);
/* sandbox_drop_caps: both of sandbox_drop_bounding (the bounding set emptied and the
 * securebits locked: an exec gains nothing; inherited, so a session's init does it once
 * for all its children) and sandbox_clear_caps (the effective, permitted and inheritable
 * sets emptied). */
void sandbox_drop_caps(void);
void sandbox_drop_bounding(void);
void sandbox_clear_caps(void);
int sandbox_open_status_of_child(int rfd);
int sandbox_open_status_of_pidfd(int pidfd);
void sandbox_read_peaks(int fd, long *vm, long *rss);
long sandbox_raw_clone(unsigned long flags);
void sandbox_ccopy(char *d, size_t cap, const char *s);
/* execve(path, ...), again while it fails with ETXTBSY (up to 1 s): another thread's
 * clone may hold a descriptor it had open for writing the binary until that child closes
 * its inherited descriptors, a few microseconds later. Returns only on failure. */
void sandbox_execve(const char *path, char *const argv[], char *const envp[]);
/* Init: attach to its program child (1 when it did), then wait for it (reading its peak
 * memory at its exit stop when traced), reaping orphans on the way; stfd is the child's
 * /proc/<host pid>/status (or -1), closed here. */
int sandbox_seize(long pid);
void sandbox_wait_program(long pid, int stfd, int traced, StatusRec *rec);
/* The program child's half: make itself traceable and send its host pid on pp[1]. */
void sandbox_send_host_pid(int pp[2]);
/* Init's first steps (a session of its own, subreaper of what its children leave, /proc
 * at FD_PROC) and, before it starts programs, default signal dispositions and an empty
 * mask: ignored dispositions and the mask survive execve, and the harness thread's must
 * not reach a program. Between fork and execve: system calls only. */
void sandbox_init_begin(void);
void sandbox_default_signals(void);

/* Caller side. */
double sandbox_now(void);
typedef struct { char *buf; size_t len, cap; int over, eof; } Capture;
int sandbox_capture_read(int fd, Capture *c, size_t limit);
/* One wait, of at most 100 ms and not past wall seconds after t_start, for the status
 * channel, the program's stdout (out_fd) or its stderr (err_fd), reading what the two
 * pipes have. Returns 2 when the wall clock ran out, 1 when an output went past limit,
 * -1 when poll failed or a buffer could not grow, else 0, with *status_ready set when
 * the status channel has something to read. */
int sandbox_wait_outputs(int status_fd, int out_fd, int err_fd, Capture *co, Capture *ce, size_t limit,
                         double t_start, double wall, int *status_ready);
/* name is one entry of a directory: not empty, no '/', not "." or "..", <= NAME_MAX. */
int sandbox_name_ok(const char *name);
void sandbox_set_err(char *err, size_t errlen, const char *fmt, const char *a, int e);
/* path's whole content written as text (open, write, close: system calls only). */
int sandbox_write_file(const char *path, const char *text);
/* res as a failed run (SANDBOX_ERROR, empty outputs where none were captured); -1. */
int sandbox_result_error(SandboxResult *res);

/* The limits of spec, as the program child sets them (nproc counts init when there is
 * one in the program's user: with a user namespace or as root). */
typedef struct { struct rlimit cpu, as, fsize, nofile, nproc; } SandboxLimits;
void sandbox_limits(const SandboxSpec *spec, int count_init, SandboxLimits *l);

/* What a run observed, turned into res (outcome, output, times, memory). Takes the
 * captures' buffers. Returns 0, or -1 with err set (res->outcome SANDBOX_ERROR). */
typedef struct {
    int have_done, out_hit, wall_hit;
    StatusRec done, fail;
    long baseline_kb;
    rlim_t cpu_limit;
} SandboxObserved;
int sandbox_result_fill(const SandboxSpec *spec, const SandboxObserved *o, Capture *co, Capture *ce,
                        double t_start, SandboxResult *res, char *err, size_t errlen);

/* A sealed memfd holding spec's stdin (cloexec), or -1 with err set. */
int sandbox_stdin_memfd(const SandboxSpec *spec, char *err, size_t errlen);

/* The run without namespaces (sandbox_direct.c): a supervisor of its own per run. */
int sandbox_run_direct(const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen);

#endif
