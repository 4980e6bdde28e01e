/* ccrun: compile a model-written C program and run it against a task's tests, both
 * inside the sandbox (verifiers/sandbox.h); the reward is the fraction of tests passed.
 *
 * Two task shapes, read from the task's meta:
 *
 *   program tasks   {"tests": [{"stdin": "1 2\n", "stdout": "3\n"}, ...]}
 *                   the program reads stdin and writes stdout ("stdin" may be omitted).
 *   function tasks  {"signature": "int f(int x)", "tests": [{"call": "f(2)", "expect": "8"}, ...]}
 *                   the runner appends a main() that evaluates one call (chosen by
 *                   argv[1]) and prints its result; the function's own writes to stdout
 *                   go to stderr, so they cannot disturb the result.
 *
 * Return types a function task may have, and how the result is printed:
 *   short, int, long, long long and their unsigned forms, signed/unsigned char, size_t,
 *   ssize_t, ptrdiff_t, intN_t/uintN_t (N = 8, 16, 32, 64), intmax_t/uintmax_t
 *                          as a decimal integer
 *   char                   as the character itself
 *   bool / _Bool           "true" or "false"
 *   float, double, long double   %.9g, %.17g, %.21Lg; compared as numbers (the expected
 *                          text is parsed by strtod/strtof/strtold, and the values must be
 *                          equal exactly), so "0.1" matches 0.10000000000000001
 *   char *, const char *   the string ("NULL" for a null pointer)
 *   void                   nothing (the test passes when "expect" is "" and the call
 *                          returns normally)
 * Qualifiers (const, static, inline, extern, volatile) are ignored.
 *
 * Expected outputs never enter the sandbox: the program prints what it computes and the
 * comparison happens outside. Comparison (all other types): exact, after removing
 * trailing whitespace (space, tab, CR, VT, FF) at the end of every line and trailing
 * newlines at the end of the text.
 *
 * The completion is the C source: the last ```c (or ```C) fenced block when there is
 * one, else the last bare ``` block, else the whole completion. An unclosed fence runs
 * to the end of the text (a truncated completion still compiles what it has).
 *
 * Compiler: meta "compiler" ("gcc", "tcc", "cc" or "clang", looked up in /usr/local/bin,
 * /usr/bin, /bin), else the environment variable RLVR_CC (read when the verifier is
 * created: a name looked up the same way, or an absolute path; a name containing "tcc"
 * gets tcc's flags, anything else gcc's), else tcc when it is installed, else gcc.
 * gcc runs as `gcc -std=gnu11 -O2 -pipe -fdiagnostics-color=never -o prog prog.c -lm`, tcc as
 * `tcc -o prog prog.c -lm`. The compiler runs in the sandbox's COMPILE profile with its
 * own time, memory, file and output limits; only the first compile_output_bytes of its
 * diagnostics are kept.
 *
 * Statuses: correct (every test passed, reward 1); wrong (some output differed, or the
 * program printed nothing: reward is the fraction passed); compile_error (reward 0); and
 * when a test failed in the sandbox, the first such test's outcome: time_limit,
 * memory_limit, runtime_error (a signal, detail.signal, or a non-zero exit,
 * detail.exit_code), output_limit -- all with the reward still the fraction passed -- or
 * sandbox_violation (reward 0, and the remaining tests are not run). When a completion's
 * tests together have used run_total_seconds of wall clock (a loop that times out on each
 * of 100 tests), the remaining tests are not run and count as failed (detail.tests_run).
 * A missing, empty or malformed tests field, a bad signature or limit, an unknown
 * compiler or a sandbox failure is verifier_error with detail.reason. The program is
 * compiled once and run once per test, all in one sandbox session (one set of
 * namespaces, verifiers/sandbox.h): each test runs in a fresh directory of its own
 * holding a copy of the binary that it cannot change, and every process a test left is
 * dead before the next starts.
 *
 * Per-task limits: meta "time_limit" (CPU seconds per test, 0.1 to 60; the wall-clock
 * limit is twice that plus one second) and "memory_limit" (MB per test, 16 to 4096). */
#ifndef RLVR_CCRUN_H
#define RLVR_CCRUN_H
#include "verifiers/verifier.h"
#include <stddef.h>

typedef struct {
    const char *compiler;          /* NULL: $RLVR_CC, else tcc when installed, else gcc */
    double compile_cpu_seconds, compile_wall_seconds;
    size_t compile_memory_bytes;
    size_t compile_file_bytes;     /* the largest binary the compiler may write */
    size_t compile_output_bytes;   /* diagnostics kept */
    double run_cpu_seconds, run_wall_seconds;   /* per test, unless meta says otherwise */
    size_t run_memory_bytes;
    size_t run_file_bytes;
    size_t run_output_bytes;       /* stdout (and stderr) captured per test */
    int run_max_processes;         /* 0: the sandbox's RUN default */
    double run_total_seconds;      /* wall clock for all the tests of one completion: past
                                      it the remaining tests are not run (they fail) */
    size_t max_source_bytes;       /* a longer program is a compile_error */
} CcrunConfig;

/* The defaults: compile 10 s CPU / 20 s wall / 1 GB / 64 MB binary / 64 KB diagnostics;
 * run 2 s CPU / 5 s wall / 256 MB / 16 MB files / 16 MB output per test, 30 s for all
 * the tests of a completion; 1 MB source. */
void ccrun_config_default(CcrunConfig *c);

/* A new "ccrun" verifier (malloc'd; register it or free it with its free hook). NULL when
 * out of memory. The configuration is copied. */
Verifier *verifier_ccrun_create(void);
Verifier *verifier_ccrun_create_with(const CcrunConfig *c);

/* The compiler a verifier built from c would use by default ("/usr/bin/tcc"), or "" when
 * none is found (static storage of the verifier; for reports and tests). */
const char *ccrun_compiler_path(const Verifier *v);

/* The code of a completion (see above): sets *start and *len to the span of text. */
void ccrun_extract_code(const char *text, size_t len, size_t *start, size_t *code_len);

/* 1 when got matches expected under the comparison rule above, else 0. */
int ccrun_output_equal(const char *got, size_t got_len, const char *expected, size_t expected_len);

#endif
