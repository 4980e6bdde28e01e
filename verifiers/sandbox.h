/* sandbox: run an untrusted program (a model-written C program, or the compiler that
 * builds it) so that it cannot harm or observe the machine, and report what it did.
 *
 * Every run gets: the caller's private working directory (created by sandbox_dir_create
 * and removed by sandbox_dir_remove); new user, PID, network, mount and IPC namespaces
 * (no network at all, the harness's processes invisible); a seccomp allowlist written
 * with libseccomp that kills the process on any other system call; rlimits on CPU time,
 * address space, file size, open files and processes; a wall-clock limit after which the
 * whole process tree is killed; stdout and stderr read while it runs and capped; an empty
 * environment. Where namespaces cannot be created it still runs with rlimits and seccomp
 * and says once (on stderr) which isolation is missing. Thread-safe: several runs may be
 * in flight at once from different threads. A session (below) runs several programs in
 * one set of namespaces, one after the other, each still a fresh process tree that sees
 * nothing the previous ones left: what ccrun uses for a program's compile and tests. */
#ifndef RLVR_SANDBOX_H
#define RLVR_SANDBOX_H
#include <stddef.h>

typedef enum {
    SANDBOX_PROFILE_COMPILE, /* a compiler: may fork and exec its own tools, read /usr */
    SANDBOX_PROFILE_RUN      /* a compiled program: no exec after its own, no fork bombs */
} SandboxProfile;

typedef struct {
    const char *const *argv;   /* argv[0] is the program (absolute, or relative to the dir) */
    const char *dir;           /* the working directory, from sandbox_dir_create */
    const char *fresh_with;    /* NULL, or a file in dir (one name): the run's working
                                  directory is then a fresh, empty one of its own holding
                                  only that file, read-only, and gone after the run (a
                                  session's test runs: nothing one leaves reaches the
                                  next). With namespaces a tmpfs of file_bytes in all; in
                                  the fallback, a directory in dir with a copy */
    SandboxProfile profile;
    const char *stdin_data;    /* may be NULL */
    size_t stdin_len;
    double cpu_seconds;        /* RLIMIT_CPU (rounded up to whole seconds by the kernel) */
    double wall_seconds;       /* the whole tree is killed after this */
    size_t memory_bytes;       /* RLIMIT_AS */
    size_t file_bytes;         /* RLIMIT_FSIZE */
    size_t output_bytes;       /* stdout and stderr are each captured up to this */
    int max_processes;         /* RLIMIT_NPROC inside the user namespace */
    int max_open_files;        /* RLIMIT_NOFILE */
} SandboxSpec;

typedef enum {
    SANDBOX_EXITED,            /* exit_code is valid */
    SANDBOX_SIGNALED,          /* killed by signal `signal` (not by us) */
    SANDBOX_TIME_LIMIT,        /* CPU or wall-clock limit */
    SANDBOX_MEMORY_LIMIT,      /* address-space limit hit (allocation failure / SIGSEGV on growth) */
    SANDBOX_OUTPUT_LIMIT,      /* stdout or stderr went past output_bytes */
    SANDBOX_VIOLATION,         /* a forbidden system call (seccomp) */
    SANDBOX_ERROR              /* the sandbox itself failed: err says why */
} SandboxOutcome;

typedef struct {
    SandboxOutcome outcome;
    int exit_code, signal;
    char *out, *err;           /* captured, NUL-terminated, malloc'd (free with sandbox_result_free) */
    size_t out_len, err_len;
    double wall_seconds, cpu_seconds;
    long max_rss_kb;
    int violation_syscall;     /* the system call number seccomp stopped, or -1 */
} SandboxResult;

/* A defaults for a small program: 2 s CPU, 5 s wall, 256 MB, 16 MB files and output... */
SandboxSpec sandbox_default_spec(SandboxProfile profile);
/* A fresh private directory under $TMPDIR (or /tmp), mode 0700. */
int  sandbox_dir_create(char *path, size_t len, char *err, size_t errlen);
/* Remove it and everything in it, whatever the program did to its permissions. */
int  sandbox_dir_remove(const char *path);
/* Run; fills res. Returns -1 only when the sandbox could not run at all (res->outcome
 * SANDBOX_ERROR and err set); every outcome of the program itself returns 0. */
int  sandbox_run(const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen);
void sandbox_result_free(SandboxResult *res);

/* A session: one set of namespaces (and one filesystem view) for several runs in the
 * same working dir, one after the other (the compile and the test runs of one program),
 * instead of a new set per run; sandbox_run is a session of one run. Each run is still a
 * fresh process tree with its own limits and profile: before a run is reported, every
 * process it left is killed and reaped, and with spec.fresh_with it sees a fresh directory
 * (files written by one run are not visible to the next). A run that hits the wall clock
 * or the output cap ends the session's namespaces; the next run opens new ones. Without
 * namespaces each run is a sandbox_run of its own. One thread at a time per session;
 * sessions of different threads share nothing. spec.dir must be the session's dir. */
typedef struct SandboxSession SandboxSession;
int  sandbox_session_open(SandboxSession **out, const char *dir, char *err, size_t errlen);
int  sandbox_session_run(SandboxSession *s, const SandboxSpec *spec, SandboxResult *res, char *err, size_t errlen);
/* Ends the namespaces (bounded wait) and frees s; the dir is the caller's to remove. */
void sandbox_session_close(SandboxSession *s);
/* Which isolation this machine allows: a one-line description ("user, pid, net, mount,
 * ipc namespaces; seccomp" or what is missing). */
const char *sandbox_capabilities(void);

#endif
