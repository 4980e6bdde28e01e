/* test_gen_gsm: the GSM8K-style word-problem generator, lua/generators/gsm_word.lua.
 *
 * Every generated worked solution must score 1 against itself with the arith verifier,
 * with every calculator step ok; each line carries exactly one <<a op b=c>>c annotation
 * (one per step, c a non-negative integer, division exact); every operand comes from the
 * question, an earlier result, or an implied constant (2, 60); question numbers respect
 * the digits knob; distractor sentences add numbers the solution never uses (and without
 * distractors every question number is used). answer_only draws the same problem with
 * reference "#### N". The same seed gives the same problems, another seed others; prompts
 * are varied and every family is drawn. Also: option errors, and generation speed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lua/host.h"
#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_FAMILIES 32
#define MAX_NUMS 128

static double now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec * 1e-6;
}

static int setup(void **state) {
    (void)state;
    char err[256];
    return verifiers_register_builtins(err, sizeof err);
}

static int teardown(void **state) {
    (void)state;
    verifier_registry_free();
    return 0;
}

static const char *LOADER =
    "local gsm = require('generators.gsm_word')\n"
    "function draw(steps, digits, distractors, answer_only, family)\n"
    "  return gsm.problem{ steps = steps, digits = digits, distractors = distractors,\n"
    "                      answer_only = answer_only, family = family }\n"
    "end\n"
    "function draw_range(lo, hi) return gsm.problem{ steps = { lo, hi } } end\n"
    "function draw_default() return gsm.problem() end\n"
    "function family_names() return table.concat(gsm.families, ' ') end\n";

static LuaHost *gen_host(uint64_t seed) {
    LuaHost *h;
    char err[512];
    LuaHostLimits lim = {0};
    lim.root = "lua";
    lim.seed = seed;
    assert_int_equal(luahost_new(&h, &lim, err, sizeof err), 0);
    lua_State *L = luahost_state(h);
    assert_int_equal(luaL_loadstring(L, LOADER), LUA_OK);
    if (luahost_pcall(h, 0, 0, err, sizeof err) != 0) fail_msg("loading gsm_word: %s", err);
    return h;
}

typedef struct {
    char *prompt, *reference, *verifier;
    char answer[64], family[64];
    lua_Integer steps, digits, distractors;
} Gen;

static char *dup_field(lua_State *L, int idx, const char *key) {
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) != LUA_TSTRING) fail_msg("field %s is not a string", key);
    char *s = strdup(lua_tostring(L, -1));
    assert_non_null(s);
    lua_pop(L, 1);
    return s;
}

static lua_Integer int_field(lua_State *L, int idx, const char *key) {
    lua_getfield(L, idx, key);
    int isnum = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum) fail_msg("meta.%s is not an integer", key);
    lua_pop(L, 1);
    return v;
}

/* Reads the task table on top of the stack into g and pops it. */
static void read_task(lua_State *L, Gen *g) {
    int t = lua_gettop(L);
    assert_int_equal(lua_type(L, t), LUA_TTABLE);
    g->prompt = dup_field(L, t, "prompt");
    g->reference = dup_field(L, t, "reference");
    g->verifier = dup_field(L, t, "verifier");
    lua_getfield(L, t, "meta");
    assert_int_equal(lua_type(L, -1), LUA_TTABLE);
    int m = lua_gettop(L);
    char *s = dup_field(L, m, "answer");
    snprintf(g->answer, sizeof g->answer, "%s", s);
    free(s);
    s = dup_field(L, m, "family");
    snprintf(g->family, sizeof g->family, "%s", s);
    free(s);
    g->steps = int_field(L, m, "steps");
    g->digits = int_field(L, m, "digits");
    g->distractors = int_field(L, m, "distractors");
    lua_pop(L, 2);
}

/* Draw one problem; steps/digits/distractors < 0 and family NULL leave the defaults. */
static void gen_draw(LuaHost *h, int steps, int digits, int distractors, int answer_only,
                     const char *family, Gen *g) {
    lua_State *L = luahost_state(h);
    char err[512];
    lua_getglobal(L, "draw");
    if (steps >= 0) lua_pushinteger(L, steps); else lua_pushnil(L);
    if (digits >= 0) lua_pushinteger(L, digits); else lua_pushnil(L);
    if (distractors >= 0) lua_pushinteger(L, distractors); else lua_pushnil(L);
    lua_pushboolean(L, answer_only);
    if (family) lua_pushstring(L, family); else lua_pushnil(L);
    if (luahost_pcall(h, 5, 1, err, sizeof err) != 0)
        fail_msg("draw(%d, %d, %d, %s): %s", steps, digits, distractors, family ? family : "nil", err);
    read_task(L, g);
}

static void gen_free(Gen *g) {
    free(g->prompt);
    free(g->reference);
    free(g->verifier);
    memset(g, 0, sizeof *g);
}

/* The family names, space-separated, split into names[]; returns the count. */
static int family_names(LuaHost *h, char names[MAX_FAMILIES][64]) {
    lua_State *L = luahost_state(h);
    char err[512];
    lua_getglobal(L, "family_names");
    if (luahost_pcall(h, 0, 1, err, sizeof err) != 0) fail_msg("%s", err);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        assert_true(n < MAX_FAMILIES);
        snprintf(names[n++], 64, "%s", tok);
    }
    return n;
}

/* ---------------------------------------------------------------- scoring */

typedef struct {
    double reward;
    char status[32];
    int steps_total, steps_ok, steps_listed_ok, steps_listed;
} Score;

static Score score(const char *reference, const char *completion) {
    const Verifier *v = verifier_find("arith");
    assert_non_null(v);
    Task t = { .id = "", .prompt = "p", .reference = (char *)reference, .verifier = "arith" };
    t.meta = cJSON_CreateObject();
    assert_non_null(t.meta);
    Verdict vd;
    assert_int_equal(verdict_init(&vd), 0);
    v->score(v, &t, completion, strlen(completion), &vd);
    Score s = { .reward = vd.reward };
    snprintf(s.status, sizeof s.status, "%s", vd.status);
    const cJSON *tot = cJSON_GetObjectItemCaseSensitive(vd.detail, "steps_total");
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(vd.detail, "steps_ok");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(vd.detail, "steps");
    assert_true(cJSON_IsNumber(tot) && cJSON_IsNumber(ok) && cJSON_IsArray(list));
    s.steps_total = tot->valueint;
    s.steps_ok = ok->valueint;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        s.steps_listed++;
        s.steps_listed_ok += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "ok"));
    }
    verdict_free(&vd);
    cJSON_Delete(t.meta);
    return s;
}

/* ---------------------------------------------------------------- parsing */

/* The digit runs of s as integers (at most max); returns the count. */
static int numbers_in(const char *s, long long *out, int max) {
    int n = 0;
    for (const char *p = s; *p;) {
        if (*p >= '0' && *p <= '9') {
            char *end;
            long long v = strtoll(p, &end, 10);
            assert_true(n < max);
            out[n++] = v;
            p = end;
        } else {
            p++;
        }
    }
    return n;
}

static int contains(const long long *a, int n, long long v) {
    for (int i = 0; i < n; i++)
        if (a[i] == v) return 1;
    return 0;
}

/* Reads an unsigned decimal at *p (at least one digit), advancing *p. */
static long long read_uint(const char **p) {
    if (**p < '0' || **p > '9') fail_msg("expected a digit at \"%.20s\"", *p);
    long long v = 0;
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        assert_true(v < 1000000000000LL);
        (*p)++;
    }
    return v;
}

static long long ipow10(int d) {
    long long r = 1;
    while (d-- > 0) r *= 10;
    return r;
}

/* Every structural property of one full (not answer_only) problem. */
static void check_full(const Gen *g, int want_steps, int want_digits, int want_distractors, const char *want_family) {
    if (want_steps > 0) assert_int_equal(g->steps, want_steps);
    if (want_digits > 0) assert_int_equal(g->digits, want_digits);
    if (want_distractors >= 0) assert_int_equal(g->distractors, want_distractors);
    if (want_family) assert_string_equal(g->family, want_family);
    assert_true(g->steps >= 1 && g->steps <= 4);
    assert_string_equal(g->verifier, "arith");
    /* No template leaks, one question at the end. */
    assert_null(strchr(g->prompt, '{'));
    assert_null(strchr(g->reference, '{'));
    assert_null(strstr(g->prompt, "nil"));
    assert_null(strstr(g->prompt, "  "));
    assert_int_equal(g->prompt[strlen(g->prompt) - 1], '?');
    if (!((g->prompt[0] >= 'A' && g->prompt[0] <= 'Z') || (g->prompt[0] >= '0' && g->prompt[0] <= '9')))
        fail_msg("prompt does not start a sentence: %s", g->prompt);

    /* The answer is a plain non-negative integer. */
    const char *ap = g->answer;
    long long answer = read_uint(&ap);
    assert_int_equal(*ap, '\0');

    long long pn[MAX_NUMS];
    int npn = numbers_in(g->prompt, pn, MAX_NUMS);
    long long cap = ipow10((int)g->digits) - 1;
    for (int i = 0; i < npn; i++)
        if (pn[i] > cap) fail_msg("question number %lld over %lld digits: %s", pn[i], (long long)g->digits, g->prompt);

    /* Lines: one annotation each, then "#### N". */
    long long operands[2 * 8], results[8];
    int nops = 0, nres = 0, lines = 0;
    const char *line = g->reference;
    for (;;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (!nl) {
            char want[80];
            snprintf(want, sizeof want, "#### %s", g->answer);
            assert_int_equal(len, strlen(want));
            assert_memory_equal(line, want, len);
            break;
        }
        lines++;
        assert_true(lines <= 4);
        const char *open = strstr(line, "<<");
        if (!open || open >= line + len) fail_msg("line without an annotation: %.*s", (int)len, line);
        const char *again = strstr(open + 2, "<<");
        if (again && again < line + len) fail_msg("two annotations on a line: %.*s", (int)len, line);
        const char *p = open + 2;
        long long a = read_uint(&p);
        char op = *p++;
        long long b = read_uint(&p);
        assert_int_equal(*p++, '=');
        long long c = read_uint(&p);
        assert_true(p[0] == '>' && p[1] == '>');
        p += 2;
        long long c2 = read_uint(&p);   /* the result right after the annotation */
        assert_int_equal(c2, c);
        assert_true(p <= line + len);
        long long want = -1;
        switch (op) {
        case '+': want = a + b; break;
        case '-': want = a - b; break;
        case '*': want = a * b; break;
        case '/':
            assert_true(b != 0);
            if (a % b) fail_msg("inexact division %lld/%lld", a, b);
            want = a / b;
            break;
        default: fail_msg("unknown operator '%c' in: %.*s", op, (int)len, line);
        }
        assert_true(want >= 0 && want < 1000000);
        assert_int_equal(c, want);
        /* Operands: question numbers, earlier results, or the implied constants. */
        long long ab[2] = { a, b };
        for (int k = 0; k < 2; k++) {
            long long x = ab[k];
            if (!contains(pn, npn, x) && !contains(results, nres, x) && x != 2 && x != 60)
                fail_msg("operand %lld comes from nowhere:\n%s\n%s", x, g->prompt, g->reference);
            operands[nops++] = x;
        }
        results[nres++] = c;
        line = nl + 1;
    }
    assert_int_equal(lines, g->steps);
    assert_int_equal(results[nres - 1], answer);

    /* Distractors: question numbers no step uses; none without distractors. */
    int unused = 0;
    for (int i = 0; i < npn; i++) unused += !contains(operands, nops, pn[i]);
    if (g->distractors == 0 && unused != 0)
        fail_msg("a question number is never used:\n%s\n%s", g->prompt, g->reference);
    if (unused < g->distractors)
        fail_msg("%d unused numbers for %lld distractors:\n%s", unused, (long long)g->distractors, g->prompt);

    /* arith: the worked solution scores 1, every step ok. */
    Score s = score(g->reference, g->reference);
    if (s.reward != 1.0) fail_msg("reward %g (%s) for:\n%s\n%s", s.reward, s.status, g->prompt, g->reference);
    assert_string_equal(s.status, "correct");
    assert_int_equal(s.steps_total, g->steps);
    assert_int_equal(s.steps_ok, g->steps);
    assert_int_equal(s.steps_listed, g->steps);
    assert_int_equal(s.steps_listed_ok, g->steps);
}

/* ---------------------------------------------------------------- tests */

static void test_families(void **state) {
    (void)state;
    LuaHost *h = gen_host(7);
    char names[MAX_FAMILIES][64];
    int n = family_names(h, names);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) assert_string_not_equal(names[i], names[j]);
    for (int i = 0; i < n; i++) {
        Gen g;
        gen_draw(h, -1, -1, -1, 0, names[i], &g);
        check_full(&g, 2, 2, 0, names[i]);   /* the defaults: 2 steps, 2 digits, 0 distractors */
        gen_free(&g);
    }
    luahost_free(h);
}

/* Every family x steps 1..4 x digits 1..4 x distractors 0..2, over several seeds. */
static void test_sweep(void **state) {
    (void)state;
    LuaHost *h0 = gen_host(1);
    char names[MAX_FAMILIES][64];
    int nf = family_names(h0, names);
    luahost_free(h0);
    int count = 0;
    double t0 = now();
    for (uint64_t seed = 1; seed <= 8; seed++) {
        LuaHost *h = gen_host(seed * 7919);
        for (int f = 0; f < nf; f++)
            for (int steps = 1; steps <= 4; steps++)
                for (int digits = 1; digits <= 4; digits++)
                    for (int d = 0; d <= 2; d++) {
                        Gen g;
                        gen_draw(h, steps, digits, d, 0, names[f], &g);
                        check_full(&g, steps, digits, d, names[f]);
                        gen_free(&g);
                        count++;
                    }
        /* And with the family drawn. */
        for (int i = 0; i < 300; i++) {
            Gen g;
            int steps = 1 + i % 4, digits = 1 + (i / 4) % 3, d = (i / 12) % 3;
            gen_draw(h, steps, digits, d, 0, NULL, &g);
            check_full(&g, steps, digits, d, NULL);
            gen_free(&g);
            count++;
        }
        luahost_free(h);
    }
    printf("  sweep: %d problems generated and verified in %.2f s\n", count, now() - t0);
    assert_true(count >= 5000);
}

/* answer_only draws the same problem; its reference is exactly "#### N". */
static void test_answer_only(void **state) {
    (void)state;
    LuaHost *a = gen_host(99), *b = gen_host(99);
    for (int i = 0; i < 600; i++) {
        int steps = 1 + i % 4, digits = 1 + (i / 4) % 3, d = (i / 12) % 3;
        Gen full, ao;
        gen_draw(a, steps, digits, d, 0, NULL, &full);
        gen_draw(b, steps, digits, d, 1, NULL, &ao);
        assert_string_equal(full.prompt, ao.prompt);
        assert_string_equal(full.answer, ao.answer);
        assert_int_equal(full.steps, ao.steps);
        char want[80];
        snprintf(want, sizeof want, "#### %s", full.answer);
        assert_string_equal(ao.reference, want);
        assert_null(strstr(ao.reference, "<<"));
        /* The full solution scores 1 against the answer-only reference, and back. */
        Score s = score(ao.reference, full.reference);
        assert_true(s.reward == 1.0);
        s = score(full.reference, ao.reference);
        assert_true(s.reward == 1.0);
        assert_int_equal(s.steps_total, 0);
        /* A wrong answer scores 0, so the checks above are not vacuous. */
        char wrong[80];
        snprintf(wrong, sizeof wrong, "#### %lld", atoll(full.answer) + 1);
        s = score(ao.reference, wrong);
        assert_true(s.reward == 0.0);
        assert_string_equal(s.status, "wrong");
        gen_free(&full);
        gen_free(&ao);
    }
    luahost_free(a);
    luahost_free(b);
}

/* The same seed gives the same problems; another seed other problems; reseeding restarts. */
static void test_deterministic(void **state) {
    (void)state;
    enum { N = 300 };
    LuaHost *a = gen_host(12345), *b = gen_host(12345), *c = gen_host(54321);
    char *first[N];
    int differ = 0;
    for (int i = 0; i < N; i++) {
        int steps = 1 + i % 4, d = i % 3;
        Gen ga, gb, gc;
        gen_draw(a, steps, 2, d, 0, NULL, &ga);
        gen_draw(b, steps, 2, d, 0, NULL, &gb);
        gen_draw(c, steps, 2, d, 0, NULL, &gc);
        assert_string_equal(ga.prompt, gb.prompt);
        assert_string_equal(ga.reference, gb.reference);
        differ += strcmp(ga.prompt, gc.prompt) != 0;
        first[i] = strdup(ga.prompt);
        gen_free(&ga); gen_free(&gb); gen_free(&gc);
    }
    assert_true(differ >= N - 3);
    luahost_seed(a, 12345);
    for (int i = 0; i < N; i++) {
        Gen g;
        gen_draw(a, 1 + i % 4, 2, i % 3, 0, NULL, &g);
        assert_string_equal(g.prompt, first[i]);
        gen_free(&g);
        free(first[i]);
    }
    luahost_free(a); luahost_free(b); luahost_free(c);
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static int distinct(char **v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    int d = n > 0;
    for (int i = 1; i < n; i++) d += strcmp(v[i], v[i - 1]) != 0;
    return d;
}

/* Prompts vary (also with the numbers blanked out: the wording itself varies), and every
 * family is drawn, with the default knobs. */
static void test_variety(void **state) {
    (void)state;
    enum { N = 1000 };
    LuaHost *h = gen_host(2024);
    char names[MAX_FAMILIES][64];
    int nf = family_names(h, names), seen[MAX_FAMILIES] = {0};
    char *prompts[N], *shapes[N];
    lua_State *L = luahost_state(h);
    char err[512];
    for (int i = 0; i < N; i++) {
        lua_getglobal(L, "draw_default");
        if (luahost_pcall(h, 0, 1, err, sizeof err) != 0) fail_msg("%s", err);
        Gen g;
        read_task(L, &g);
        check_full(&g, 2, 2, 0, NULL);
        for (int f = 0; f < nf; f++) seen[f] += strcmp(g.family, names[f]) == 0;
        prompts[i] = strdup(g.prompt);
        shapes[i] = strdup(g.prompt);
        /* The wording: numbers become '#', capitalised words (names, sentence starts) 'N'. */
        char *w = shapes[i];
        for (const char *r = g.prompt; *r;) {
            if (*r >= '0' && *r <= '9') {
                *w++ = '#';
                while (*r >= '0' && *r <= '9') r++;
            } else if (*r >= 'A' && *r <= 'Z') {
                *w++ = 'N';
                while ((*r >= 'A' && *r <= 'Z') || (*r >= 'a' && *r <= 'z')) r++;
            } else {
                *w++ = *r++;
            }
        }
        *w = '\0';
        gen_free(&g);
    }
    int dp = distinct(prompts, N), ds = distinct(shapes, N);
    printf("  variety: %d distinct prompts, %d distinct wordings (numbers and names blanked) in %d draws\n", dp, ds, N);
    assert_true(dp >= 900);
    assert_true(ds >= 800);
    for (int f = 0; f < nf; f++) {
        if (seen[f] == 0) fail_msg("family %s never drawn", names[f]);
        assert_true(seen[f] >= N / nf / 3);
    }
    for (int i = 0; i < N; i++) { free(prompts[i]); free(shapes[i]); }
    luahost_free(h);
}

/* steps as a {min, max} pair. */
static void test_steps_range(void **state) {
    (void)state;
    LuaHost *h = gen_host(5);
    lua_State *L = luahost_state(h);
    char err[512];
    int hist[5] = {0};
    for (int i = 0; i < 400; i++) {
        lua_getglobal(L, "draw_range");
        lua_pushinteger(L, 1);
        lua_pushinteger(L, 4);
        if (luahost_pcall(h, 2, 1, err, sizeof err) != 0) fail_msg("%s", err);
        Gen g;
        read_task(L, &g);
        check_full(&g, 0, 2, 0, NULL);
        hist[g.steps]++;
        gen_free(&g);
    }
    for (int k = 1; k <= 4; k++) assert_true(hist[k] >= 50);
    for (int i = 0; i < 20; i++) {
        lua_getglobal(L, "draw_range");
        lua_pushinteger(L, 3);
        lua_pushinteger(L, 3);
        if (luahost_pcall(h, 2, 1, err, sizeof err) != 0) fail_msg("%s", err);
        Gen g;
        read_task(L, &g);
        check_full(&g, 3, 2, 0, NULL);
        gen_free(&g);
    }
    luahost_free(h);
}

/* Bad options are errors that say what is wrong. */
static void test_bad_options(void **state) {
    (void)state;
    LuaHost *h = gen_host(1);
    lua_State *L = luahost_state(h);
    char err[512];
    const char *bad[][2] = {
        { "return require('generators.gsm_word').problem{ family = 'nosuch' }", "nosuch" },
        { "return require('generators.gsm_word').problem{ steps = 5 }", "steps" },
        { "return require('generators.gsm_word').problem{ digits = 0 }", "digits" },
        { "return require('generators.gsm_word').problem{ distractors = -1 }", "distractors" },
        { "return require('generators.gsm_word').problem{ steps = 1.5 }", "steps" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(luaL_loadstring(L, bad[i][0]), LUA_OK);
        assert_int_equal(luahost_pcall(h, 0, 1, err, sizeof err), -1);
        if (!strstr(err, bad[i][1])) fail_msg("error for %s: %s", bad[i][0], err);
    }
    /* The host still works afterwards. */
    Gen g;
    gen_draw(h, 3, 2, 1, 0, NULL, &g);
    check_full(&g, 3, 2, 1, NULL);
    gen_free(&g);
    luahost_free(h);
}

/* Thousands of problems per second (generation only, the Lua side). */
static void test_speed(void **state) {
    (void)state;
    LuaHost *h = gen_host(77);
    lua_State *L = luahost_state(h);
    char err[512];
    const char *code =
        "local gsm = require('generators.gsm_word')\n"
        "local n = 0\n"
        "for i = 1, 5000 do\n"
        "  local t = gsm.problem{ steps = 1 + i % 4, digits = 1 + i % 3, distractors = i % 3 }\n"
        "  n = n + #t.prompt\n"
        "end\n"
        "return n\n";
    assert_int_equal(luaL_loadstring(L, code), LUA_OK);
    double t0 = now();
    if (luahost_pcall(h, 0, 1, err, sizeof err) != 0) fail_msg("%s", err);
    double dt = now() - t0;
    lua_pop(L, 1);
    printf("  speed: 5000 problems in %.3f s (%.0f problems/s)\n", dt, 5000 / dt);
    assert_true(5000 / dt >= 2000);
    luahost_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_answer_only),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_variety),
        cmocka_unit_test(test_steps_range),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
