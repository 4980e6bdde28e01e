/* test_lua: the embedded Lua host and Lua-written verifiers.
 *
 * Scripts are untrusted: the sandbox must hide io/os/debug, refuse bytecode and modules
 * outside the configured folder; a script that loops, allocates without bound, errors or
 * returns nonsense must give verifier_error naming the script and line, and the next
 * call must work. Verdicts must not depend on the thread or state that produced them:
 * rlvr.random is seeded, and 4 OpenMP threads must agree with one. The countdown
 * verifier is checked on each of its statuses, and rlvr.verify composes built-ins. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lua/host.h"
#include "lua/verifier_lua.h"
#include "verifiers/verifier.h"
#include <lauxlib.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static char g_dir[64];

static double now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec * 1e-6;
}

/* Write text to g_dir/name; returns the path (static buffer per call site: copy it). */
static const char *write_file(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-lua-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    char err[256];
    return verifiers_register_builtins(err, sizeof err);
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd)) return -1;
    verifier_registry_free();
    return 0;
}

/* Run a chunk in a host; its single result as a string (tostring) into out. */
static int run(LuaHost *h, const char *code, char *out, size_t n) {
    lua_State *L = luahost_state(h);
    if (luaL_loadbufferx(L, code, strlen(code), "=test", "t") != LUA_OK) {
        snprintf(out, n, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    if (luahost_pcall(h, 0, 1, out, n)) return -1;
    snprintf(out, n, "%s", luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
    return 0;
}

static LuaHost *host(uint64_t seed) {
    LuaHost *h;
    char err[256];
    LuaHostLimits lim = { .root = g_dir, .seed = seed };
    assert_int_equal(luahost_new(&h, &lim, err, sizeof err), 0);
    return h;
}

static void test_sandbox(void **state) {
    (void)state;
    LuaHost *h = host(1);
    char out[512];
    assert_int_equal(run(h, "return table.concat({type(io), type(os), type(debug), type(package), type(dofile),"
                            " type(loadfile), type(string.dump), type(utf8), type(coroutine), type(rlvr)}, ',')",
                         out, sizeof out), 0);
    assert_string_equal(out, "nil,nil,nil,nil,nil,nil,nil,table,table,table");
    /* Text chunks load; bytecode is refused even when the mode asks for it. */
    assert_int_equal(run(h, "return load('return 1 + 1')()", out, sizeof out), 0);
    assert_string_equal(out, "2");
    assert_int_equal(run(h, "local f, e = load('\\27Lua\\84\\0', 'x', 'b') return tostring(e)", out, sizeof out), 0);
    assert_non_null(strstr(out, "binary"));
    /* load with an env keeps it (sandboxed sub-environments work). */
    assert_int_equal(run(h, "return load('return x', 'c', 't', {x = 7})()", out, sizeof out), 0);
    assert_string_equal(out, "7");
    /* No finalizers: they run with hooks off, outside the budget. */
    assert_int_equal(run(h, "return select(2, pcall(setmetatable, {}, {__gc = function() while true do end end}))",
                         out, sizeof out), 0);
    assert_non_null(strstr(out, "__gc"));
    assert_int_equal(run(h, "return getmetatable(setmetatable({}, {__index = {a = 5}})) ~= nil", out, sizeof out), 0);
    assert_string_equal(out, "true");
    /* require: only the configured folder, only plain names. */
    write_file("mod.lua", "return { answer = 42 }\n");
    assert_int_equal(run(h, "return require('mod').answer", out, sizeof out), 0);
    assert_string_equal(out, "42");
    assert_int_equal(run(h, "return select(2, pcall(require, '../../etc/passwd'))", out, sizeof out), 0);
    assert_non_null(strstr(out, "refused"));
    assert_int_equal(run(h, "return select(2, pcall(require, '/etc/passwd'))", out, sizeof out), 0);
    assert_non_null(strstr(out, "refused"));
    assert_int_equal(run(h, "return select(2, pcall(require, 'io'))", out, sizeof out), 0);
    assert_non_null(strstr(out, "cannot open"));
    luahost_free(h);
}

static void test_random_deterministic(void **state) {
    (void)state;
    const char *code = "local t = {} for i = 1, 5 do t[i] = rlvr.random(1000000) end"
                       " t[6] = math.random(3, 9) t[7] = string.format('%.6f', math.random()) return table.concat(t, ' ')";
    char a[256], b[256], c[256];
    LuaHost *h1 = host(42), *h2 = host(42), *h3 = host(43);
    assert_int_equal(run(h1, code, a, sizeof a), 0);
    assert_int_equal(run(h2, code, b, sizeof b), 0);
    assert_int_equal(run(h3, code, c, sizeof c), 0);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    luahost_seed(h1, 42);
    assert_int_equal(run(h1, code, c, sizeof c), 0);
    assert_string_equal(a, c);
    luahost_free(h1); luahost_free(h2); luahost_free(h3);
}

/* Score one completion with v; returns the verdict JSON (malloc'd). */
static char *score(const Verifier *v, const char *meta_json, const char *completion) {
    Task t = { .id = "t1", .prompt = "p", .reference = "", .verifier = "" };
    t.meta = cJSON_Parse(meta_json ? meta_json : "{}");
    assert_non_null(t.meta);
    Verdict vd;
    assert_int_equal(verdict_init(&vd), 0);
    v->score(v, &t, completion, strlen(completion), &vd);
    char *s = verdict_to_json(&vd);
    assert_non_null(s);
    verdict_free(&vd);
    cJSON_Delete(t.meta);
    return s;
}

static Verifier *load(const char *name, const char *text, const LuaHostLimits *lim) {
    char path[256], err[512];
    snprintf(path, sizeof path, "%s", write_file(name, text));
    Verifier *v = luaverifier_load(path, lim, err, sizeof err);
    if (!v) fprintf(stderr, "load %s: %s\n", name, err);
    assert_non_null(v);
    return v;
}

static void expect(char *json, const char *status, const char *needle) {
    if (!strstr(json, status) || (needle && !strstr(json, needle))) {
        fprintf(stderr, "verdict %s lacks %s / %s\n", json, status, needle ? needle : "");
        fail();
    }
    free(json);
}

static const char *LOOPER =
    "return rlvr.verifier{ name = 'looper', score = function(task, c)\n"
    "  if c == 'loop' then while true do end end\n"
    "  if c == 'catch' then while true do pcall(function() while true do end end) end end\n"
    "  if c == 'grow' then local t = {} while true do t[#t + 1] = {} end end\n"
    "  if c == 'boom' then error('boom') end\n"
    "  if c == 'str' then return 'one' end\n"
    "  if c == 'nan' then return 0/0 end\n"
    "  if c == 'cycle' then local d = {} d.self = d return 1, 'ok', d end\n"
    "  return 1, 'ok', { n = #c, nested = { list = {1, 2, 3} } }\n"
    "end }\n";

static void test_limits_and_errors(void **state) {
    (void)state;
    LuaHostLimits lim = { .mem_limit = 8u << 20, .instr_budget = 5000000, .root = g_dir };
    Verifier *v = load("looper.lua", LOOPER, &lim);
    assert_string_equal(v->name, "looper");
    double t0 = now();
    expect(score(v, NULL, "loop"), "\"verifier_error\"", "looper.lua:2: instruction budget exceeded");
    assert_true(now() - t0 < 2.0);
    expect(score(v, NULL, "fine"), "\"ok\"", "\"list\":[1,2,3]");
    t0 = now();
    expect(score(v, NULL, "catch"), "\"verifier_error\"", "instruction budget exceeded");
    assert_true(now() - t0 < 2.0);
    expect(score(v, NULL, "grow"), "\"verifier_error\"", "memory limit exceeded");
    expect(score(v, NULL, "fine"), "\"ok\"", NULL);
    expect(score(v, NULL, "boom"), "\"verifier_error\"", "looper.lua:5: boom");
    expect(score(v, NULL, "str"), "\"verifier_error\"", "looper.lua: score returned string as reward");
    expect(score(v, NULL, "nan"), "\"verifier_error\"", "NaN");
    expect(score(v, NULL, "cycle"), "\"verifier_error\"", "nested deeper");
    expect(score(v, NULL, "fine"), "\"reward\":1", NULL);
    v->free(v);
}

static void test_load_errors(void **state) {
    (void)state;
    char err[512];
    const char *p = write_file("syntax.lua", "return rlvr.verifier{ name = 'x',\n  score = function() end\n");
    char path[256];
    snprintf(path, sizeof path, "%s", p);
    assert_null(luaverifier_load(path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "syntax.lua:3:"));
    snprintf(path, sizeof path, "%s", write_file("noscore.lua", "return { name = 'x' }\n"));
    assert_null(luaverifier_load(path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "score"));
    snprintf(path, sizeof path, "%s", write_file("io.lua", "io.write('x')\n"));
    assert_null(luaverifier_load(path, NULL, err, sizeof err));
    assert_non_null(strstr(err, "io.lua:1:"));
    assert_null(luaverifier_load("/nonexistent/x.lua", NULL, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.lua"));
}

static void test_random_in_verifier(void **state) {
    (void)state;
    Verifier *v = load("rnd.lua", "return rlvr.verifier{ name = 'rnd', score = function(t, c)"
                                  " return 0.5, 'ok', { r = rlvr.random(1000000000) } end }\n", NULL);
    char *a = score(v, NULL, "same"), *b = score(v, NULL, "same"), *c = score(v, NULL, "other");
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    free(a); free(b); free(c);
    v->free(v);
}

static const char *CD_META = "{\"numbers\":[3,5,3,100],\"target\":24}";

static void test_countdown(void **state) {
    (void)state;
    char err[512];
    Verifier *v = luaverifier_load("lua/verifiers/countdown.lua", NULL, err, sizeof err);
    if (!v) fprintf(stderr, "%s\n", err);
    assert_non_null(v);
    assert_string_equal(v->name, "countdown");
    expect(score(v, CD_META, "Think...\n(3+5)*3 = 24"), "\"correct\"", "\"reward\":1");
    expect(score(v, CD_META, "answer: 3 × (5 + 3)."), "\"correct\"", NULL);
    expect(score(v, CD_META, "Answer: 100/(5*5)"), "\"invalid\"", "5 used more often");
    expect(score(v, CD_META, "Answer: 3*5+3"), "\"wrong\"", "\"value\":18");
    expect(score(v, CD_META, "Answer: 7*3+3"), "\"invalid\"", "7 is not one of the numbers");
    expect(score(v, CD_META, "Answer: (5+3)*3*3"), "\"invalid\"", "used more often");
    expect(score(v, CD_META, "Answer: 100/3"), "\"invalid\"", "inexact division");
    expect(score(v, CD_META, "Answer: 100/(3-3)"), "\"invalid\"", "division by zero");
    expect(score(v, CD_META, "Answer: (3+5"), "\"invalid\"", "missing ')'");
    expect(score(v, CD_META, "I give up."), "\"no_answer\"", NULL);
    expect(score(v, "{}", "Answer: 1"), "\"verifier_error\"", "countdown.lua");
    v->free(v);
}

static void test_compose_arith(void **state) {
    (void)state;
    Verifier *v = load("wrap.lua",
        "return rlvr.verifier{ name = 'wrap', score = function(task, c)\n"
        "  local r = rlvr.verify('arith', { reference = task.meta.gold }, c)\n"
        "  return r.reward, r.status, { inner = r.detail }\n"
        "end }\n", NULL);
    expect(score(v, "{\"gold\":\"#### 18\"}", "so the answer is 18"), "\"correct\"", "\"inner\"");
    expect(score(v, "{\"gold\":\"#### 18\"}", "so the answer is 17"), "\"wrong\"", NULL);
    v->free(v);
    v = load("nover.lua", "return rlvr.verifier{ name = 'nover', score = function(t, c)"
                          " return rlvr.verify('nope', t, c).reward end }\n", NULL);
    expect(score(v, NULL, "x"), "\"verifier_error\"", "no verifier named 'nope'");
    v->free(v);
}

/* 4 threads share one verifier (and its pool of states): same verdicts as serial. */
static void test_parallel(void **state) {
    (void)state;
    char err[512];
    Verifier *v = luaverifier_load("lua/verifiers/countdown.lua", NULL, err, sizeof err);
    assert_non_null(v);
    enum { N = 400 };
    static char comp[N][64];
    static char *serial[N], *par[N];
    const char *forms[] = { "Answer: (%d+5)*3", "Answer: %d*5+3", "%d+100", "no idea %d", "Answer: (%d", "Answer: 100/%d" };
    for (int i = 0; i < N; i++) snprintf(comp[i], sizeof comp[i], forms[i % 6], 1 + i % 7);
    double t0 = now();
    for (int i = 0; i < N; i++) serial[i] = score(v, CD_META, comp[i]);
    double t1 = now();
    int bad = 0;
    #pragma omp parallel for num_threads(4) schedule(dynamic, 3)
    for (int i = 0; i < N; i++) {
        /* cmocka's asserts are not thread-safe: score by hand here. */
        Task t = { .id = "t1", .prompt = "p", .reference = "", .verifier = "" };
        t.meta = cJSON_Parse(CD_META);
        Verdict vd;
        if (!t.meta || verdict_init(&vd)) { 
            #pragma omp atomic
            bad++;
            cJSON_Delete(t.meta);
            continue;
        }
        v->score(v, &t, comp[i], strlen(comp[i]), &vd);
        par[i] = verdict_to_json(&vd);
        verdict_free(&vd);
        cJSON_Delete(t.meta);
    }
    double t2 = now();
    assert_int_equal(bad, 0);
    for (int i = 0; i < N; i++) {
        assert_non_null(par[i]);
        assert_string_equal(serial[i], par[i]);
        free(serial[i]);
        free(par[i]);
    }
    printf("  countdown: %.0f verdicts/s serial, %.0f with 4 threads\n", N / (t1 - t0), N / (t2 - t1));
    v->free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_random_deterministic),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_random_in_verifier),
        cmocka_unit_test(test_countdown),
        cmocka_unit_test(test_compose_arith),
        cmocka_unit_test(test_parallel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
