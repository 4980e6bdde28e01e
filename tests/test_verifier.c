/* test_verifier: the Verdict every reward passes through, the registry that finds
 * verifiers by name, and the Task record `rlvr verify` builds from a JSON line.
 *
 * What leaves a verifier must always be a reward in [0, 1] with a status and a detail
 * object, whatever the verifier wrote; the registry must refuse what it cannot tell
 * apart (duplicate or empty names), own what it is given (no leaks, even on refusal) and
 * answer lookups from many threads; tasks must map dataset fields the documented way and
 * name the field at fault. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- a test-only verifier */

static int g_freed; /* how many test verifiers were released through their free hook */

/* Reward 1 when the completion equals the reference, else 0; detail has the length. */
static void echo_score(const Verifier *self, const Task *task, const char *completion, size_t len, Verdict *out) {
    (void)self;
    int ok = strlen(task->reference) == len && memcmp(task->reference, completion, len) == 0;
    verdict_set(out, ok ? 1.0 : 0.0, ok ? VERDICT_CORRECT : VERDICT_WRONG);
    cJSON_AddNumberToObject(out->detail, "length", (double)len);
}

static void echo_free(Verifier *self) {
    g_freed++;
    free(self->state);
    free(self);
}

static Verifier *echo_create(const char *name) {
    Verifier *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->name = name;
    v->score = echo_score;
    v->free = echo_free;
    v->state = malloc(16); /* something for the free hook to release (ASan checks) */
    return v;
}

static int teardown_registry(void **state) {
    (void)state;
    verifier_registry_free();
    return 0;
}

/* ---------------------------------------------------------------- verdicts */

static cJSON *to_json(const Verdict *v) {
    char *s = verdict_to_json(v);
    assert_non_null(s);
    assert_null(strchr(s, '\n'));
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    free(s);
    return j;
}

static double json_reward(const cJSON *j) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reward");
    assert_true(cJSON_IsNumber(r));
    return r->valuedouble;
}

static const char *json_status(const cJSON *j) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    assert_true(cJSON_IsString(s));
    return s->valuestring;
}

static void test_verdict_init(void **state) {
    (void)state;
    Verdict v;
    assert_int_equal(verdict_init(&v), 0);
    assert_true(v.reward == 0.0);
    assert_string_equal(v.status, "");
    assert_true(cJSON_IsObject(v.detail));
    assert_null(v.detail->child);
    verdict_free(&v);
    assert_null(v.detail);
    verdict_free(&v); /* twice is harmless */
}

static void test_verdict_json_shape(void **state) {
    (void)state;
    Verdict v;
    assert_int_equal(verdict_init(&v), 0);
    verdict_set(&v, 0.25, VERDICT_WRONG);
    cJSON_AddStringToObject(v.detail, "parsed", "17");
    cJSON_AddStringToObject(v.detail, "expected", "18");
    cJSON *j = to_json(&v);
    /* Exactly reward, status, detail, in that order. */
    const char *keys[] = { "reward", "status", "detail" };
    int k = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, j) { assert_true(k < 3); assert_string_equal(f->string, keys[k]); k++; }
    assert_int_equal(k, 3);
    assert_true(json_reward(j) == 0.25);
    assert_string_equal(json_status(j), "wrong");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
    assert_true(cJSON_IsObject(d));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "parsed")->valuestring, "17");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "expected")->valuestring, "18");
    cJSON_Delete(j);
    /* The verdict itself is untouched by printing. */
    assert_true(v.reward == 0.25);
    verdict_free(&v);
}

static void test_verdict_clamping(void **state) {
    (void)state;
    struct { double in, want; } cases[] = { { -0.5, 0.0 }, { 1.5, 1.0 }, { 0.0, 0.0 }, { 1.0, 1.0 },
                                            { 0.5, 0.5 }, { -1e300, 0.0 }, { 1e300, 1.0 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Verdict v;
        assert_int_equal(verdict_init(&v), 0);
        verdict_set(&v, cases[i].in, VERDICT_CORRECT);
        assert_true(v.reward == cases[i].want);
        assert_string_equal(v.status, "correct");
        verdict_free(&v);
        /* Written directly, the reward is clamped on the way out. */
        assert_int_equal(verdict_init(&v), 0);
        v.reward = cases[i].in;
        strcpy(v.status, "correct");
        cJSON *j = to_json(&v);
        assert_true(json_reward(j) == cases[i].want);
        assert_string_equal(json_status(j), "correct");
        cJSON_Delete(j);
        verdict_free(&v);
    }
}

static void test_verdict_non_finite(void **state) {
    (void)state;
    double bad[] = { NAN, -NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Verdict v;
        assert_int_equal(verdict_init(&v), 0);
        verdict_set(&v, bad[i], VERDICT_CORRECT);
        assert_true(v.reward == 0.0);
        assert_string_equal(v.status, VERDICT_VERIFIER_ERROR);
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v.detail, "error")));
        cJSON *j = to_json(&v);
        assert_true(json_reward(j) == 0.0);
        assert_string_equal(json_status(j), "verifier_error");
        cJSON_Delete(j);
        verdict_free(&v);
        /* Written directly: refused on the way out, never printed as NaN. */
        assert_int_equal(verdict_init(&v), 0);
        v.reward = bad[i];
        strcpy(v.status, "correct");
        char *s = verdict_to_json(&v);
        assert_non_null(s);
        assert_null(strstr(s, "nan"));
        assert_null(strstr(s, "inf"));
        j = cJSON_Parse(s);
        free(s);
        assert_non_null(j);
        assert_true(json_reward(j) == 0.0);
        assert_string_equal(json_status(j), "verifier_error");
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "detail"), "error")));
        cJSON_Delete(j);
        verdict_free(&v);
    }
}

static void test_verdict_odd_fields(void **state) {
    (void)state;
    Verdict v;
    /* No status at all: a verifier bug, reported as such. */
    assert_int_equal(verdict_init(&v), 0);
    v.reward = 1.0;
    cJSON *j = to_json(&v);
    assert_true(json_reward(j) == 0.0);
    assert_string_equal(json_status(j), "verifier_error");
    cJSON_Delete(j);
    /* No detail object: printed as {}. */
    cJSON_Delete(v.detail);
    v.detail = NULL;
    verdict_set(&v, 1.0, VERDICT_CORRECT);
    j = to_json(&v);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "detail")));
    cJSON_Delete(j);
    /* A detail that is not an object: also {}. */
    v.detail = cJSON_CreateString("oops");
    j = to_json(&v);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "detail")));
    cJSON_Delete(j);
    /* A long status is cut, not overflowed. */
    verdict_set(&v, 0.0, "a_status_that_is_much_longer_than_thirty_one_bytes");
    assert_int_equal(strlen(v.status), sizeof v.status - 1);
    /* A NULL status is the empty one. */
    verdict_set(&v, 0.0, NULL);
    assert_string_equal(v.status, "");
    verdict_free(&v);
}

/* ---------------------------------------------------------------- registry */

static void test_registry_find_and_names(void **state) {
    (void)state;
    char err[256];
    assert_string_equal(verifier_names(), "");
    assert_null(verifier_find("echo"));
    assert_int_equal(verifier_register(echo_create("echo"), err, sizeof err), 0);
    assert_int_equal(verifier_register(echo_create("echo2"), err, sizeof err), 0);
    const Verifier *e = verifier_find("echo");
    assert_non_null(e);
    assert_string_equal(e->name, "echo");
    assert_string_equal(verifier_find("echo2")->name, "echo2");
    assert_null(verifier_find("ech"));
    assert_null(verifier_find("ECHO"));
    assert_null(verifier_find(""));
    assert_null(verifier_find(NULL));
    assert_string_equal(verifier_names(), "echo, echo2");

    /* Scoring through the registry. */
    Task t = { .id = "", .prompt = "p", .reference = "42", .verifier = "" };
    Verdict v;
    assert_int_equal(verdict_init(&v), 0);
    e->score(e, &t, "42", 2, &v);
    assert_true(v.reward == 1.0);
    assert_string_equal(v.status, "correct");
    verdict_free(&v);

    g_freed = 0;
    verifier_registry_free();
    assert_int_equal(g_freed, 2);
    assert_null(verifier_find("echo"));
    assert_string_equal(verifier_names(), "");
    /* Usable again after being freed. */
    assert_int_equal(verifier_register(echo_create("echo"), err, sizeof err), 0);
    assert_non_null(verifier_find("echo"));
}

static void test_registry_refusals(void **state) {
    (void)state;
    char err[256];
    g_freed = 0;
    assert_int_equal(verifier_register(echo_create("echo"), err, sizeof err), 0);
    const Verifier *first = verifier_find("echo");

    err[0] = 0;
    assert_int_equal(verifier_register(echo_create("echo"), err, sizeof err), -1);
    assert_non_null(strstr(err, "echo"));
    assert_non_null(strstr(err, "already"));
    assert_int_equal(g_freed, 1); /* the refused one was released, not leaked */
    assert_ptr_equal(verifier_find("echo"), first);

    err[0] = 0;
    assert_int_equal(verifier_register(echo_create(""), err, sizeof err), -1);
    assert_non_null(strstr(err, "name"));
    assert_int_equal(g_freed, 2);

    err[0] = 0;
    assert_int_equal(verifier_register(echo_create(NULL), err, sizeof err), -1);
    assert_non_null(strstr(err, "name"));
    assert_int_equal(g_freed, 3);

    err[0] = 0;
    assert_int_equal(verifier_register(NULL, err, sizeof err), -1);
    assert_true(err[0] != 0);

    Verifier *noscore = echo_create("noscore");
    noscore->score = NULL;
    err[0] = 0;
    assert_int_equal(verifier_register(noscore, err, sizeof err), -1);
    assert_non_null(strstr(err, "noscore"));
    assert_null(verifier_find("noscore"));

    /* A verifier without a free hook is released with free() (ASan would see a leak). */
    Verifier *plain = calloc(1, sizeof *plain);
    assert_non_null(plain);
    plain->name = "plain";
    plain->score = echo_score;
    assert_int_equal(verifier_register(plain, err, sizeof err), 0);
    assert_string_equal(verifier_names(), "echo, plain");
}

static void test_registry_many(void **state) {
    (void)state;
    char err[256], names[100][16];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "v%03d", i);
        assert_int_equal(verifier_register(echo_create(names[i]), err, sizeof err), 0);
    }
    for (int i = 0; i < 100; i++) assert_string_equal(verifier_find(names[i])->name, names[i]);
    assert_int_equal(strncmp(verifier_names(), "v000, v001, ", 12), 0);
    assert_non_null(strstr(verifier_names(), ", v099"));
    /* Lookups from many threads at once, after registration. */
    int misses = 0;
    #pragma omp parallel for reduction(+:misses) num_threads(4)
    for (int k = 0; k < 40000; k++) {
        const Verifier *v = verifier_find(names[k % 100]);
        if (!v || strcmp(v->name, names[k % 100]) != 0) misses++;
        if (verifier_find("absent")) misses++;
    }
    assert_int_equal(misses, 0);
    g_freed = 0;
    verifier_registry_free();
    assert_int_equal(g_freed, 100);
}

static void test_builtins(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(verifiers_register_builtins(err, sizeof err), 0);
    const Verifier *a = verifier_find("arith");
    assert_non_null(a);
    assert_string_equal(a->name, "arith");
    /* Idempotent: a second call neither fails nor registers twice. */
    assert_int_equal(verifiers_register_builtins(err, sizeof err), 0);
    assert_ptr_equal(verifier_find("arith"), a);
    assert_string_equal(verifier_names(), "arith, arith_steps, ccrun");
    /* And others can join. */
    assert_int_equal(verifier_register(echo_create("echo"), err, sizeof err), 0);
    assert_string_equal(verifier_names(), "arith, arith_steps, ccrun, echo");
    /* A GSM8K gold answer scores itself as correct with reward 1. */
    Task t = { .id = "", .prompt = "q", .reference = "3 + 4 = <<3+4=7>>7\n#### 7", .verifier = "" };
    Verdict v;
    assert_int_equal(verdict_init(&v), 0);
    a->score(a, &t, t.reference, strlen(t.reference), &v);
    assert_true(v.reward == 1.0);
    assert_string_equal(v.status, VERDICT_CORRECT);
    verdict_free(&v);
}

/* ---------------------------------------------------------------- tasks from JSON */

static int task_from(const char *json, Task *t, char *err, size_t errlen) {
    static const char *const skip[] = { "completion", NULL };
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    int rc = task_from_json(t, j, skip, err, errlen);
    cJSON_Delete(j);
    return rc;
}

static void test_task_gsm8k_fields(void **state) {
    (void)state;
    char err[256];
    Task t;
    assert_int_equal(task_from("{\"question\":\"How many?\",\"answer\":\"2+2=4\\n#### 4\",\"completion\":\"4\"}",
                               &t, err, sizeof err), 0);
    assert_string_equal(t.prompt, "How many?");
    assert_string_equal(t.reference, "2+2=4\n#### 4");
    assert_string_equal(t.id, "");
    assert_string_equal(t.verifier, "");
    assert_true(cJSON_IsObject(t.meta));
    assert_null(t.meta->child); /* completion skipped, known fields not copied */
    task_free(&t);
}

static void test_task_generic_fields(void **state) {
    (void)state;
    char err[256];
    Task t;
    assert_int_equal(task_from("{\"id\":\"t7\",\"prompt\":\"P\",\"reference\":\"R\",\"verifier\":\"arith\","
                               "\"difficulty\":3,\"tags\":[\"a\",\"b\"],\"source\":{\"name\":\"x\"},"
                               "\"completion\":\"C\",\"note\":null}", &t, err, sizeof err), 0);
    assert_string_equal(t.id, "t7");
    assert_string_equal(t.prompt, "P");
    assert_string_equal(t.reference, "R");
    assert_string_equal(t.verifier, "arith");
    assert_int_equal(cJSON_GetArraySize(t.meta), 4);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(t.meta, "difficulty")->valueint, 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t.meta, "tags")), 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t.meta, "source"), "name")->valuestring, "x");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t.meta, "note")));
    assert_null(cJSON_GetObjectItemCaseSensitive(t.meta, "completion"));
    assert_null(cJSON_GetObjectItemCaseSensitive(t.meta, "prompt"));
    task_free(&t);

    /* "prompt" wins over "question", "reference" over "answer"; no reference is "". */
    assert_int_equal(task_from("{\"question\":\"Q\",\"prompt\":\"P\"}", &t, err, sizeof err), 0);
    assert_string_equal(t.prompt, "P");
    assert_string_equal(t.reference, "");
    task_free(&t);
    assert_int_equal(task_from("{\"prompt\":\"P\",\"answer\":\"A\",\"reference\":\"R\"}", &t, err, sizeof err), 0);
    assert_string_equal(t.reference, "R");
    task_free(&t);

    /* Without a skip list, completion is just another meta field. */
    cJSON *j = cJSON_Parse("{\"prompt\":\"P\",\"completion\":\"C\"}");
    assert_int_equal(task_from_json(&t, j, NULL, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(t.meta, "completion")->valuestring, "C");
    task_free(&t);
    cJSON_Delete(j);
}

static void test_task_refusals(void **state) {
    (void)state;
    struct { const char *json, *field; } cases[] = {
        { "{\"answer\":\"4\"}", "prompt" },
        { "{\"question\":4,\"answer\":\"4\"}", "prompt" },
        { "{\"prompt\":null}", "prompt" },
        { "{\"prompt\":[\"P\"]}", "prompt" },
        { "{\"question\":\"Q\",\"answer\":4}", "reference" },
        { "{\"prompt\":\"P\",\"reference\":{}}", "reference" },
        { "{\"prompt\":\"P\",\"id\":7}", "id" },
        { "{\"prompt\":\"P\",\"verifier\":true}", "verifier" },
        { "[1,2]", "object" },
        { "\"text\"", "object" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        Task t;
        if (task_from(cases[i].json, &t, err, sizeof err) == 0) {
            print_error("accepted: %s\n", cases[i].json);
            fail();
        }
        if (!strstr(err, cases[i].field)) {
            print_error("%s: error '%s' does not name '%s'\n", cases[i].json, err, cases[i].field);
            fail();
        }
        task_free(&t); /* safe on a refused task */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_init),
        cmocka_unit_test(test_verdict_json_shape),
        cmocka_unit_test(test_verdict_clamping),
        cmocka_unit_test(test_verdict_non_finite),
        cmocka_unit_test(test_verdict_odd_fields),
        cmocka_unit_test_teardown(test_registry_find_and_names, teardown_registry),
        cmocka_unit_test_teardown(test_registry_refusals, teardown_registry),
        cmocka_unit_test_teardown(test_registry_many, teardown_registry),
        cmocka_unit_test_teardown(test_builtins, teardown_registry),
        cmocka_unit_test(test_task_gsm8k_fields),
        cmocka_unit_test(test_task_generic_fields),
        cmocka_unit_test(test_task_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
