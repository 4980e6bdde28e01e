/* test_sandbox: the sandbox holds against the programs a model might write.
 *
 * The RUN-profile programs are compiled with gcc outside the sandbox (once, into a
 * directory of the test) and copied into each run's fresh sandbox dir, so this test does
 * not depend on ccrun; one test compiles inside the sandbox with the COMPILE profile.
 * Every limit is small, so the whole suite takes a few seconds, and every attack is
 * checked for what it must not leave behind: processes (the copies are named
 * t<pid>-<name>, so each test process counts only its own, via /proc), files outside the dir, the dir itself. Needs namespaces (as
 * root, or unprivileged user namespaces): without a mount namespace the canary test
 * and the session test fail, on purpose. RLVR_SANDBOX_NAMESPACES=0 runs it against the fallback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "verifiers/sandbox.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char g_bin[64]; /* the test's own directory: the compiled programs */
static char g_tag[8];  /* "t" + 4 hex digits of our pid: names stay within comm's 15 */

static const struct { const char *name, *src; } PROGS[] = {
    { "hello", "#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n" },
    { "sum", "#include <stdio.h>\nint main(void){long s=0,x;while(scanf(\"%ld\",&x)==1)s+=x;"
             "printf(\"%ld\\n\",s);return 0;}\n" },
    { "exit3", "int main(void){return 3;}\n" },
    { "abort", "#include <stdlib.h>\nint main(void){abort();}\n" },
    { "spin", "int main(void){volatile unsigned long i=0;for(;;)i++;}\n" },
    { "sleep", "#include <unistd.h>\nint main(void){for(;;)sleep(100);}\n" },
    { "membomb", "#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n"
                 "int main(void){for(;;){char*p=malloc(1<<20);if(!p){fputs(\"oom\\n\",stderr);"
                 "return 1;}memset(p,1,1<<20);}}\n" },
    { "spew", "#include <string.h>\n#include <unistd.h>\nint main(void){static char b[1<<16];"
              "memset(b,'x',sizeof b);for(long i=0;i<(1L<<30)/(long)sizeof b;i++)"
              "if(write(1,b,sizeof b)<0)return 1;return 0;}\n" },
    { "forkbomb", "#include <unistd.h>\nint main(void){for(;;)fork();}\n" },
    { "daemon", "#include <unistd.h>\n#include <stdlib.h>\nint main(void){if(fork()==0){"
                "if(fork()==0){for(;;)sleep(100);}_exit(0);}usleep(100000);return 0;}\n" },
    { "stopped", "#include <unistd.h>\n#include <signal.h>\nint main(void){pid_t p=fork();"
                 "if(p==0){raise(SIGSTOP);for(;;)sleep(1);}return 0;}\n" },
    { "shell", "#include <unistd.h>\n#include <stdio.h>\nint main(void){char*a[]={\"/bin/sh\","
               "\"-c\",\"echo pwned\",0};execv(\"/bin/sh\",a);perror(\"execv\");return 9;}\n" },
    { "net", "#include <stdio.h>\n#include <string.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n"
             "#include <arpa/inet.h>\nint main(void){int s=socket(AF_INET,SOCK_STREAM,0);if(s<0){"
             "puts(\"nosocket\");return 1;}struct sockaddr_in a;memset(&a,0,sizeof a);"
             "a.sin_family=AF_INET;a.sin_port=htons(22);a.sin_addr.s_addr=htonl(0x7f000001);"
             "if(connect(s,(void*)&a,sizeof a)<0){puts(\"noconnect\");return 1;}puts(\"connected\");"
             "return 0;}\n" },
    { "readfile", "#include <stdio.h>\nint main(int c,char**v){FILE*f=fopen(v[1],\"r\");if(!f)"
                  "{puts(\"cannot open\");return 1;}char b[256];size_t n=fread(b,1,255,f);b[n]=0;"
                  "printf(\"read:%s\",b);return 0;}\n" },
    { "writefile", "#include <stdio.h>\nint main(int c,char**v){FILE*f=fopen(v[1],\"w\");if(!f)"
                   "{puts(\"cannot create\");return 1;}fputs(\"x\",f);return fclose(f)?2:0;}\n" },
    { "x32", "#include <unistd.h>\n#include <sys/syscall.h>\n#include <stdio.h>\nint main(void){"
             "long r=syscall(0x40000000L|SYS_getpid);printf(\"x32:%ld\\n\",r);return 0;}\n" },
    { "int80", "#include <stdio.h>\nint main(void){long r;__asm__ volatile(\"int $0x80\":\"=a\"(r)"
               ":\"a\"(20L):\"memory\");printf(\"i386:%ld\\n\",r);return 0;}\n" },
    { "ptrace", "#include <sys/ptrace.h>\n#include <stdio.h>\nint main(void){long r=ptrace(PTRACE_TRACEME,"
                "0,0,0);printf(\"ptrace:%ld\\n\",r);return 0;}\n" },
    { "killall", "#include <signal.h>\n#include <stdio.h>\nint main(void){kill(-1,SIGKILL);"
                 "kill(1,SIGKILL);puts(\"alive\");return 0;}\n" },
};

/* --------------------------------------------------------------- helpers */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Processes of this test's programs (the copies are named g_tag-<name>, so that
 * sandboxes run at the same time by other tests are not counted), zombies included. */
static int count_sandbox_procs(void) {
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], line[256];
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(line, sizeof line, f) && strncmp(line, g_tag, strlen(g_tag)) == 0) n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

static void make_dir(char *dir, size_t len) {
    char err[256];
    assert_int_equal(sandbox_dir_create(dir, len, err, sizeof err), 0);
}

static void put_prog(const char *dir, const char *name) {
    char src[512], dst[512], cmd[1200];
    snprintf(src, sizeof src, "%s/%s", g_bin, name);
    snprintf(dst, sizeof dst, "%s/%s-%s", dir, g_tag, name);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
}

static SandboxSpec small_spec(const char *dir, const char *const *argv) {
    SandboxSpec s = sandbox_default_spec(SANDBOX_PROFILE_RUN);
    s.dir = dir;
    s.argv = argv;
    s.cpu_seconds = 1;
    s.wall_seconds = 3;
    s.memory_bytes = 64 << 20;
    s.file_bytes = 1 << 20;
    s.output_bytes = 1 << 20;
    s.max_processes = 8;
    return s;
}

/* Runs prog `name` in a fresh dir with the given spec tweaks; removes the dir and checks
 * it is gone. */
static void run_prog(const char *name, const char *const *args, SandboxSpec *tweak,
                     SandboxResult *res) {
    char dir[256], err[512];
    make_dir(dir, sizeof dir);
    put_prog(dir, name);
    char exe[64];
    snprintf(exe, sizeof exe, "./%s-%s", g_tag, name);
    const char *argv[8] = { exe };
    for (int i = 0; args && args[i] && i < 6; i++) argv[i + 1] = args[i];
    SandboxSpec s = tweak ? *tweak : small_spec(dir, argv);
    s.dir = dir;
    s.argv = argv;
    int rc = sandbox_run(&s, res, err, sizeof err);
    if (rc != 0) fprintf(stderr, "sandbox_run: %s\n", err);
    int removed = sandbox_dir_remove(dir); /* before any assert, so a failure leaves nothing */
    assert_int_equal(rc, 0);
    assert_int_equal(removed, 0);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0);
}

/* --------------------------------------------------------------- tests */

static void test_capabilities(void **state) {
    (void)state;
    const char *c = sandbox_capabilities();
    printf("  sandbox: %s\n", c);
    assert_non_null(strstr(c, "seccomp"));
}

static void test_hello(void **state) {
    (void)state;
    SandboxResult r;
    double t0 = now_s();
    run_prog("hello", NULL, NULL, &r);
    double t1 = now_s();
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "hello\n");
    assert_int_equal(r.err_len, 0);
    sandbox_result_free(&r);
    /* timing: a bare hello-world run, without the copy and dir handling */
    char dir[256], err[256];
    make_dir(dir, sizeof dir);
    put_prog(dir, "hello");
    char exe[64];
    snprintf(exe, sizeof exe, "./%s-hello", g_tag);
    const char *argv[] = { exe, NULL };
    SandboxSpec s = small_spec(dir, argv);
    const int n = 20;
    double t2 = now_s();
    for (int i = 0; i < n; i++) {
        assert_int_equal(sandbox_run(&s, &r, err, sizeof err), 0);
        assert_int_equal(r.outcome, SANDBOX_EXITED);
        sandbox_result_free(&r);
    }
    double t3 = now_s();
    sandbox_dir_remove(dir);
    printf("  hello world: %.1f ms per sandbox_run (first with dir+copy %.1f ms)\n",
           (t3 - t2) * 1e3 / n, (t1 - t0) * 1e3);
}

static void test_stdin(void **state) {
    (void)state;
    SandboxResult r;
    char dir[256], err[256];
    make_dir(dir, sizeof dir);
    put_prog(dir, "sum");
    char exe[64];
    snprintf(exe, sizeof exe, "./%s-sum", g_tag);
    const char *argv[] = { exe, NULL };
    SandboxSpec s = small_spec(dir, argv);
    /* more than a pipe holds */
    size_t cap = 1 << 20, len = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    long want = 0;
    for (int i = 1; len + 16 < cap; i++) { len += (size_t)sprintf(in + len, "%d\n", i); want += i; }
    s.stdin_data = in;
    s.stdin_len = len;
    assert_int_equal(sandbox_run(&s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    char buf[64];
    snprintf(buf, sizeof buf, "%ld\n", want);
    assert_string_equal(r.out, buf);
    sandbox_result_free(&r);
    free(in);
    sandbox_dir_remove(dir);
}

static void test_exit_code(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("exit3", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 3);
    sandbox_result_free(&r);
}

static void test_abort_is_sigabrt(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("abort", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_SIGNALED);
    assert_int_equal(r.signal, SIGABRT);
    sandbox_result_free(&r);
}

/* A harness with a large RSS (a loaded model): its forked copy's RSS must not be taken
 * for the program's, or every crash would look like a memory limit; and a memory bomb
 * must still be seen as one. */
static void test_big_harness_is_not_a_memory_limit(void **state) {
    (void)state;
    size_t n = 160u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 1, n);
    SandboxResult r;
    run_prog("abort", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_SIGNALED);
    assert_int_equal(r.signal, SIGABRT);
    printf("  abort under a 160 MB harness: peak RSS %ld kB\n", r.max_rss_kb);
    assert_true(r.max_rss_kb > 0 && r.max_rss_kb < 32 * 1024); /* the program's own */
    sandbox_result_free(&r);
    run_prog("membomb", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_MEMORY_LIMIT);
    sandbox_result_free(&r);
    free(big);
}

static void test_cpu_limit(void **state) {
    (void)state;
    SandboxResult r;
    /* A wall clock that cannot come first, even on a loaded machine: the CPU limit ends it. */
    SandboxSpec s = small_spec("", NULL);
    s.wall_seconds = 30;
    run_prog("spin", NULL, &s, &r);
    assert_int_equal(r.outcome, SANDBOX_TIME_LIMIT);
    assert_true(r.cpu_seconds >= 0.9);
    assert_true(r.wall_seconds < 30);
    sandbox_result_free(&r);
}

static void test_wall_limit(void **state) {
    (void)state;
    SandboxResult r;
    SandboxSpec s = small_spec(NULL, NULL);
    s.wall_seconds = 0.5;
    double t0 = now_s();
    run_prog("sleep", NULL, &s, &r);
    double el = now_s() - t0;
    assert_int_equal(r.outcome, SANDBOX_TIME_LIMIT);
    assert_true(el < 1.5);
    assert_true(r.wall_seconds >= 0.5);
    sandbox_result_free(&r);
}

/* The test's own RSS, printed next to the program's peak. */
static long self_rss_kb(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0; fclose(f); }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_memory_limit(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("membomb", NULL, NULL, &r);
    printf("  membomb: peak RSS %ld kB (limit 65536 kB), harness RSS %ld kB\n", r.max_rss_kb,
           self_rss_kb());
    assert_true(r.max_rss_kb > 32 * 1024 && r.max_rss_kb < 64 * 1024 + 1024);
    assert_int_equal(r.outcome, SANDBOX_MEMORY_LIMIT);
    assert_non_null(strstr(r.err, "oom"));
    sandbox_result_free(&r);
}

static void test_output_limit(void **state) {
    (void)state;
    SandboxResult r;
    double t0 = now_s();
    run_prog("spew", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_OUTPUT_LIMIT);
    assert_int_equal(r.out_len, 1 << 20);
    assert_true(now_s() - t0 < 2.0);
    sandbox_result_free(&r);
}

static void test_fork_bomb(void **state) {
    (void)state;
    int before = count_sandbox_procs();
    SandboxResult r;
    SandboxSpec s = small_spec(NULL, NULL);
    s.wall_seconds = 1;
    double t0 = now_s();
    run_prog("forkbomb", NULL, &s, &r);
    assert_true(now_s() - t0 < 2.5);
    assert_int_equal(r.outcome, SANDBOX_TIME_LIMIT);
    assert_int_equal(count_sandbox_procs(), before);
    sandbox_result_free(&r);
}

static void test_daemon_and_stopped_child_end_with_run(void **state) {
    (void)state;
    int before = count_sandbox_procs();
    SandboxResult r;
    run_prog("daemon", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_true(r.wall_seconds < 1.0);
    assert_int_equal(count_sandbox_procs(), before);
    sandbox_result_free(&r);
    run_prog("stopped", NULL, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(count_sandbox_procs(), before);
    sandbox_result_free(&r);
}

static void test_exec_shell_is_refused(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("shell", NULL, NULL, &r);
    assert_null(strstr(r.out, "pwned"));
    assert_true(r.outcome == SANDBOX_VIOLATION ||
                (r.outcome == SANDBOX_EXITED && r.exit_code == 9));
    printf("  execv(/bin/sh): outcome %d\n", r.outcome);
    sandbox_result_free(&r);
}

static void test_no_network(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("net", NULL, NULL, &r);
    assert_null(strstr(r.out, "connected"));
    assert_true(r.outcome == SANDBOX_VIOLATION ||
                (r.outcome == SANDBOX_EXITED && r.exit_code == 1));
    sandbox_result_free(&r);
}

static void test_files_outside_the_dir(void **state) {
    (void)state;
    char canary[] = "/tmp/rlvr-canary-XXXXXX";
    int fd = mkstemp(canary);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "SECRET\n", 7), 7);
    close(fd);
    chmod(canary, 0644); /* readable by anyone: only the mount view can hide it */
    SandboxResult r;
    const char *a1[] = { canary, NULL };
    run_prog("readfile", a1, NULL, &r);
    unlink(canary);
    assert_null(strstr(r.out, "SECRET"));
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 1);
    sandbox_result_free(&r);
    /* nothing of the host's but libraries: no /etc, no shell */
    const char *hidden[] = { "/etc/passwd", "/bin/sh", "/usr/bin/gcc", "/proc/self/status" };
    for (int i = 0; i < 4; i++) {
        const char *a2[] = { hidden[i], NULL };
        run_prog("readfile", a2, NULL, &r);
        assert_int_equal(r.exit_code, 1);
        sandbox_result_free(&r);
    }

    char outside[] = "/tmp/rlvr-outside-XXXXXX";
    fd = mkstemp(outside);
    assert_true(fd >= 0);
    close(fd);
    unlink(outside); /* a name nobody has */
    const char *a3[] = { outside, NULL };
    run_prog("writefile", a3, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 1);
    struct stat st;
    assert_int_not_equal(stat(outside, &st), 0);
    sandbox_result_free(&r);
    /* inside the dir, writing works */
    const char *a4[] = { "out.txt", NULL };
    run_prog("writefile", a4, NULL, &r);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 0);
    sandbox_result_free(&r);
}

static void test_foreign_abis_and_ptrace_are_violations(void **state) {
    (void)state;
    const char *names[] = { "x32", "int80", "ptrace" };
    for (int i = 0; i < 3; i++) {
        SandboxResult r;
        run_prog(names[i], NULL, NULL, &r);
        if (r.outcome != SANDBOX_VIOLATION) printf("  %s: outcome %d out %s\n", names[i], r.outcome, r.out);
        assert_int_equal(r.outcome, SANDBOX_VIOLATION);
        assert_int_equal(r.signal, SIGSYS);
        sandbox_result_free(&r);
    }
}

static void test_cannot_kill_outside(void **state) {
    (void)state;
    SandboxResult r;
    run_prog("killall", NULL, NULL, &r); /* we are still here afterwards */
    assert_true(r.outcome == SANDBOX_EXITED || r.outcome == SANDBOX_SIGNALED);
    sandbox_result_free(&r);
}

static void test_compile_profile(void **state) {
    (void)state;
    char dir[256], err[512], path[512];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/main.c", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(PROGS[0].src, f);
    fclose(f);
    const char *cargv[] = { "/usr/bin/gcc", "-O1", "-o", "prog", "main.c", NULL };
    SandboxSpec s = sandbox_default_spec(SANDBOX_PROFILE_COMPILE);
    s.dir = dir;
    s.argv = cargv;
    SandboxResult r;
    double t0 = now_s();
    int rc = sandbox_run(&s, &r, err, sizeof err);
    double t1 = now_s();
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    if (r.outcome != SANDBOX_EXITED || r.exit_code != 0)
        fprintf(stderr, "compile: outcome %d code %d sig %d\n%s\n", r.outcome, r.exit_code, r.signal, r.err);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 0);
    sandbox_result_free(&r);
    printf("  gcc hello.c in the COMPILE profile: %.0f ms\n", (t1 - t0) * 1e3);
    const char *argv[] = { "./prog", NULL };
    SandboxSpec rs = small_spec(dir, argv);
    assert_int_equal(sandbox_run(&rs, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_string_equal(r.out, "hello\n");
    sandbox_result_free(&r);
    /* a compile error is an exit code with the message on stderr */
    f = fopen(path, "w");
    fputs("int main(void){return x;}\n", f);
    fclose(f);
    assert_int_equal(sandbox_run(&s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_not_equal(r.exit_code, 0);
    assert_non_null(strstr(r.err, "error"));
    sandbox_result_free(&r);
    assert_int_equal(sandbox_dir_remove(dir), 0);
}

static void test_concurrent_runs(void **state) {
    (void)state;
    int fails = 0;
#pragma omp parallel for num_threads(4) reduction(+:fails)
    for (int i = 0; i < 16; i++) {
        char dir[256], err[256], cmd[800];
        SandboxResult r;
        if (sandbox_dir_create(dir, sizeof dir, err, sizeof err) != 0) { fails++; continue; }
        snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/prog'", g_bin, i % 2 ? "hello" : "exit3", dir);
        if (system(cmd) != 0) { fails++; continue; }
        const char *argv[] = { "./prog", NULL };
        SandboxSpec s = small_spec(dir, argv);
        if (sandbox_run(&s, &r, err, sizeof err) != 0) { fprintf(stderr, "run %d: %s\n", i, err); fails++; continue; }
        if (r.outcome != SANDBOX_EXITED || r.exit_code != (i % 2 ? 0 : 3) ||
            strcmp(r.out, i % 2 ? "hello\n" : "") != 0 || r.wall_seconds > 2.0) {
            fprintf(stderr, "run %d: outcome %d code %d out '%s' wall %.2f err %s\n", i, r.outcome,
                    r.exit_code, r.out, r.wall_seconds, err);
            fails++;
        }
        sandbox_result_free(&r);
        sandbox_dir_remove(dir);
    }
    assert_int_equal(fails, 0);
}

/* A session: runs one after the other in one set of namespaces. Nothing a run leaves
 * (a daemon, a file in its fresh directory) reaches the next; the fresh directory holds
 * the run's file only, read-only; a run killed at the wall clock ends the namespaces and
 * the next run gets new ones. The same holds in the fallback (a fresh directory in dir,
 * removed after the run), except that there a run in dir itself is not hidden from. */
static void test_session(void **state) {
    (void)state;
    int before = count_sandbox_procs();
    char dir[256], err[512];
    make_dir(dir, sizeof dir);
    const char *progs[] = { "daemon", "writefile", "readfile", "sleep", "hello" };
    char name[5][64], exe[5][80];
    for (int i = 0; i < 5; i++) {
        put_prog(dir, progs[i]);
        snprintf(name[i], sizeof name[i], "%s-%s", g_tag, progs[i]);
        snprintf(exe[i], sizeof exe[i], "./%s", name[i]);
    }
    SandboxSession *ss = NULL;
    assert_int_equal(sandbox_session_open(&ss, dir, err, sizeof err), 0);
    SandboxResult r;
    const char *daemon[] = { exe[0], NULL };
    SandboxSpec s = small_spec(dir, daemon);
    s.fresh_with = name[0];
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    sandbox_result_free(&r);
    assert_int_equal(count_sandbox_procs(), before); /* the daemon died with its run */
    /* A file written in a fresh dir stays there: not in dir, not in the next run's. */
    const char *write_x[] = { exe[1], "x", NULL };
    s.argv = write_x;
    s.fresh_with = name[1];
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_equal(r.exit_code, 0);
    sandbox_result_free(&r);
    char xa[400];
    snprintf(xa, sizeof xa, "%s/x", dir);
    struct stat st;
    assert_int_not_equal(stat(xa, &st), 0);
    const char *read_x[] = { exe[2], "x", NULL }, *read_up[] = { exe[2], "../x", NULL };
    const char *read_sib[] = { exe[2], name[1], NULL };  /* another file of dir */
    const char *const *reads[] = { read_x, read_up, read_sib };
    s.fresh_with = name[2];
    for (int i = 0; i < 3; i++) {
        s.argv = reads[i];
        assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
        assert_int_equal(r.outcome, SANDBOX_EXITED);
        assert_string_equal(r.out, "cannot open\n");
        sandbox_result_free(&r);
    }
    /* The run's own file is there, and read-only: writing it fails. */
    const char *write_self[] = { exe[1], name[1], NULL };
    s.argv = write_self;
    s.fresh_with = name[1];
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_int_not_equal(r.exit_code, 0);
    sandbox_result_free(&r);
    const char *sleep_[] = { exe[3], NULL }, *hello[] = { exe[4], NULL };
    s.argv = sleep_;
    s.fresh_with = name[3];
    s.wall_seconds = 0.3;
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_TIME_LIMIT);
    sandbox_result_free(&r);
    s.argv = hello;
    s.fresh_with = name[4];
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_string_equal(r.out, "hello\n");
    sandbox_result_free(&r);
    const char *bad[] = { "../a", "", ".", "x/y", "no-such-file" };  /* one file of dir, nothing else */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s.fresh_with = bad[i];
        assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), -1);
        assert_int_equal(r.outcome, SANDBOX_ERROR);
        sandbox_result_free(&r);
    }
    s.fresh_with = NULL;
    s.dir = "/tmp"; /* not the session's dir */
    assert_int_equal(sandbox_session_run(ss, &s, &r, err, sizeof err), -1);
    sandbox_result_free(&r);
    sandbox_session_close(ss);
    /* Nothing was left in dir but the programs. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));) entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 5);
    assert_int_equal(sandbox_dir_remove(dir), 0);
    assert_int_equal(count_sandbox_procs(), before);
}

/* A binary someone still has open for writing cannot be exec'd (ETXTBSY). In a threaded
 * harness another thread's clone holds such a descriptor for a moment; the program child
 * retries for up to 1 s, so a writer that closes 200 ms later delays the run, no more. */
static void *close_later(void *p) {
    struct timespec ts = { 0, 200000000 };
    nanosleep(&ts, NULL);
    close(*(int *)p);
    return NULL;
}

static void test_exec_waits_for_a_writer(void **state) {
    (void)state;
    char dir[256], err[512], exe[64], path[400];
    make_dir(dir, sizeof dir);
    put_prog(dir, "hello");
    snprintf(exe, sizeof exe, "./%s-hello", g_tag);
    snprintf(path, sizeof path, "%s/%s-hello", dir, g_tag);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, close_later, &fd), 0);
    const char *argv[] = { exe, NULL };
    SandboxSpec s = small_spec(dir, argv);
    SandboxResult r;
    int rc = sandbox_run(&s, &r, err, sizeof err);
    pthread_join(th, NULL);
    if (rc != 0) fprintf(stderr, "sandbox_run: %s\n", err);
    assert_int_equal(sandbox_dir_remove(dir), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(r.outcome, SANDBOX_EXITED);
    assert_string_equal(r.out, "hello\n");
    sandbox_result_free(&r);
}

static void test_exec_failure_is_an_error(void **state) {
    (void)state;
    char dir[256], err[256];
    make_dir(dir, sizeof dir);
    const char *argv[] = { "./missing", NULL };
    SandboxSpec s = small_spec(dir, argv);
    SandboxResult r;
    assert_int_equal(sandbox_run(&s, &r, err, sizeof err), 0 - 1);
    assert_int_equal(r.outcome, SANDBOX_ERROR);
    assert_non_null(strstr(err, "missing"));
    sandbox_result_free(&r);
    sandbox_dir_remove(dir);
}

/* --------------------------------------------------------------- fixtures */

static int setup(void **state) {
    (void)state;
    snprintf(g_tag, sizeof g_tag, "t%04x", (unsigned)getpid() & 0xffff);
    snprintf(g_bin, sizeof g_bin, "/tmp/rlvr-sbxtest-XXXXXX");
    if (!mkdtemp(g_bin)) return -1;
    chmod(g_bin, 0755);
    for (size_t i = 0; i < sizeof PROGS / sizeof *PROGS; i++) {
        char src[256], cmd[800];
        snprintf(src, sizeof src, "%s/%s.c", g_bin, PROGS[i].name);
        FILE *f = fopen(src, "w");
        if (!f) return -1;
        fputs(PROGS[i].src, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "gcc -O1 -w -o '%s/%s' '%s'", g_bin, PROGS[i].name, src);
        if (system(cmd) != 0) return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    return sandbox_dir_remove(g_bin);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_abort_is_sigabrt),
        cmocka_unit_test(test_cpu_limit),
        cmocka_unit_test(test_wall_limit),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_fork_bomb),
        cmocka_unit_test(test_daemon_and_stopped_child_end_with_run),
        cmocka_unit_test(test_exec_shell_is_refused),
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_files_outside_the_dir),
        cmocka_unit_test(test_foreign_abis_and_ptrace_are_violations),
        cmocka_unit_test(test_cannot_kill_outside),
        cmocka_unit_test(test_compile_profile),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_exec_failure_is_an_error),
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_exec_waits_for_a_writer),
        cmocka_unit_test(test_big_harness_is_not_a_memory_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
