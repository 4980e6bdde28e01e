/* test_ccrun: the ccrun verifier, end to end through the sandbox: program and function
 * tasks, partial rewards, each failure status with its detail, code extraction, the
 * output comparison rule, malformed tasks, both compilers, and several threads at once.
 * Limits are kept small (1 s CPU, 2 s wall per test) so the suite runs in seconds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "verifiers/ccrun.h"
#include "verifiers/verifier.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static Verifier *g_ccrun;   /* one verifier for the whole suite, as the trainer uses it */

static Verifier *make_verifier(void) {
    CcrunConfig c;
    ccrun_config_default(&c);
    c.run_cpu_seconds = 1.0;
    c.run_wall_seconds = 2.0;
    c.run_output_bytes = 1 << 20;
    Verifier *v = verifier_ccrun_create_with(&c);
    assert_non_null(v);
    return v;
}

static int setup(void **state) {
    (void)state;
    g_ccrun = make_verifier();
    return g_ccrun ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    g_ccrun->free(g_ccrun);
    return 0;
}

static int have(const char *path) { return access(path, X_OK) == 0; }

/* Scores completion for a task whose meta is the JSON text meta_json. */
static void score(const char *meta_json, const char *completion, Verdict *v) {
    cJSON *meta = cJSON_Parse(meta_json);
    assert_non_null(meta);
    Task t = { .id = "", .prompt = "", .reference = "", .verifier = "ccrun", .meta = meta };
    assert_int_equal(verdict_init(v), 0);
    g_ccrun->score(g_ccrun, &t, completion, strlen(completion), v);
    cJSON_Delete(meta);
}

static double num(const Verdict *v, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(v->detail, key);
    if (!cJSON_IsNumber(item)) {
        char *json = verdict_to_json(v);
        fprintf(stderr, "  detail.%s missing: %s\n", key, json);
        free(json);
    }
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const char *str(const Verdict *v, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(v->detail, key);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

/* Scores and checks status and reward; returns the verdict for more checks. */
static void expect(const char *meta, const char *completion, const char *status, double reward, Verdict *v) {
    score(meta, completion, v);
    if (strcmp(v->status, status) != 0 || v->reward < reward - 1e-9 || v->reward > reward + 1e-9) {
        char *json = verdict_to_json(v);
        fprintf(stderr, "  want %s %.3f, got %s\n", status, reward, json);
        free(json);
    }
    assert_string_equal(v->status, status);
    assert_true(v->reward > reward - 1e-9 && v->reward < reward + 1e-9);
}

static void expect_only(const char *meta, const char *completion, const char *status, double reward) {
    Verdict v;
    expect(meta, completion, status, reward, &v);
    verdict_free(&v);
}

static const char *SUM_TESTS =
    "{\"tests\": [{\"stdin\": \"1 2\\n\", \"stdout\": \"3\\n\"},"
    "             {\"stdin\": \"40 2\", \"stdout\": \"42\"},"
    "             {\"stdin\": \"-5 5\\n\", \"stdout\": \"0\\n\\n\\n\"},"
    "             {\"stdin\": \"100 23\\n\", \"stdout\": \"123  \\n\"}]}";

static const char *SUM_OK =
    "#include <stdio.h>\n"
    "int main(void) { long a, b; if (scanf(\"%ld %ld\", &a, &b) != 2) return 1; printf(\"%ld\\n\", a + b); return 0; }\n";

/* ---------------------------------------------------------------- program tasks */

static void test_program_correct(void **state) {
    (void)state;
    Verdict v;
    expect(SUM_TESTS, SUM_OK, VERDICT_CORRECT, 1.0, &v);
    assert_int_equal((int)num(&v, "tests_passed"), 4);
    assert_int_equal((int)num(&v, "tests_total"), 4);
    assert_true(num(&v, "compile_ms") > 0);
    assert_true(num(&v, "run_ms") > 0);
    assert_true(str(&v, "compiler")[0] == '/');
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v.detail, "failed")), 0);
    verdict_free(&v);
}

static void test_program_partial(void **state) {
    (void)state;
    /* right only when a < 10: two of four tests */
    const char *code =
        "#include <stdio.h>\n"
        "int main(void) { int a, b; scanf(\"%d %d\", &a, &b); printf(\"%d\\n\", a < 10 ? a + b : a - b); }\n";
    Verdict v;
    expect(SUM_TESTS, code, VERDICT_WRONG, 0.5, &v);
    assert_int_equal((int)num(&v, "tests_passed"), 2);
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(v.detail, "failed");
    assert_int_equal(cJSON_GetArraySize(failed), 2);
    const cJSON *f0 = cJSON_GetArrayItem(failed, 0);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f0, "test")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "expected")->valuestring, "42");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "got")->valuestring, "38\n");
    verdict_free(&v);
}

static void test_exit_before_printing(void **state) {
    (void)state;
    const char *code = "#include <stdlib.h>\nint main(void) { exit(0); }\n";
    Verdict v;
    expect(SUM_TESTS, code, VERDICT_WRONG, 0.0, &v);
    assert_int_equal((int)num(&v, "tests_passed"), 0);
    verdict_free(&v);
}

static void test_compile_error(void **state) {
    (void)state;
    Verdict v;
    expect(SUM_TESTS, "int main(void) { return undefined_thing; }\n", VERDICT_COMPILE_ERROR, 0.0, &v);
    assert_non_null(strstr(str(&v, "stderr"), "undefined_thing"));
    assert_int_equal((int)num(&v, "tests_total"), 4);
    verdict_free(&v);
    /* no main at all is a link error: still compile_error */
    expect_only(SUM_TESTS, "int f(void) { return 1; }\n", VERDICT_COMPILE_ERROR, 0.0);
}

static void test_segfault(void **state) {
    (void)state;
    const char *code = "int main(void) { volatile int *p = 0; *p = 1; return 0; }\n";
    Verdict v;
    expect(SUM_TESTS, code, VERDICT_RUNTIME_ERROR, 0.0, &v);
    assert_int_equal((int)num(&v, "signal"), 11);
    verdict_free(&v);
}

static void test_exit_code(void **state) {
    (void)state;
    const char *code = "#include <stdio.h>\nint main(void) { fputs(\"bad input\", stderr); return 3; }\n";
    Verdict v;
    expect(SUM_TESTS, code, VERDICT_RUNTIME_ERROR, 0.0, &v);
    assert_int_equal((int)num(&v, "exit_code"), 3);
    assert_string_equal(str(&v, "stderr"), "bad input");
    verdict_free(&v);
}

static void test_time_limit(void **state) {
    (void)state;
    const char *meta = "{\"tests\": [{\"stdin\": \"\", \"stdout\": \"1\"}]}";
    Verdict v;
    expect(meta, "int main(void) { for (;;) { } }\n", VERDICT_TIME_LIMIT, 0.0, &v);
    assert_true(num(&v, "run_ms") < 5000);
    verdict_free(&v);
}

static void test_partial_then_time_limit(void **state) {
    (void)state;
    /* three tests pass, the fourth loops: the status names the failure, the reward counts */
    const char *code =
        "#include <stdio.h>\n"
        "int main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); if (a == 100) for (;;) { } printf(\"%ld\\n\", a + b); }\n";
    expect_only(SUM_TESTS, code, VERDICT_TIME_LIMIT, 0.75);
}

static void test_tests_do_not_share_state(void **state) {
    (void)state;
    /* Test 1 leaves a file in its directory and a process that starts killing everything
     * in reach 100 ms later; tests 2 and 3 wait 300 ms and look for the file: a run must
     * see neither (one session runs all of them, so this checks the session's isolation
     * between runs). The old design, every test in one directory, fails it (wrong). */
    const char *meta = "{\"tests\": [{\"stdin\": \"1\\n\", \"stdout\": \"fresh\\n\"},"
                       "{\"stdin\": \"2\\n\", \"stdout\": \"fresh\\n\"}, {\"stdin\": \"2\\n\", \"stdout\": \"fresh\\n\"}]}";
    const char *code =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <unistd.h>\n"
    "#include <signal.h>\n"
    "int main(void) {\n"
    "  int t = 0;\n"
    "  if (scanf(\"%d\", &t) != 1) return 1;\n"
    "  FILE *f = fopen(\"state\", \"r\");\n"
    "  int fresh = !f;\n"
    "  if (f) fclose(f);\n"
    "  if (t == 1) {\n"
    "    f = fopen(\"state\", \"w\"); if (f) { fputs(\"x\", f); fclose(f); }\n"
    "    f = fopen(\"../state\", \"w\"); if (f) { fputs(\"x\", f); fclose(f); }\n"
    "    f = fopen(\"/tmp/rlvr-attack/state\", \"w\"); if (f) { fputs(\"x\", f); fclose(f); }\n"
    "    if (fork() == 0) { usleep(100000); f = fopen(\"../state2\", \"w\"); if (f) fclose(f); for (;;) kill(-1, SIGKILL); }\n"
    "  } else {\n"
    "    usleep(300000);\n"
    "    f = fopen(\"../state\", \"r\"); if (f) { fresh = 0; fclose(f); }\n"
    "    f = fopen(\"../state2\", \"r\"); if (f) { fresh = 0; fclose(f); }\n"
    "  }\n"
    "  puts(fresh ? \"fresh\" : \"leaked\");\n"
    "  return 0;\n"
    "}\n"
    ;
    expect_only(meta, code, VERDICT_CORRECT, 1.0);
}

static void test_run_after_a_killed_run(void **state) {
    (void)state;
    /* The first test hits the wall clock, which ends the session's namespaces: the next
     * tests run in new ones and pass. */
    const char *code =
        "#include <stdio.h>\n"
        "int main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); if (a == 1) for (;;) { } printf(\"%ld\\n\", a + b); }\n";
    expect_only(SUM_TESTS, code, VERDICT_TIME_LIMIT, 0.75);
}

static void test_total_time(void **state) {
    (void)state;
    /* every test would time out: past run_total_seconds the rest are not run */
    CcrunConfig c;
    ccrun_config_default(&c);
    c.run_cpu_seconds = 0.5;
    c.run_wall_seconds = 1.0;
    c.run_total_seconds = 1.5;
    Verifier *v = verifier_ccrun_create_with(&c);
    assert_non_null(v);
    cJSON *meta = cJSON_Parse(SUM_TESTS);
    Task t = { .id = "", .prompt = "", .reference = "", .verifier = "ccrun", .meta = meta };
    Verdict out;
    assert_int_equal(verdict_init(&out), 0);
    const char *code = "#include <unistd.h>\nint main(void) { for (;;) pause(); }";
    v->score(v, &t, code, strlen(code), &out);
    assert_string_equal(out.status, VERDICT_TIME_LIMIT);
    assert_int_equal((int)num(&out, "tests_run"), 2);
    assert_int_equal((int)num(&out, "tests_total"), 4);
    verdict_free(&out);
    cJSON_Delete(meta);
    v->free(v);
}

static void test_output_limit(void **state) {
    (void)state;
    const char *meta = "{\"tests\": [{\"stdin\": \"\", \"stdout\": \"1\"}]}";
    const char *code = "#include <stdio.h>\nint main(void) { for (;;) puts(\"yes yes yes yes yes yes\"); }\n";
    expect_only(meta, code, VERDICT_OUTPUT_LIMIT, 0.0);
}

static void test_memory_limit(void **state) {
    (void)state;
    const char *meta = "{\"memory_limit\": 64, \"tests\": [{\"stdin\": \"\", \"stdout\": \"1\"}]}";
    const char *code =
        "#include <stdlib.h>\n#include <string.h>\n"
        "int main(void) { for (;;) { char *p = malloc(1 << 20); memset(p, 1, 1 << 20); } }\n";
    expect_only(meta, code, VERDICT_MEMORY_LIMIT, 0.0);
}

static void test_sandbox_violation(void **state) {
    (void)state;
    /* exec is refused in the RUN profile: reward 0 even when other tests passed, and
     * the remaining tests are not run */
    const char *code =
        "#include <stdio.h>\n#include <unistd.h>\n"
        "int main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); if (a == 40) execl(\"/bin/sh\", \"sh\", (char *)0);"
        " printf(\"%ld\\n\", a + b); }\n";
    Verdict v;
    expect(SUM_TESTS, code, VERDICT_SANDBOX_VIOLATION, 0.0, &v);
    assert_int_equal((int)num(&v, "tests_passed"), 1);
    assert_int_equal((int)num(&v, "tests_run"), 2);
    verdict_free(&v);
}

/* ---------------------------------------------------------------- function tasks */

static void test_function_int(void **state) {
    (void)state;
    const char *meta =
        "{\"signature\": \"int f(int x)\", \"tests\": [{\"call\": \"f(2)\", \"expect\": \"8\"},"
        " {\"call\": \"f(-3)\", \"expect\": \"-27\"}, {\"call\": \"f(10)\", \"expect\": 1000}]}";
    /* the function's own printing must not be taken for its result, and a main of its
     * own must not get in the way */
    const char *code =
        "#include <stdio.h>\n"
        "int f(int x) { printf(\"computing %d\\n\", x); return x * x * x; }\n"
        "int main(void) { return f(1); }\n";
    Verdict v;
    expect(meta, code, VERDICT_CORRECT, 1.0, &v);
    assert_int_equal((int)num(&v, "tests_passed"), 3);
    verdict_free(&v);
    expect_only(meta, "int f(int x) { return x * x * (x > 0 ? x : 1); }", VERDICT_WRONG, 2.0 / 3.0);
}

static void test_function_types(void **state) {
    (void)state;
    expect_only("{\"signature\": \"double half(double x)\", \"tests\": [{\"call\": \"half(0.2)\", \"expect\": \"0.1\"},"
                " {\"call\": \"half(1.0/3)\", \"expect\": \"0.16666666666666666\"}]}",
                "double half(double x) { return x / 2; }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"const char *greet(int n)\", \"tests\": [{\"call\": \"greet(1)\", \"expect\": \"hi\"},"
                " {\"call\": \"greet(0)\", \"expect\": \"NULL\"}]}",
                "const char *greet(int n) { return n ? \"hi\" : 0; }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"bool even(long x)\", \"tests\": [{\"call\": \"even(4)\", \"expect\": \"true\"},"
                " {\"call\": \"even(7)\", \"expect\": false}]}",
                "#include <stdbool.h>\nbool even(long x) { return x % 2 == 0; }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"unsigned long long big(void)\", \"tests\": [{\"call\": \"big()\", \"expect\": \"18446744073709551615\"}]}",
                "unsigned long long big(void) { return ~0ULL; }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"static long int neg(int x)\", \"tests\": [{\"call\": \"neg(5)\", \"expect\": \"-5\"}]}",
                "static long int neg(int x) { return -x; }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"float third(void)\", \"tests\": [{\"call\": \"third()\", \"expect\": \"0.333333343\"},"
                " {\"call\": \"third()\", \"expect\": \"0.25\"}]}",
                "float third(void) { return 1.0f / 3; }", VERDICT_WRONG, 0.5);
    expect_only("{\"signature\": \"void hello(void)\", \"tests\": [{\"call\": \"hello()\", \"expect\": \"\"}]}",
                "#include <stdio.h>\nvoid hello(void) { puts(\"hello\"); }", VERDICT_CORRECT, 1.0);
    expect_only("{\"signature\": \"char up(char c)\", \"tests\": [{\"call\": \"up('a')\", \"expect\": \"A\"}]}",
                "char up(char c) { return c - 32; }", VERDICT_CORRECT, 1.0);
    /* a crash in one call costs that test only */
    Verdict v;
    expect("{\"signature\": \"int g(int x)\", \"tests\": [{\"call\": \"g(1)\", \"expect\": \"1\"}, {\"call\": \"g(0)\", \"expect\": \"0\"}]}",
           "#include <stdlib.h>\nint g(int x) { if (!x) abort(); return x; }", VERDICT_RUNTIME_ERROR, 0.5, &v);
    assert_int_equal((int)num(&v, "signal"), 6);
    verdict_free(&v);
}

/* ---------------------------------------------------------------- code extraction */

static void assert_extract(const char *text, const char *want) {
    size_t start, len;
    ccrun_extract_code(text, strlen(text), &start, &len);
    if (len != strlen(want) || memcmp(text + start, want, len) != 0)
        fprintf(stderr, "  extracted '%.*s', want '%s'\n", (int)len, text + start, want);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text + start, want, len);
}

static void test_extract(void **state) {
    (void)state;
    assert_extract("int main(){}", "int main(){}");
    assert_extract("Here:\n```c\nint x;\n```\nDone.", "int x;\n");
    assert_extract("```python\nprint(1)\n```\n```c\nint y;\n```\n", "int y;\n");
    assert_extract("```c\nint a;\n```\nbetter:\n```C  \nint b;\n```", "int b;\n");
    assert_extract("```\nint bare;\n```\n", "int bare;\n");
    assert_extract("```c\nint bare;\n```\n```\nnot this\n```\n", "int bare;\n");
    assert_extract("truncated:\n```c\nint t;\nint u", "int t;\nint u");
    assert_extract("x ```c\nnot a fence```", "x ```c\nnot a fence```");
    assert_extract("```cpp\nint z;\n```", "```cpp\nint z;\n```");

    const char *completion =
        "The sum is easy. First I read both numbers.\n\n```c\n#include <stdio.h>\n"
        "int main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a + b); }\n```\n"
        "This prints the sum.";
    expect_only(SUM_TESTS, completion, VERDICT_CORRECT, 1.0);
}

static void test_output_equal(void **state) {
    (void)state;
#define EQ(a, b) ccrun_output_equal(a, strlen(a), b, strlen(b))
    assert_true(EQ("3\n", "3"));
    assert_true(EQ("3  \t\r\n\n\n", "3"));
    assert_true(EQ("a \nb\n", "a\nb"));
    assert_true(EQ("", "\n\n"));
    assert_true(EQ("a\r\nb\r\n", "a\nb\n"));
    assert_false(EQ("3", "4"));
    assert_false(EQ(" 3", "3"));
    assert_false(EQ("a\n\nb", "a\nb"));
    assert_false(EQ("a\nb", "a"));
    assert_false(EQ("", "0"));
#undef EQ
}

/* ---------------------------------------------------------------- bad tasks */

static void expect_verifier_error(const char *meta, const char *reason_part) {
    Verdict v;
    expect(meta, SUM_OK, VERDICT_VERIFIER_ERROR, 0.0, &v);
    const char *reason = str(&v, "reason");
    if (!strstr(reason, reason_part)) fprintf(stderr, "  reason '%s' lacks '%s'\n", reason, reason_part);
    assert_non_null(strstr(reason, reason_part));
    verdict_free(&v);
}

static void test_malformed_tests(void **state) {
    (void)state;
    expect_verifier_error("{}", "no \"tests\"");
    expect_verifier_error("{\"tests\": \"1 2 -> 3\"}", "not an array");
    expect_verifier_error("{\"tests\": []}", "empty");
    expect_verifier_error("{\"tests\": [3]}", "tests[0] is not an object");
    expect_verifier_error("{\"tests\": [{\"stdin\": \"1 2\", \"stdout\": \"3\"}, {\"stdin\": \"1\"}]}", "tests[1].stdout");
    expect_verifier_error("{\"tests\": [{\"stdin\": 5, \"stdout\": \"3\"}]}", "tests[0].stdin");
    expect_verifier_error("{\"signature\": \"f(int x)\", \"tests\": [{\"call\": \"f(1)\", \"expect\": \"1\"}]}", "signature");
    expect_verifier_error("{\"signature\": \"struct p f(int x)\", \"tests\": [{\"call\": \"f(1)\", \"expect\": \"1\"}]}",
                          "not supported");
    expect_verifier_error("{\"signature\": \"int double f(int x)\", \"tests\": [{\"call\": \"f(1)\", \"expect\": \"1\"}]}",
                          "not supported");
    expect_verifier_error("{\"signature\": \"int *f(int x)\", \"tests\": [{\"call\": \"f(1)\", \"expect\": \"1\"}]}",
                          "pointer");
    expect_verifier_error("{\"signature\": \"int f(int x)\", \"tests\": [{\"call\": \"f(1)\"}]}", "tests[0].expect");
    expect_verifier_error("{\"signature\": \"int f(int x)\", \"tests\": [{\"call\": \"f(1); }\", \"expect\": \"1\"}]}",
                          "one expression");
    expect_verifier_error("{\"compiler\": \"/bin/sh\", \"tests\": [{\"stdout\": \"1\"}]}", "compiler");
    expect_verifier_error("{\"time_limit\": 1000, \"tests\": [{\"stdout\": \"1\"}]}", "time_limit");
}

/* ---------------------------------------------------------------- compilers */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Both compilers give the same verdicts; prints the median compile+run time of each. */
static void test_compilers(void **state) {
    (void)state;
    const char *names[] = { "gcc", "tcc" };
    for (int c = 0; c < 2; c++) {
        char path[64];
        snprintf(path, sizeof path, "/usr/bin/%s", names[c]);
        if (!have(path)) { printf("  %s not installed: skipped\n", names[c]); continue; }
        char meta[512];
        snprintf(meta, sizeof meta, "{\"compiler\": \"%s\", \"tests\": [{\"stdin\": \"1 2\", \"stdout\": \"3\"}]}", names[c]);
        double t[5], compile[5];
        for (int i = 0; i < 5; i++) {
            Verdict v;
            double t0 = now_ms();
            expect(meta, SUM_OK, VERDICT_CORRECT, 1.0, &v);
            t[i] = now_ms() - t0;
            compile[i] = num(&v, "compile_ms");
            assert_string_equal(str(&v, "compiler"), path);
            verdict_free(&v);
        }
        qsort(t, 5, sizeof t[0], cmp_double);
        qsort(compile, 5, sizeof compile[0], cmp_double);
        printf("  %s: compile+run of a small correct program %.1f ms (median of 5; compile %.1f ms)\n",
               names[c], t[2], compile[2]);
        snprintf(meta, sizeof meta, "{\"compiler\": \"%s\", \"tests\": [{\"stdin\": \"1 2\", \"stdout\": \"3\"}]}", names[c]);
        expect_only(meta, "int main(void) { return nope; }", VERDICT_COMPILE_ERROR, 0.0);
    }
}

/* ---------------------------------------------------------------- threads */

typedef struct { int wrong; int errors; } ThreadArg;

static void *thread_main(void *p) {
    ThreadArg *a = p;
    cJSON *meta = cJSON_Parse(SUM_TESTS);
    Task t = { .id = "", .prompt = "", .reference = "", .verifier = "ccrun", .meta = meta };
    const char *bad = "#include <stdio.h>\nint main(void) { int a, b; scanf(\"%d %d\", &a, &b); printf(\"%d\\n\", a < 10 ? a + b : 0); }";
    for (int i = 0; i < 3; i++) {
        Verdict v;
        if (verdict_init(&v)) { a->errors++; continue; }
        const char *code = a->wrong ? bad : SUM_OK;
        g_ccrun->score(g_ccrun, &t, code, strlen(code), &v);
        double want = a->wrong ? 0.5 : 1.0;
        if (strcmp(v.status, a->wrong ? VERDICT_WRONG : VERDICT_CORRECT) != 0 || v.reward != want) {
            char *json = verdict_to_json(&v);
            fprintf(stderr, "  thread verdict: %s\n", json ? json : "?");
            free(json);
            a->errors++;
        }
        verdict_free(&v);
    }
    cJSON_Delete(meta);
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    pthread_t th[4];
    ThreadArg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (ThreadArg){ .wrong = i % 2, .errors = 0 };
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
    }
}

static void test_registered(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(verifiers_register_builtins(err, sizeof err), 0);
    const Verifier *v = verifier_find("ccrun");
    assert_non_null(v);
    assert_string_equal(v->name, "ccrun");
    verifier_registry_free();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_equal),
        cmocka_unit_test(test_extract),
        cmocka_unit_test(test_program_correct),
        cmocka_unit_test(test_program_partial),
        cmocka_unit_test(test_exit_before_printing),
        cmocka_unit_test(test_compile_error),
        cmocka_unit_test(test_segfault),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_partial_then_time_limit),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_total_time),
        cmocka_unit_test(test_tests_do_not_share_state),
        cmocka_unit_test(test_run_after_a_killed_run),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_sandbox_violation),
        cmocka_unit_test(test_function_int),
        cmocka_unit_test(test_function_types),
        cmocka_unit_test(test_malformed_tests),
        cmocka_unit_test(test_compilers),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_registered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
