/* test_curriculum: Lua curricula.
 *
 * What a user relies on: a mistake in the script is reported with the script's file and
 * line; the same seed gives the same task stream and another seed another one; a run
 * that saves the curriculum state mid-stage and restores it into a fresh load draws the
 * same tasks (generators, shuffled JSONL) and promotes at the same step as one never
 * stopped; training draws never return a held-out eval prompt; stages end by step
 * count or by the promotion rule (window, threshold, min and max steps). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lua/curriculum.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

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
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-cur-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) ? -1 : 0;
}

static Curriculum *load(const char *path, uint64_t seed) {
    LuaHostLimits lim = { 0 };
    lim.root = "lua";
    char err[2048];
    Curriculum *c = curriculum_load(path, seed, &lim, err, sizeof err);
    if (!c) fail_msg("load %s: %s", path, err);
    return c;
}

/* The error of a script expected to fail. */
static const char *load_error(const char *name, const char *text) {
    static char err[2048];
    LuaHostLimits lim = { 0 };
    lim.root = "lua";
    const char *path = write_file(name, text);
    Curriculum *c = curriculum_load(path, 1, &lim, err, sizeof err);
    if (c) { curriculum_free(c); fail_msg("%s loaded, expected an error", name); }
    return err;
}

/* Generators over a space big enough that an eval set of 20 leaves most of it. */
static const char *BASIC =
    "local rlvr = require('rlvr')\n"
    "local function add()\n"
    "  local a, b = math.random(1, 200), math.random(1, 200)\n"
    "  return { prompt = ('What is %d + %d?'):format(a, b), reference = ('#### %d'):format(a + b),\n"
    "           meta = { a = a, b = b } }\n"
    "end\n"
    "local function mul()\n"
    "  local a, b = math.random(2, 30), math.random(2, 30)\n"
    "  return { prompt = ('What is %d * %d?'):format(a, b), reference = ('#### %d'):format(a * b) }\n"
    "end\n"
    "return rlvr.curriculum{\n"
    "  name = 'basic',\n"
    "  defaults = { preset = 'tiny', lr = 0.001 },\n"
    "  stages = {\n"
    "    { name = 'warm', mode = 'sft', steps = 3, sources = { add } },\n"
    "    { name = 'mix', mode = 'rl', verifier = 'arith', temperature = 0.7, group_size = 4,\n"
    "      sources = { { generate = add, weight = 3 }, { generate = mul, weight = 1 },\n"
    "                  { jsonl = 'data.jsonl', weight = 2 } },\n"
    "      promote = { window = 8, threshold = 0.75, min_steps = 2, max_steps = 6 } },\n"
    "    { name = 'last', mode = 'rl', verifiers = { arith = 1, countdown = 0.5 }, steps = 2, sources = { mul } },\n"
    "  },\n"
    "  eval = { n = 20, seed = 42, sources = { add }, verifier = 'arith' },\n"
    "}\n";

static const char *write_basic(void) {
    char buf[4096] = "";
    for (int i = 1; i <= 7; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"question\":\"line %d: what is %d?\",\"answer\":\"#### %d\"}\n", i, i, i);
        strcat(buf, line);
    }
    write_file("data.jsonl", buf);
    static char path[256];
    snprintf(path, sizeof path, "%s", write_file("basic.lua", BASIC));
    return path;
}

static void test_structure(void **state) {
    (void)state;
    Curriculum *c = load(write_basic(), 1);
    assert_string_equal(curriculum_name(c), "basic");
    assert_int_equal(curriculum_n_stages(c), 3);
    const Stage *w = curriculum_stage(c, 0), *m = curriculum_stage(c, 1), *l = curriculum_stage(c, 2);
    assert_int_equal(w->mode, STAGE_SFT);
    assert_int_equal(w->steps, 3);
    assert_int_equal(m->mode, STAGE_RL);
    assert_int_equal(m->n_sources, 3);
    assert_true(m->sources[2].weight == 2.0);
    assert_int_equal(m->window, 8);
    assert_true(m->threshold == 0.75);
    assert_int_equal(m->min_steps, 2);
    assert_int_equal(m->max_steps, 6);
    assert_int_equal(m->n_verifiers, 1);
    assert_string_equal(m->verifiers[0].name, "arith");
    assert_true(cJSON_GetObjectItem(m->overrides, "temperature")->valuedouble == 0.7);
    assert_int_equal(cJSON_GetObjectItem(m->overrides, "group_size")->valueint, 4);
    /* Map entries come out sorted by name, whatever Lua's table order. */
    assert_int_equal(l->n_verifiers, 2);
    assert_string_equal(l->verifiers[0].name, "arith");
    assert_string_equal(l->verifiers[1].name, "countdown");
    assert_true(l->verifiers[1].weight == 0.5);
    assert_string_equal(cJSON_GetObjectItem(curriculum_defaults(c), "preset")->valuestring, "tiny");
    assert_int_equal(curriculum_n_eval(c), 20);
    assert_string_equal(curriculum_eval_task(c, 0)->verifier, "arith");
    /* A generator's meta table becomes the task's meta (not meta.meta). */
    Task t;
    char err[512];
    if (curriculum_draw(c, &t, err, sizeof err)) fail_msg("draw: %s", err);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(t.meta, "a")));
    assert_null(cJSON_GetObjectItem(t.meta, "meta"));
    assert_non_null(strstr(t.id, "warm:"));
    task_free(&t);
    curriculum_free(c);
}

/* The prompts of the next n training draws, joined. */
static char *draw_prompts(Curriculum *c, int n) {
    size_t cap = 64 * (size_t)n + 1, len = 0;
    char *s = calloc(cap, 1);
    assert_non_null(s);
    char err[1024];
    for (int i = 0; i < n; i++) {
        Task t;
        if (curriculum_draw(c, &t, err, sizeof err)) fail_msg("draw: %s", err);
        len += (size_t)snprintf(s + len, cap - len, "%s|", t.prompt);
        task_free(&t);
    }
    return s;
}

static void test_same_seed_same_stream(void **state) {
    (void)state;
    const char *p = write_basic();
    Curriculum *a = load(p, 7), *b = load(p, 7), *c = load(p, 8);
    curriculum_end_step(a); curriculum_end_step(a); curriculum_end_step(a);   /* into 'mix' */
    curriculum_end_step(b); curriculum_end_step(b); curriculum_end_step(b);
    curriculum_end_step(c); curriculum_end_step(c); curriculum_end_step(c);
    assert_int_equal(curriculum_stage_index(a), 1);
    char *sa = draw_prompts(a, 60), *sb = draw_prompts(b, 60), *sc = draw_prompts(c, 60);
    assert_string_equal(sa, sb);
    assert_string_not_equal(sa, sc);
    /* All three sources were drawn from. */
    assert_non_null(strstr(sa, "+"));
    assert_non_null(strstr(sa, "*"));
    assert_non_null(strstr(sa, "line "));
    /* The eval set depends on eval.seed, not on the run's seed. */
    assert_string_equal(curriculum_eval_task(a, 3)->prompt, curriculum_eval_task(c, 3)->prompt);
    free(sa); free(sb); free(sc);
    curriculum_free(a); curriculum_free(b); curriculum_free(c);
}

static void test_held_out_never_drawn(void **state) {
    (void)state;
    Curriculum *c = load(write_basic(), 3);
    char err[1024];
    for (int i = 0; i < 3000; i++) {
        Task t;
        if (curriculum_draw(c, &t, err, sizeof err)) fail_msg("draw: %s", err);
        for (int k = 0; k < curriculum_n_eval(c); k++)
            if (strcmp(t.prompt, curriculum_eval_task(c, k)->prompt) == 0) fail_msg("drew held-out prompt %s", t.prompt);
        task_free(&t);
    }
    curriculum_free(c);
}

/* Save mid-stage (in the middle of a shuffled JSONL epoch, with a part-full window),
 * restore into a fresh load, and compare what both draw and when both promote. */
static void test_save_restore_mid_stage(void **state) {
    (void)state;
    const char *p = write_basic();
    Curriculum *a = load(p, 11);
    for (int i = 0; i < 3; i++) curriculum_end_step(a);
    char *head = draw_prompts(a, 10);   /* 10 draws: part-way through the 7-line file */
    double r[3] = { 1, 0, 1 };
    curriculum_record(a, r, 3);
    curriculum_end_step(a);
    cJSON *st = curriculum_save(a);
    assert_non_null(st);
    char *text = cJSON_PrintUnformatted(st);
    cJSON_Delete(st);
    cJSON *back = cJSON_Parse(text);
    free(text);

    Curriculum *b = load(p, 999);   /* the seed comes back with the state */
    char err[1024];
    if (curriculum_restore(b, back, err, sizeof err)) fail_msg("restore: %s", err);
    cJSON_Delete(back);
    assert_int_equal(curriculum_stage_index(b), 1);
    assert_int_equal(curriculum_stage_step(b), 1);
    int na, nb;
    assert_true(curriculum_window_mean(a, &na) == curriculum_window_mean(b, &nb));
    assert_int_equal(na, nb);
    char *ta = draw_prompts(a, 40), *tb = draw_prompts(b, 40);
    assert_string_equal(ta, tb);
    /* Same rewards afterwards: both promote at the same step. */
    double ones[4] = { 1, 1, 1, 1 };
    int ea = 0, eb = 0;
    while (!ea) { curriculum_record(a, ones, 4); ea = curriculum_end_step(a); }
    while (!eb) { curriculum_record(b, ones, 4); eb = curriculum_end_step(b); }
    assert_int_equal(curriculum_total_steps(a), curriculum_total_steps(b));
    free(head); free(ta); free(tb);
    curriculum_free(a); curriculum_free(b);
}

static void test_restore_refuses_other_state(void **state) {
    (void)state;
    Curriculum *c = load(write_basic(), 1);
    char err[512];
    cJSON *bad = cJSON_Parse("{\"name\":\"other\"}");
    assert_int_equal(curriculum_restore(c, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "another curriculum"));
    cJSON_Delete(bad);
    bad = cJSON_Parse("{\"name\":\"basic\",\"stage\":1,\"stage_step\":0,\"total_steps\":0,\"draws\":0,\"rejected\":0,\"seed\":\"0000000000000001\","
                      "\"pick_rng\":\"0000000000000001\",\"lua_rng\":\"0000000000000001\",\"sources\":[[{\"epoch\":0,\"pos\":0}]],\"window\":[]}");
    assert_int_equal(curriculum_restore(c, bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "stages"));
    cJSON_Delete(bad);
    curriculum_free(c);
}

static void test_promotion(void **state) {
    (void)state;
    Curriculum *c = load(write_basic(), 1);
    for (int i = 0; i < 2; i++) assert_int_equal(curriculum_end_step(c), 0);
    assert_int_equal(curriculum_end_step(c), 1);          /* 'warm' ends after 3 steps */
    double ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }, zeros[8] = { 0 };
    curriculum_record(c, ones, 8);
    assert_int_equal(curriculum_end_step(c), 0);          /* window full, but min_steps 2 */
    assert_int_equal(curriculum_end_step(c), 1);          /* promoted at step 2 */
    assert_int_equal(curriculum_stage_index(c), 2);
    int n;
    curriculum_window_mean(c, &n);
    assert_int_equal(n, 0);                               /* the window starts empty */
    assert_int_equal(curriculum_end_step(c), 0);
    assert_int_equal(curriculum_end_step(c), 2);          /* 'last': 2 steps, then finished */
    char err[256];
    Task t;
    assert_int_equal(curriculum_draw(c, &t, err, sizeof err), -1);

    /* Below the threshold the stage runs to max_steps; 6 of 8 is exactly 0.75. */
    c = (curriculum_free(c), load(write_basic(), 1));
    for (int i = 0; i < 3; i++) curriculum_end_step(c);
    for (int i = 0; i < 5; i++) {
        curriculum_record(c, zeros, 8);
        assert_int_equal(curriculum_end_step(c), 0);
    }
    assert_int_equal(curriculum_end_step(c), 1);          /* max_steps 6 */
    c = (curriculum_free(c), load(write_basic(), 1));
    for (int i = 0; i < 3; i++) curriculum_end_step(c);
    double six[8] = { 1, 1, 1, 1, 1, 1, 0, 0 };
    curriculum_record(c, zeros, 8);
    curriculum_record(c, six, 8);                         /* the old zeros leave the window */
    assert_int_equal(curriculum_end_step(c), 0);
    assert_int_equal(curriculum_end_step(c), 1);
    curriculum_free(c);
}

/* Every mistake names the script and a line. */
static void test_errors_name_file_and_line(void **state) {
    (void)state;
    const char *e;
    e = load_error("typo.lua",
                   "local rlvr = require('rlvr')\nlocal g = function() return {prompt='p'} end\n"
                   "return rlvr.curriculum{ name = 'x',\n  stages = { { mode = 'sft', steps = 2, sources = { g }, temprature = 1 } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "typo.lua:3:"));
    assert_non_null(strstr(e, "temprature"));
    e = load_error("stage.lua",
                   "local rlvr = require('rlvr')\nlocal g = function() return {prompt='p'} end\n"
                   "local s = rlvr.stage{ mode = 'rl', steps = 2, sources = { g } }\n"
                   "return rlvr.curriculum{ name = 'x', stages = { s }, eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "stage.lua:3:"));
    assert_non_null(strstr(e, "verifier"));
    e = load_error("mode.lua",
                   "local rlvr = require('rlvr')\nlocal g = function() return {prompt='p'} end\n"
                   "return rlvr.curriculum{ name = 'x',\n  stages = { { mode = 'ppo', steps = 2, sources = { g } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "mode.lua:3:"));
    assert_non_null(strstr(e, "mode must be"));
    e = load_error("both.lua",
                   "local rlvr = require('rlvr')\nlocal g = function() return {prompt='p'} end\n"
                   "return rlvr.curriculum{ name = 'x',\n  stages = { { mode = 'rl', verifier = 'arith', steps = 2, "
                   "promote = { window = 4, threshold = 0.5 }, sources = { g } } },\n  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "exactly one end"));
    e = load_error("plain.lua", "return { name = 'x' }\n");
    assert_non_null(strstr(e, "plain.lua"));
    assert_non_null(strstr(e, "rlvr.curriculum"));
    e = load_error("syntax.lua", "return rlvr.curriculum{ name = 'x',\n");
    assert_non_null(strstr(e, "syntax.lua:"));
    e = load_error("nofile.lua",
                   "local g = function() return {prompt='p'} end\n"
                   "return rlvr.curriculum{ name = 'x',\n  stages = { { mode = 'sft', steps = 2, sources = { { jsonl = 'missing.jsonl' } } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "nofile.lua:2:"));
    assert_non_null(strstr(e, "missing.jsonl"));
    write_file("badline.jsonl", "{\"question\":\"q\",\"answer\":\"a\"}\nnot json\n");
    e = load_error("badjsonl.lua",
                   "local g = function() return {prompt='p'} end\n"
                   "return rlvr.curriculum{ name = 'x',\n  stages = { { mode = 'sft', steps = 2, sources = { { jsonl = 'badline.jsonl' } } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "badline.jsonl:2:"));
    /* Generators that fail at draw time (here while the eval set is drawn). */
    e = load_error("generr.lua",
                   "local function g()\n  local t = nil\n  return { prompt = t.x }\nend\n"
                   "return rlvr.curriculum{ name = 'x', stages = { { mode = 'sft', steps = 2, sources = { g } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "generr.lua:3:"));
    e = load_error("loop.lua",
                   "local function g()\n  while true do end\nend\n"
                   "return rlvr.curriculum{ name = 'x', stages = { { mode = 'sft', steps = 2, sources = { g } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "instruction budget"));
    e = load_error("notask.lua",
                   "local function g()\n  return 42\nend\n"
                   "return rlvr.curriculum{ name = 'x', stages = { { mode = 'sft', steps = 2, sources = { g } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "notask.lua:1:"));
    assert_non_null(strstr(e, "returned number"));
    e = load_error("noprompt.lua",
                   "local function g()\n  return { reference = '1' }\nend\n"
                   "return rlvr.curriculum{ name = 'x', stages = { { mode = 'sft', steps = 2, sources = { g } } },\n"
                   "  eval = { n = 1, sources = { g } } }\n");
    assert_non_null(strstr(e, "noprompt.lua:1:"));
    assert_non_null(strstr(e, "prompt"));
}

/* A generator failing during training is an error for the draw, naming the line. */
static void test_generator_error_at_draw(void **state) {
    (void)state;
    const char *p = write_file("late.lua",
                               "local n = 0\n"
                               "local function ok() return { prompt = 'p' .. math.random(1, 1000000) } end\n"
                               "local function bad()\n  error('no more tasks')\nend\n"
                               "return rlvr.curriculum{ name = 'x', stages = { { mode = 'sft', steps = 2, sources = { bad } } },\n"
                               "  eval = { n = 2, sources = { ok } } }\n");
    Curriculum *c = load(p, 1);
    Task t;
    char err[1024];
    assert_int_equal(curriculum_draw(c, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "late.lua:4:"));
    assert_non_null(strstr(err, "no more tasks"));
    curriculum_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_held_out_never_drawn),
        cmocka_unit_test(test_save_restore_mid_stage),
        cmocka_unit_test(test_restore_refuses_other_state),
        cmocka_unit_test(test_promotion),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_generator_error_at_draw),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
