/* test_gen_tasks: the Lua task generators in lua/generators/.
 *
 * c_tasks: every family of every level, several draws each, is turned into a Task (as a
 * curriculum would: prompt, reference, verifier and the meta fields at the top level)
 * and its reference is scored by the registered ccrun verifier, which must give reward 1
 * (one draw per family also with gcc, when the default compiler is tcc). Two wrong
 * solutions per family (the reference with its result off by one, and one returning 0)
 * must score below 1. The shape of each task is checked (signature in the prompt, 4 to 8
 * tests with distinct calls and not all the same expected value), and so are seeds (the
 * same seed gives the same tasks, another seed others), answer_only and bad arguments.
 *
 * countdown: over 2,400 draws across seeds, sizes and ranges every reference scores 1
 * with lua/verifiers/countdown.lua (loaded with luaverifier_load and registered), the
 * numbers are in range and every target is a positive integer.
 *
 * Run from the repository root (the Lua root is "lua"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lua/host.h"
#include "lua/verifier_lua.h"
#include "tasks/task.h"
#include "verifiers/ccrun.h"
#include "verifiers/verifier.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define DRAWS_PER_FAMILY 3   /* draws of each c_tasks family scored with the default compiler */

static double now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec * 1e-6;
}

static int setup(void **state) {
    (void)state;
    char err[512];
    if (verifiers_register_builtins(err, sizeof err)) {
        fprintf(stderr, "register builtins: %s\n", err);
        return -1;
    }
    Verifier *cd = luaverifier_load("lua/verifiers/countdown.lua", NULL, err, sizeof err);
    if (!cd) {
        fprintf(stderr, "load countdown: %s\n", err);
        return -1;
    }
    if (verifier_register(cd, err, sizeof err)) {
        fprintf(stderr, "register countdown: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    verifier_registry_free();
    return 0;
}

/* ---------------------------------------------------------------- Lua helpers */

static LuaHost *host(uint64_t seed) {
    LuaHost *h;
    char err[256];
    LuaHostLimits lim = { 0 };
    lim.root = "lua";
    lim.seed = seed;
    int rc = luahost_new(&h, &lim, err, sizeof err);
    if (rc) fprintf(stderr, "luahost_new: %s\n", err);
    assert_int_equal(rc, 0);
    return h;
}

/* Converts the value at 1 into the cJSON object (lightuserdata at 2) under "v". */
static int to_json_cf(lua_State *L) {
    cJSON *parent = lua_touserdata(L, 2);
    luahost_add_json(L, 1, parent, "v", 0);
    return 0;
}

/* Runs a chunk and returns its result as JSON (the caller owns it), or NULL with the Lua
 * error in err. */
static cJSON *eval_json(LuaHost *h, const char *code, char *err, size_t errlen) {
    lua_State *L = luahost_state(h);
    if (luaL_loadbufferx(L, code, strlen(code), "=test", "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    if (luahost_pcall(h, 0, 1, err, errlen)) return NULL;
    cJSON *parent = cJSON_CreateObject();
    assert_non_null(parent);
    lua_pushcfunction(L, to_json_cf);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, parent);
    if (luahost_pcall(h, 2, 0, err, errlen)) {
        cJSON_Delete(parent);
        return NULL;
    }
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(parent, "v");
    cJSON_Delete(parent);
    return v;
}

static cJSON *eval_ok(LuaHost *h, const char *code) {
    char err[1024];
    cJSON *j = eval_json(h, code, err, sizeof err);
    if (!j) fprintf(stderr, "  lua failed: %s\n  in: %s\n", err, code);
    assert_non_null(j);
    return j;
}

/* The chunk must fail with an error containing needle. */
static void eval_fails(LuaHost *h, const char *code, const char *needle) {
    char err[1024] = "";
    cJSON *j = eval_json(h, code, err, sizeof err);
    if (j || !strstr(err, needle)) fprintf(stderr, "  want an error with '%s' from %s, got '%s'\n", needle, code, err);
    cJSON_Delete(j);
    assert_null(j);
    assert_non_null(strstr(err, needle));
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) fprintf(stderr, "  field %s is not a string\n", key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* A generated task {prompt, reference, verifier, meta} as a Task: the meta members go to
 * the top level, as in a dataset line. compiler (may be NULL) is added to meta. */
static void make_task(const cJSON *gen, Task *t, const char *compiler) {
    cJSON *line = cJSON_CreateObject();
    assert_non_null(line);
    const char *fields[] = { "prompt", "reference", "verifier" };
    for (int i = 0; i < 3; i++) cJSON_AddStringToObject(line, fields[i], jstr(gen, fields[i]));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(gen, "meta");
    assert_true(cJSON_IsObject(meta));
    const cJSON *m;
    cJSON_ArrayForEach(m, meta) cJSON_AddItemToObject(line, m->string, cJSON_Duplicate(m, 1));
    if (compiler) cJSON_AddStringToObject(line, "compiler", compiler);
    char err[256];
    int rc = task_from_json(t, line, NULL, err, sizeof err);
    if (rc) fprintf(stderr, "  task_from_json: %s\n", err);
    assert_int_equal(rc, 0);
    cJSON_Delete(line);
}

/* ---------------------------------------------------------------- c_tasks */

/* The code inside a reference "```c\n...\n```" (malloc'd). */
static char *reference_code(const char *ref) {
    size_t n = strlen(ref);
    assert_true(n > 8);
    assert_memory_equal(ref, "```c\n", 5);
    assert_string_equal(ref + n - 4, "\n```");
    char *code = strndup(ref + 5, n - 9);
    assert_non_null(code);
    return code;
}

/* The parameter names of a signature, comma-separated ("a, n" for "int f(const int *a, int n)"). */
static void param_names(const char *sig, char *out, size_t n) {
    const char *p = strchr(sig, '('), *end = strrchr(sig, ')');
    assert_non_null(p);
    assert_non_null(end);
    out[0] = 0;
    p++;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end, *e = stop;
        while (e > p && !(e[-1] == '_' || (e[-1] >= 'a' && e[-1] <= 'z') || (e[-1] >= '0' && e[-1] <= '9'))) e--;
        const char *b = e;
        while (b > p && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= '0' && b[-1] <= '9'))) b--;
        assert_true(e > b);
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%.*s", len ? ", " : "", (int)(e - b), b);
        p = stop + 1;
    }
}

/* Wrong solutions: the reference renamed, wrapped to return its result plus one; and a
 * function that returns 0. */
static char *wrong_off_by_one(const char *sig, const char *ref) {
    char *code = reference_code(ref), names[128];
    param_names(sig, names, sizeof names);
    size_t n = strlen(code) + strlen(sig) + 256;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "Here it is.\n```c\n#define f rlvr_ref_f\n%s\n#undef f\n%s {\n    return rlvr_ref_f(%s) + 1;\n}\n```\n",
             code, sig, names);
    free(code);
    return out;
}

static char *wrong_zero(const char *sig) {
    size_t n = strlen(sig) + 64;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "```c\n%s {\n    return 0;\n}\n```", sig);
    return out;
}

typedef struct {
    Task task;
    char *completion;   /* NULL: the task's reference */
    int expect_correct; /* 1: must score 1; 0: must score below 1 */
    int expect_zero;    /* must score exactly 0 */
    const char *what;   /* for messages */
    Verdict verdict;
} Job;

/* Checks the shape of one generated c_tasks task. */
static void check_c_task(const cJSON *gen, int level, const char *family) {
    const char *prompt = jstr(gen, "prompt");
    assert_string_equal(jstr(gen, "verifier"), "ccrun");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(gen, "meta");
    const char *sig = jstr(meta, "signature");
    char head[256];
    snprintf(head, sizeof head, "Write a C function `%s` that ", sig);
    if (strncmp(prompt, head, strlen(head)) != 0) fprintf(stderr, "  prompt: %s\n", prompt);
    assert_memory_equal(prompt, head, strlen(head));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(meta, "level")->valueint, level);
    assert_string_equal(jstr(meta, "family"), family);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(meta, "tests");
    assert_true(cJSON_IsArray(tests));
    int n = cJSON_GetArraySize(tests);
    assert_in_range(n, 4, 8);
    int distinct = 0;
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(tests, i);
        const char *call = jstr(t, "call"), *expect = jstr(t, "expect");
        assert_memory_equal(call, "f(", 2);
        assert_null(strpbrk(call, "\n;{}"));
        for (int j = 0; j < i; j++) assert_string_not_equal(call, jstr(cJSON_GetArrayItem(tests, j), "call"));
        if (!first) first = expect;
        else if (strcmp(first, expect) != 0) distinct = 1;
    }
    assert_true(distinct);
}

static void test_c_tasks(void **state) {
    (void)state;
    const Verifier *cc = verifier_find("ccrun");
    assert_non_null(cc);
    const char *compiler = ccrun_compiler_path(cc);
    int other_gcc = strstr(compiler, "tcc") && access("/usr/bin/gcc", X_OK) == 0;
    printf("  ccrun compiler: %s%s\n", compiler, other_gcc ? " (and one draw per family with gcc)" : "");
    LuaHost *h = host(20240601);
    cJSON *families = eval_ok(h, "return require('generators.c_tasks').families");
    assert_int_equal(cJSON_GetArraySize(families), 4);

    Job jobs[512];
    int nj = 0, n_tasks = 0, n_families = 0;
    char code[256];
    for (int level = 1; level <= 4; level++) {
        const cJSON *names = cJSON_GetArrayItem(families, level - 1);
        assert_true(cJSON_IsArray(names));
        assert_true(cJSON_GetArraySize(names) >= 4);
        printf("  level %d:", level);
        const cJSON *name;
        cJSON_ArrayForEach(name, names) {
            assert_true(cJSON_IsString(name));
            printf(" %s", name->valuestring);
            n_families++;
            for (int d = 0; d < DRAWS_PER_FAMILY + other_gcc; d++) {
                /* Alternate forcing the family alone and with its level. */
                if (d % 2) snprintf(code, sizeof code, "return require('generators.c_tasks').task{ family = '%s' }", name->valuestring);
                else snprintf(code, sizeof code, "return require('generators.c_tasks').task{ level = %d, family = '%s' }", level, name->valuestring);
                cJSON *gen = eval_ok(h, code);
                check_c_task(gen, level, name->valuestring);
                const char *sig = jstr(cJSON_GetObjectItemCaseSensitive(gen, "meta"), "signature");
                int gcc = d == DRAWS_PER_FAMILY;
                assert_true(nj + 3 <= (int)(sizeof jobs / sizeof jobs[0]));
                Job *j = &jobs[nj++];
                memset(j, 0, sizeof *j);
                make_task(gen, &j->task, gcc ? "gcc" : NULL);
                j->expect_correct = 1;
                j->what = gcc ? "reference (gcc)" : "reference";
                n_tasks++;
                if (d == 0) {
                    j = &jobs[nj++];
                    memset(j, 0, sizeof *j);
                    make_task(gen, &j->task, NULL);
                    j->completion = wrong_off_by_one(sig, jstr(gen, "reference"));
                    j->expect_zero = 1;
                    j->what = "off by one";
                    j = &jobs[nj++];
                    memset(j, 0, sizeof *j);
                    make_task(gen, &j->task, NULL);
                    j->completion = wrong_zero(sig);
                    j->what = "returns 0";
                }
                cJSON_Delete(gen);
            }
        }
        printf("\n");
    }
    /* Drawing without a family picks the level's families. */
    for (int level = 1; level <= 4; level++) {
        for (int d = 0; d < 20; d++) {
            snprintf(code, sizeof code, "return require('generators.c_tasks').task{ level = %d }", level);
            cJSON *gen = eval_ok(h, code);
            const char *fam = jstr(cJSON_GetObjectItemCaseSensitive(gen, "meta"), "family");
            int found = 0;
            const cJSON *name;
            cJSON_ArrayForEach(name, cJSON_GetArrayItem(families, level - 1)) found |= strcmp(name->valuestring, fam) == 0;
            assert_true(found);
            check_c_task(gen, level, fam);
            cJSON_Delete(gen);
        }
    }

    /* Score everything, several at a time (the verifier is thread-safe). */
    double t0 = now();
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < nj; i++) {
        Job *j = &jobs[i];
        const char *c = j->completion ? j->completion : j->task.reference;
        if (verdict_init(&j->verdict) == 0) cc->score(cc, &j->task, c, strlen(c), &j->verdict);
    }
    double secs = now() - t0;
    int bad = 0;
    for (int i = 0; i < nj; i++) {
        Job *j = &jobs[i];
        double r = j->verdict.reward;
        int ok = j->expect_correct ? (r == 1.0 && strcmp(j->verdict.status, VERDICT_CORRECT) == 0)
                                   : (r < 1.0 && (!j->expect_zero || (r == 0.0 && strcmp(j->verdict.status, VERDICT_WRONG) == 0)));
        if (!ok) {
            char *v = verdict_to_json(&j->verdict);
            fprintf(stderr, "  %s of %s (%s): %s\n  prompt: %s\n  completion: %s\n", j->what,
                    jstr(j->task.meta, "family"), jstr(j->task.meta, "signature"), v, j->task.prompt,
                    j->completion ? j->completion : j->task.reference);
            free(v);
            bad++;
        }
        verdict_free(&j->verdict);
        free(j->completion);
        task_free(&j->task);
    }
    printf("  %d families, %d tasks scored with their reference, %d wrong solutions, %d verdicts in %.1f s\n",
           n_families, n_tasks, nj - n_tasks, nj, secs);
    assert_int_equal(bad, 0);
    assert_true(n_tasks >= 60);
    cJSON_Delete(families);
    luahost_free(h);
}

/* The same seed gives the same tasks, another seed others; answer_only; bad arguments. */
static void test_c_tasks_seeds_and_options(void **state) {
    (void)state;
    const char *code = "local ct = require('generators.c_tasks') local out = {}"
                       " for i = 1, 24 do out[i] = ct.task{ level = (i - 1) % 4 + 1 } end return out";
    LuaHost *a = host(7), *b = host(7), *c = host(8);
    cJSON *ja = eval_ok(a, code), *jb = eval_ok(b, code), *jc = eval_ok(c, code);
    char *sa = cJSON_PrintUnformatted(ja), *sb = cJSON_PrintUnformatted(jb), *sc = cJSON_PrintUnformatted(jc);
    assert_string_equal(sa, sb);
    assert_string_not_equal(sa, sc);
    /* Reseeding the same state repeats the stream: nothing is kept between calls. */
    luahost_seed(a, 7);
    cJSON *ja2 = eval_ok(a, code);
    char *sa2 = cJSON_PrintUnformatted(ja2);
    assert_string_equal(sa, sa2);
    free(sa); free(sb); free(sc); free(sa2);
    cJSON_Delete(ja); cJSON_Delete(jb); cJSON_Delete(jc); cJSON_Delete(ja2);

    cJSON *opt = eval_ok(a, "local ct = require('generators.c_tasks') local out = {}"
                            " for i = 1, 40 do out[i] = ct.task{ level = (i - 1) % 4 + 1, answer_only = true } end return out");
    const cJSON *t;
    cJSON_ArrayForEach(t, opt) {
        assert_string_equal(jstr(t, "reference"), "");
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(t, "meta");
        check_c_task(t, cJSON_GetObjectItemCaseSensitive(meta, "level")->valueint, jstr(meta, "family"));
    }
    cJSON_Delete(opt);
    /* Defaults: level 1. */
    cJSON *def = eval_ok(a, "return require('generators.c_tasks').task()");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(def, "meta"), "level")->valueint, 1);
    assert_memory_equal(jstr(def, "reference"), "```c\n", 5);
    cJSON_Delete(def);
    eval_fails(a, "return require('generators.c_tasks').task{ level = 5 }", "level must be");
    eval_fails(a, "return require('generators.c_tasks').task{ level = 'x' }", "level must be");
    eval_fails(a, "return require('generators.c_tasks').task{ family = 'nope' }", "unknown family");
    eval_fails(a, "return require('generators.c_tasks').task{ level = 1, family = 'gcd' }", "level 3");
    luahost_free(a); luahost_free(b); luahost_free(c);
}

/* ---------------------------------------------------------------- countdown */

static void test_countdown(void **state) {
    (void)state;
    const Verifier *v = verifier_find("countdown");
    assert_non_null(v);
    static const int sizes[] = { 1, 2, 3, 4, 5, 6 };
    static const int maxes[] = { 1, 2, 5, 10, 25, 50, 100, 1000 };
    int n = 0, ops[4] = { 0 }, multi = 0;
    double t0 = now();
    LuaHost *h = host(1);
    for (int seed = 1; seed <= 50; seed++) {
        luahost_seed(h, (uint64_t)seed * 7919u);
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (size_t mi = 0; mi < sizeof maxes / sizeof maxes[0]; mi++) {
                char code[160];
                snprintf(code, sizeof code, "return require('generators.countdown').task{ numbers = %d, max_number = %d }",
                         sizes[si], maxes[mi]);
                cJSON *gen = eval_ok(h, code);
                assert_string_equal(jstr(gen, "verifier"), "countdown");
                const cJSON *meta = cJSON_GetObjectItemCaseSensitive(gen, "meta");
                const cJSON *nums = cJSON_GetObjectItemCaseSensitive(meta, "numbers");
                const cJSON *target = cJSON_GetObjectItemCaseSensitive(meta, "target");
                assert_true(cJSON_IsArray(nums));
                assert_int_equal(cJSON_GetArraySize(nums), sizes[si]);
                const cJSON *x;
                cJSON_ArrayForEach(x, nums) {
                    assert_true(cJSON_IsNumber(x) && x->valuedouble == (double)x->valueint);
                    assert_in_range(x->valueint, 1, maxes[mi]);
                }
                assert_true(cJSON_IsNumber(target));
                assert_true(target->valuedouble >= 1 && target->valuedouble == (double)(long long)target->valuedouble);
                char head[64];
                snprintf(head, sizeof head, " make %.0f.", target->valuedouble);
                assert_non_null(strstr(jstr(gen, "prompt"), head));
                const char *ref = jstr(gen, "reference");
                assert_memory_equal(ref, "Answer: ", 8);
                for (int k = 0; k < 4; k++) ops[k] += strchr(ref + 8, "+-*/"[k]) != NULL;
                multi += strpbrk(ref + 8, "+-*/") && strchr(ref + 8, '(') != NULL;
                Task t;
                make_task(gen, &t, NULL);
                Verdict vd;
                assert_int_equal(verdict_init(&vd), 0);
                v->score(v, &t, t.reference, strlen(t.reference), &vd);
                if (vd.reward != 1.0 || strcmp(vd.status, VERDICT_CORRECT) != 0) {
                    char *s = verdict_to_json(&vd);
                    fprintf(stderr, "  %s\n  %s\n  -> %s\n", t.prompt, t.reference, s);
                    free(s);
                }
                assert_true(vd.reward == 1.0);
                assert_string_equal(vd.status, VERDICT_CORRECT);
                verdict_free(&vd);
                task_free(&t);
                cJSON_Delete(gen);
                n++;
            }
    }
    printf("  countdown: %d references scored 1 in %.2f s (+ in %d, - in %d, * in %d, / in %d, parentheses in %d)\n", n,
           now() - t0, ops[0], ops[1], ops[2], ops[3], multi);
    assert_true(n >= 2000);
    for (int k = 0; k < 4; k++) assert_true(ops[k] > n / 20);
    assert_true(multi > n / 20);

    /* Seeds, defaults, answer_only and bad arguments. */
    const char *code = "local cd = require('generators.countdown') local out = {}"
                       " for i = 1, 30 do out[i] = cd.task() end return out";
    LuaHost *a = host(5), *b = host(5), *c = host(6);
    cJSON *ja = eval_ok(a, code), *jb = eval_ok(b, code), *jc = eval_ok(c, code);
    char *sa = cJSON_PrintUnformatted(ja), *sb = cJSON_PrintUnformatted(jb), *sc = cJSON_PrintUnformatted(jc);
    assert_string_equal(sa, sb);
    assert_string_not_equal(sa, sc);
    const cJSON *t;
    cJSON_ArrayForEach(t, ja) {
        const cJSON *nums = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "meta"), "numbers");
        assert_int_equal(cJSON_GetArraySize(nums), 4);
        const cJSON *x;
        cJSON_ArrayForEach(x, nums) assert_in_range(x->valueint, 1, 25);
    }
    free(sa); free(sb); free(sc);
    cJSON_Delete(ja); cJSON_Delete(jb); cJSON_Delete(jc);
    cJSON *ao = eval_ok(a, "return require('generators.countdown').task{ answer_only = true }");
    assert_string_equal(jstr(ao, "reference"), "");
    assert_true(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ao, "meta"), "target")->valuedouble >= 1);
    cJSON_Delete(ao);
    eval_fails(a, "return require('generators.countdown').task{ numbers = 0 }", "numbers must be");
    eval_fails(a, "return require('generators.countdown').task{ max_number = 2.5 }", "max_number must be");
    luahost_free(h); luahost_free(a); luahost_free(b); luahost_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_tasks),
        cmocka_unit_test(test_c_tasks_seeds_and_options),
        cmocka_unit_test(test_countdown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
