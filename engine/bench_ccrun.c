/* bench_ccrun: the ccrun part of `rlvr bench verify`. Compile + run of one small correct
 * program (a program task: read two ints, print their sum; one test, then six), per compiler (gcc,
 * tcc where installed) and per worker count (1, 2: OpenMP threads, each compiling and
 * running its own program in its own directory), measured three ways in the same run:
 *
 *   sandbox  through the ccrun verifier (verifiers/sandbox.h: namespaces, seccomp, limits)
 *   bare     the same compile command and run, fork/exec in a temporary directory, with a
 *            wall-clock timeout and nothing else
 *   bwrap    the same two commands each inside bubblewrap (--unshare-all, /usr read-only,
 *            the directory bound at /work)
 *
 * Every variant does the same work per program: make a directory, write prog.c, compile,
 * run with the test's stdin, compare stdout, remove the directory. A second line per
 * compiler and worker count does it for a program with 6 tests (what training verifies:
 * 5-8 tests a program): one compile, then 6 runs, each with its own stdin and expected
 * output; bare runs them as 6 fork/execs in the one directory, bwrap as 6 bwrap
 * invocations (a fresh sandbox each, as one would use it), the sandbox as ccrun does (one
 * session, each test in a fresh directory of its own). The variants are
 * interleaved in short batches (rotating order) until each has run for about 2 seconds
 * and at least 10 programs, so a noisy machine slows them alike. A last line measures
 * the fixed cost of one exec of the compiled program each way (the spawn overhead, without
 * the compiler). */
#define _GNU_SOURCE
#include "engine/bench.h"
#include "engine/util.h"
#include "tasks/task.h"
#include "verifiers/ccrun.h"
#include "verifiers/sandbox.h"
#include "verifiers/verifier.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWRAP "/usr/bin/bwrap"

static const char PROG[] =
    "#include <stdio.h>\n"
    "int main(void) {\n"
    "    long a, b;\n"
    "    if (scanf(\"%ld %ld\", &a, &b) != 2) return 1;\n"
    "    printf(\"%ld\\n\", a + b);\n"
    "    return 0;\n"
    "}\n";
static const char STDIN[] = "3 4\n";
static const char WANT[] = "7\n";
#define MULTI_TESTS 6  /* the multi-test lines: what training verifies (5-8 tests a program) */

/* Test i of a program: stdin "i+3 4", expected i+7. */
static void test_io(int i, char *in, size_t inlen, char *want, size_t wantlen) {
    snprintf(in, inlen, "%d 4\n", i + 3);
    snprintf(want, wantlen, "%d\n", i + 7);
}

enum { V_SANDBOX, V_BARE, V_BWRAP, NV };
static const char *const VNAME[NV] = { "sandbox", "bare", "bwrap" };

static int find_compiler(const char *name, char *out, size_t outlen) {
    static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(out, outlen, "%s/%s", dirs[i], name);
        if (access(out, X_OK) == 0) return 0;
    }
    return -1;
}

/* Runs argv (argv[0] a path) in dir with envp, stdin from in, stdout (and stderr) into
 * out (up to outcap-1 bytes, NUL-terminated). Kills the process group after wall_s.
 * Returns the exit status (0-255), or -1 on a signal, timeout or failure to start. */
static int spawn_wait(char *const argv[], char *const envp[], const char *dir, const char *in, size_t in_len,
                      char *out, size_t outcap, double wall_s) {
    int op[2], ip[2];
    if (pipe2(op, O_CLOEXEC)) return -1;
    if (pipe2(ip, O_CLOEXEC)) { close(op[0]); close(op[1]); return -1; }
    /* The stdin is tiny (well under a pipe's buffer): written before the fork. */
    if (in_len && write(ip[1], in, in_len) != (ssize_t)in_len) {}
    close(ip[1]);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(dir) != 0) _exit(127);
        dup2(ip[0], 0);
        dup2(op[1], 1);
        dup2(op[1], 2);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(ip[0]);
    close(op[1]);
    if (pid < 0) { close(op[0]); return -1; }
    setpgid(pid, pid);   /* also from here, so the kill below finds the group at once */
    size_t n = 0;
    int timed_out = 0;
    double t0 = util_now();
    for (;;) {
        double left = wall_s - (util_now() - t0);
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd pf = { op[0], POLLIN, 0 };
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char tmp[4096];
        ssize_t k = read(op[0], tmp, sizeof tmp);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        size_t take = (size_t)k < outcap - 1 - n ? (size_t)k : outcap - 1 - n;
        memcpy(out + n, tmp, take);
        n += take;
    }
    out[n] = 0;
    close(op[0]);
    if (timed_out) kill(-pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (timed_out || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

typedef struct {
    char cc[256];
    int tcc;
    int ntests;        /* test runs per program, after its one compile */
    Verifier *ver;
    cJSON *meta;
    int have_bwrap;
} Bench;

/* The compiler's argv, as ccrun builds it (cc first). */
static int cc_argv(const Bench *b, const char **av) {
    int k = 0;
    av[k++] = b->cc;
    if (!b->tcc) {
        av[k++] = "-std=gnu11"; av[k++] = "-O2"; av[k++] = "-pipe"; av[k++] = "-fdiagnostics-color=never";
    }
    av[k++] = "-o"; av[k++] = "prog"; av[k++] = "prog.c"; av[k++] = "-lm";
    av[k] = NULL;
    return k;
}

/* bwrap's prefix for a command run in dir; compile gets PATH and TMPDIR as ccrun gives. */
static int bwrap_prefix(const char **av, const char *dir, int compile) {
    static const char *const pre[] = { BWRAP, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
                                       "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                                       "--symlink", "usr/bin", "/bin", "--dev", "/dev", "--proc", "/proc" };
    int k = 0;
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) av[k++] = pre[i];
    av[k++] = "--bind"; av[k++] = dir; av[k++] = "/work";
    av[k++] = "--chdir"; av[k++] = "/work";
    av[k++] = "--clearenv";
    if (compile) {
        av[k++] = "--setenv"; av[k++] = "PATH"; av[k++] = "/usr/bin:/bin";
        av[k++] = "--setenv"; av[k++] = "TMPDIR"; av[k++] = "/work";
    }
    av[k++] = "--";
    return k;
}

/* One program compiled and run outside the verifier (bare or in bwrap). 0 when it
 * printed the right answer. */
static int one_direct(const Bench *b, int bwrap) {
    char dir[512], err[256];
    if (sandbox_dir_create(dir, sizeof dir, err, sizeof err)) return -1;
    int ok = -1;
    char path[600], out[4096];
    snprintf(path, sizeof path, "%s/prog.c", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        int w = fputs(PROG, f) >= 0;
        if (fclose(f) == 0 && w) {
            char tmpdir[600];
            snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", dir);
            char *env_cc[] = { "PATH=/usr/bin:/bin", tmpdir, NULL };
            char *env_none[] = { NULL };
            const char *av[64];
            int k = bwrap ? bwrap_prefix(av, dir, 1) : 0;
            cc_argv(b, av + k);
            if (spawn_wait((char *const *)av, bwrap ? env_none : env_cc, dir, NULL, 0, out, sizeof out, 20.0) == 0) {
                k = bwrap ? bwrap_prefix(av, dir, 0) : 0;
                av[k++] = bwrap ? "/work/prog" : "./prog";
                av[k] = NULL;
                ok = 0;
                for (int i = 0; i < b->ntests && ok == 0; i++) {
                    char in[32], want[32];
                    test_io(i, in, sizeof in, want, sizeof want);
                    if (spawn_wait((char *const *)av, env_none, dir, in, strlen(in), out, sizeof out, 5.0) != 0 ||
                        !ccrun_output_equal(out, strlen(out), want, strlen(want)))
                        ok = -1;
                }
            }
        }
    }
    sandbox_dir_remove(dir);
    return ok;
}

/* One program through the ccrun verifier. 0 when the verdict is correct. */
static int one_sandbox(const Bench *b, char *status, size_t statuslen) {
    Task t = { .id = "", .prompt = "", .reference = "", .verifier = "ccrun", .meta = b->meta };
    Verdict v;
    if (verdict_init(&v)) return -1;
    b->ver->score(b->ver, &t, PROG, strlen(PROG), &v);
    int ok = !strcmp(v.status, VERDICT_CORRECT) ? 0 : -1;
    if (ok && status) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(v.detail, "reason");
        snprintf(status, statuslen, "%s%s%s", v.status, cJSON_IsString(r) ? ": " : "", cJSON_IsString(r) ? r->valuestring : "");
    }
    verdict_free(&v);
    return ok;
}

static int one(const Bench *b, int variant) {
    return variant == V_SANDBOX ? one_sandbox(b, NULL, 0) : one_direct(b, variant == V_BWRAP);
}

/* Does bwrap work here (for this compiler)? */
static int bwrap_works(const Bench *b) {
    return access(BWRAP, X_OK) == 0 && one_direct(b, 1) == 0;
}

static void print_num(const char *key, double v, int valid) {
    if (valid) printf(",\"%s\":%.3g", key, v);
    else printf(",\"%s\":null", key);
}

/* One line: compiler b at `workers` workers. */
static void measure(const Bench *b, const char *name, int workers, double seconds) {
    double t[NV] = { 0 };
    long progs[NV] = { 0 }, fails[NV] = { 0 };
    int active[NV] = { 1, 1, b->have_bwrap };
    const int per_batch = 2;   /* programs per worker per batch */
    for (int round = 0;; round++) {
        int done = 1;
        for (int v = 0; v < NV; v++)
            if (active[v] && (t[v] < seconds || progs[v] < 10)) done = 0;
        if (done) break;
        for (int j = 0; j < NV; j++) {
            int v = (round + j) % NV;
            if (!active[v]) continue;
            long bad = 0;
            double t0 = util_now();
#pragma omp parallel num_threads(workers) reduction(+ : bad)
            for (int i = 0; i < per_batch; i++) bad += one(b, v) != 0;
            t[v] += util_now() - t0;
            progs[v] += (long)workers * per_batch;
            fails[v] += bad;
            /* A variant that fails every program is not measuring anything: stop it. */
            if (fails[v] == progs[v] && progs[v] >= 4) active[v] = 0;
        }
        if (round > 10000) break;
    }
    double rate[NV];
    int ok[NV];
    for (int v = 0; v < NV; v++) {
        ok[v] = progs[v] > 0 && fails[v] == 0;
        rate[v] = progs[v] > 0 ? progs[v] / t[v] : 0;
    }
    printf("{\"bench\":\"verify\",\"what\":\"ccrun\",\"compiler\":\"%s\",\"workers\":%d,\"tests\":%d", name, workers,
           b->ntests);
    for (int v = 0; v < NV; v++) print_num(v == V_SANDBOX ? "sandbox_per_s" : v == V_BARE ? "bare_per_s" : "bwrap_per_s",
                                           rate[v], ok[v]);
    /* time ratios: sandbox time per program over the peer's */
    print_num("sandbox_over_bare", rate[V_BARE] / rate[V_SANDBOX], ok[V_SANDBOX] && ok[V_BARE]);
    print_num("sandbox_over_bwrap", rate[V_BWRAP] / rate[V_SANDBOX], ok[V_SANDBOX] && ok[V_BWRAP]);
    printf(",\"programs\":{\"sandbox\":%ld,\"bare\":%ld,\"bwrap\":%ld}", progs[0], progs[1], progs[2]);
    if (!b->have_bwrap) printf(",\"bwrap\":\"unavailable\"");
    for (int v = 0; v < NV; v++)
        if (progs[v] > 0 && fails[v]) printf(",\"%s_failed\":%ld", VNAME[v], fails[v]);
    printf("}\n");
    fflush(stdout);
}

/* The fixed cost of one exec of a compiled program (no compiler): milliseconds per run
 * of ./prog bare, in the sandbox's RUN profile, and in bwrap. */
/* dir (fresh) with prog.c compiled bare into prog; 0 on success. */
static int prepared_dir(const Bench *b, char *dir, size_t dirlen) {
    char err[256], path[600], out[4096], tmpdir[600];
    if (sandbox_dir_create(dir, dirlen, err, sizeof err)) return -1;
    snprintf(path, sizeof path, "%s/prog.c", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fputs(PROG, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", dir);
    char *env_cc[] = { "PATH=/usr/bin:/bin", tmpdir, NULL };
    const char *av[16];
    cc_argv(b, av);
    if (!ok || spawn_wait((char *const *)av, env_cc, dir, NULL, 0, out, sizeof out, 20.0) != 0) {
        sandbox_dir_remove(dir);
        return -1;
    }
    return 0;
}

/* The fixed cost of one exec of a compiled program (no compiler): milliseconds per run
 * of ./prog bare, in the sandbox's RUN profile, and in bwrap. The sandbox gets a directory
 * of its own (it hands its directory to its unprivileged user; bwrap's user namespace,
 * which maps only root, could not then enter it). */
static void measure_spawn(const Bench *b) {
    char dir[512], sdir[512], err[256], out[4096];
    if (prepared_dir(b, dir, sizeof dir)) return;
    if (prepared_dir(b, sdir, sizeof sdir)) { sandbox_dir_remove(dir); return; }
    const char *av[64];
    char *env_none[] = { NULL };
    double t[NV] = { 0 };
    long n[NV] = { 0 }, bad[NV] = { 0 };
    char prog[600], sprog[600];
    snprintf(prog, sizeof prog, "%s/prog", dir);
    snprintf(sprog, sizeof sprog, "%s/prog", sdir);
    for (int round = 0; round < 400; round++) {
        int done = 1;
        for (int v = 0; v < NV; v++)
            if ((v != V_BWRAP || b->have_bwrap) && (t[v] < 0.5 || n[v] < 20)) done = 0;
        if (done) break;
        for (int j = 0; j < NV; j++) {
            int v = (round + j) % NV;
            if (v == V_BWRAP && !b->have_bwrap) continue;
            double t0 = util_now();
            for (int i = 0; i < 5; i++) {
                int ok = 0;
                if (v == V_SANDBOX) {
                    const char *argv_prog[] = { sprog, NULL };
                    SandboxSpec spec = sandbox_default_spec(SANDBOX_PROFILE_RUN);
                    spec.argv = argv_prog;
                    spec.dir = sdir;
                    spec.stdin_data = STDIN;
                    spec.stdin_len = strlen(STDIN);
                    SandboxResult res;
                    memset(&res, 0, sizeof res);
                    ok = sandbox_run(&spec, &res, err, sizeof err) == 0 && res.outcome == SANDBOX_EXITED &&
                         res.exit_code == 0 && res.out && ccrun_output_equal(res.out, res.out_len, WANT, strlen(WANT));
                    sandbox_result_free(&res);
                } else {
                    int k = v == V_BWRAP ? bwrap_prefix(av, dir, 0) : 0;
                    av[k++] = v == V_BWRAP ? "/work/prog" : prog;
                    av[k] = NULL;
                    ok = spawn_wait((char *const *)av, env_none, dir, STDIN, strlen(STDIN), out, sizeof out, 5.0) == 0 &&
                         ccrun_output_equal(out, strlen(out), WANT, strlen(WANT));
                }
                bad[v] += !ok;
            }
            t[v] += util_now() - t0;
            n[v] += 5;
        }
    }
    printf("{\"bench\":\"verify\",\"what\":\"spawn\",\"run\":\"./prog, one exec, no compiler\"");
    print_num("sandbox_ms", 1000 * t[V_SANDBOX] / n[V_SANDBOX], n[V_SANDBOX] && !bad[V_SANDBOX]);
    print_num("bare_ms", 1000 * t[V_BARE] / n[V_BARE], n[V_BARE] && !bad[V_BARE]);
    print_num("bwrap_ms", n[V_BWRAP] ? 1000 * t[V_BWRAP] / n[V_BWRAP] : 0, n[V_BWRAP] && !bad[V_BWRAP]);
    printf(",\"isolation\":\"%s\"}\n", sandbox_capabilities());
    fflush(stdout);
    sandbox_dir_remove(dir);
    sandbox_dir_remove(sdir);
}

int bench_ccrun(double seconds) {
    static const char *const names[] = { "gcc", "tcc" };
    Verifier *ver = verifier_ccrun_create();
    if (!ver) { fprintf(stderr, "rlvr bench verify: out of memory\n"); return 1; }
    Bench last = { .ver = NULL };
    int have_last = 0;
    for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
        Bench b;
        memset(&b, 0, sizeof b);
        b.ver = ver;
        if (find_compiler(names[c], b.cc, sizeof b.cc)) {
            printf("{\"bench\":\"verify\",\"what\":\"ccrun\",\"compiler\":\"%s\",\"available\":false,"
                   "\"reason\":\"%s is not installed\"}\n", names[c], names[c]);
            fflush(stdout);
            continue;
        }
        b.tcc = c == 1;
        for (int nt = 1; nt <= MULTI_TESTS; nt += MULTI_TESTS - 1) {
            b.ntests = nt;
            char meta[1024];
            int k = snprintf(meta, sizeof meta, "{\"compiler\":\"%s\",\"tests\":[", names[c]);
            for (int i = 0; i < nt; i++) {
                char in[32], want[32];
                test_io(i, in, sizeof in, want, sizeof want);
                in[strlen(in) - 1] = 0; want[strlen(want) - 1] = 0; /* the newline, written as \n below */
                k += snprintf(meta + k, sizeof meta - (size_t)k, "%s{\"stdin\":\"%s\\n\",\"stdout\":\"%s\\n\"}",
                              i ? "," : "", in, want);
            }
            snprintf(meta + k, sizeof meta - (size_t)k, "]}");
            b.meta = cJSON_Parse(meta);
            if (!b.meta) { fprintf(stderr, "rlvr bench verify: out of memory\n"); ver->free(ver); return 1; }
            if (nt == 1) b.have_bwrap = bwrap_works(&b);
            char status[400] = "";
            if (one_sandbox(&b, status, sizeof status))
                fprintf(stderr, "rlvr bench verify: the ccrun verifier does not pass the %s program (%s)\n", names[c],
                        status[0] ? status : "no verdict");
            for (int w = 1; w <= 2; w++) measure(&b, names[c], w, seconds);
            if (!have_last) { last = b; have_last = 1; last.meta = NULL; }
            cJSON_Delete(b.meta);
        }
    }
    if (have_last) measure_spawn(&last);
    ver->free(ver);
    return 0;
}
