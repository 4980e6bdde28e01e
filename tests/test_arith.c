/* test_arith: the arith verifier, checked the way a trainer relies on it.
 *
 * The reward must be exact (no tolerance, no float rounding, no percent scaling), must
 * not be fooled by formatting ("$70,000", "**42**", "\boxed{42}", "−3"), must not crash
 * or stall on hostile completions (binary junk, 10 MB, 10,000 nested parentheses), and
 * must agree with GSM8K's own gold answers and calculator annotations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "verifiers/arith.h"
#include "verifiers/verifier.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

/* ---------------------------------------------------------------- helpers */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Scores completion (len bytes) against reference into v (caller frees). */
static void score_bytes(const char *completion, size_t len, const char *reference, Verdict *v) {
    Verifier *arith = verifier_arith_create();
    assert_non_null(arith);
    Task t = { .id = "", .prompt = "", .reference = (char *)reference, .verifier = "arith" };
    assert_int_equal(verdict_init(v), 0);
    arith->score(arith, &t, completion, len, v);
    arith->free(arith);
}

static void assert_verdict(const char *completion, const char *reference, const char *status) {
    Verdict v;
    score_bytes(completion, strlen(completion), reference, &v);
    if (strcmp(v.status, status) != 0) {
        char *json = verdict_to_json(&v);
        fprintf(stderr, "  %s | ref %s -> %s (want %s)\n", completion, reference, json, status);
        free(json);
    }
    assert_string_equal(v.status, status);
    assert_true(v.reward == (strcmp(status, VERDICT_CORRECT) == 0 ? 1.0 : 0.0));
    verdict_free(&v);
}

static void assert_answer(const char *completion, const char *want) {
    char out[256];
    int rc = arith_extract_answer(completion, strlen(completion), out, sizeof out);
    if (!want) { assert_int_equal(rc, -1); return; }
    if (rc != 0 || strcmp(out, want) != 0) fprintf(stderr, "  %s -> %s (want %s)\n", completion, out, want);
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
}

static void assert_eval(const char *expr, const char *want) {
    char out[256];
    int rc = arith_eval(expr, strlen(expr), out, sizeof out);
    if (!want) { assert_int_equal(rc, -1); assert_string_equal(out, ""); return; }
    if (rc != 0 || strcmp(out, want) != 0) fprintf(stderr, "  %s = %s (want %s)\n", expr, out, want);
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
}

static double detail_number(const Verdict *v, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(v->detail, key);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

/* ---------------------------------------------------------------- final answers */

static void test_issue_examples(void **state) {
    (void)state;
    assert_verdict("#### $70,000", "70000", VERDICT_CORRECT);
    assert_verdict("The answer is $29.00.", "29", VERDICT_CORRECT);
    assert_verdict("#### -3", "3", VERDICT_WRONG);
    assert_verdict("#### 0.5", "50", VERDICT_WRONG);   /* no percent scaling */
    assert_verdict("#### 5000", "50", VERDICT_WRONG);
    assert_verdict("#### 12345678901234567890", "12345678901234567891", VERDICT_WRONG);
    assert_verdict("#### 12345678901234567890", "12345678901234567890", VERDICT_CORRECT);
    assert_verdict("#### 1,5", "15", VERDICT_WRONG);   /* "1,5" is 1 then junk */
    assert_verdict("#### 1,5", "1", VERDICT_CORRECT);
    assert_verdict("#### 18\nthen again\n#### 5", "18", VERDICT_CORRECT);
    assert_verdict("", "18", VERDICT_NO_ANSWER);
    assert_verdict("no digits here at all", "18", VERDICT_NO_ANSWER);
    assert_verdict("#### \xe2\x88\x92" "3", "-3", VERDICT_CORRECT);
    assert_verdict("so it is \\boxed{42}", "42", VERDICT_CORRECT);
    assert_verdict("The answer: **42**", "42", VERDICT_CORRECT);
    assert_verdict("42 dollars", "42", VERDICT_CORRECT);
    assert_verdict("She has 42 apples.", "42", VERDICT_CORRECT);
    assert_verdict("#### 1/2", "0.5", VERDICT_CORRECT);
    assert_verdict("#### .5", "0.5", VERDICT_CORRECT);
    assert_verdict("#### +7", "7", VERDICT_CORRECT);
    assert_verdict("#### 7", "He pays 3+4 = <<3+4=7>>7 dollars.\n#### 7", VERDICT_CORRECT);
    assert_verdict("#### 7", "no number in this reference", VERDICT_VERIFIER_ERROR);
    assert_verdict("#### 7", "", VERDICT_VERIFIER_ERROR);
}

static void test_answer_normalisation(void **state) {
    (void)state;
    assert_answer("#### $70,000", "70000");
    assert_answer("#### 1,234,567.50", "1234567.5");
    assert_answer("#### 1,5", "1");            /* commas group by three or end the number */
    assert_answer("#### 1234,567", "1234");    /* a group needs a 1-3 digit head */
    assert_answer("#### 1,2345", "1");         /* and exactly three digits */
    assert_answer("#### 3/4", "0.75");
    assert_answer("#### 1/3", "1/3");
    assert_answer("#### 1/0", "1");            /* a zero denominator is not a fraction */
    assert_answer("#### -$5", "-5");
    assert_answer("#### $-5", "-5");
    assert_answer("#### 50%", "50");
    assert_answer("#### 5.", "5");
    assert_answer("####-5", "-5");
    assert_answer("from 10-3 we get", "3");    /* a minus after a digit is an operator */
    assert_answer("Total = -12 apples", "-12");
    assert_answer("#### nothing numeric follows, but 8 came before", "8");
    assert_answer("a 12 then #### 9 and 10", "9");
    assert_answer("x\xe2\x88\x92" "4", "4");  /* letter before: not a sign */
    assert_answer("", NULL);
    assert_answer("####", NULL);
    assert_answer("0.000", "0");
    assert_answer("-0", "0");
}

static void test_binary_garbage(void **state) {
    (void)state;
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1664525u + 1013904223u;
            junk[i] = (unsigned char)(x >> 24);
        }
        Verdict v;
        score_bytes((const char *)junk, sizeof junk, "5", &v);
        assert_true(strcmp(v.status, VERDICT_NO_ANSWER) == 0 || strcmp(v.status, VERDICT_WRONG) == 0 ||
                    strcmp(v.status, VERDICT_CORRECT) == 0);
        char *json = verdict_to_json(&v);   /* the detail must serialise */
        assert_non_null(json);
        cJSON *back = cJSON_Parse(json);
        assert_non_null(back);
        cJSON_Delete(back);
        free(json);
        verdict_free(&v);
    }
    Verdict v;
    static const char nul_inside[] = "\0\x01\xff<<\xfe=\x80>>\0#### 5";
    score_bytes(nul_inside, sizeof nul_inside - 1, "5", &v);
    assert_string_equal(v.status, VERDICT_CORRECT);
    assert_true(detail_number(&v, "steps_total") == 1);
    verdict_free(&v);
}

/* ---------------------------------------------------------------- the calculator */

static void test_eval(void **state) {
    (void)state;
    assert_eval("2+3*4", "14");
    assert_eval("(2+3)*4", "20");
    assert_eval("2*3+4*5-6/3", "24");
    assert_eval("10-4-3", "3");                /* left associative */
    assert_eval("48/4/2", "6");
    assert_eval("-3*-2", "6");
    assert_eval("-(2+3)", "-5");
    assert_eval("+-+4", "-4");
    assert_eval("\xe2\x88\x92" "2+5", "3");
    assert_eval(".5*4", "2");
    assert_eval("0.1+0.2", "0.3");            /* exact, unlike doubles */
    assert_eval("3/4", "0.75");
    assert_eval("1/3", "1/3");
    assert_eval("-2/3", "-2/3");
    assert_eval("1/8", "0.125");
    assert_eval("-1/40", "-0.025");
    assert_eval("1,000*2", "2000");
    assert_eval(" ( 1 + 2 ) * 3 ", "9");
    assert_eval("7//2", "3");
    assert_eval("-7//2", "-4");                /* floor, not truncation */
    assert_eval("7//-2", "-4");
    assert_eval("7.5//2.5", "3");
    assert_eval("1+7//2*2", "7");              /* same precedence as * and / */
    assert_eval("99999999999999999999*99999999999999999999", "9999999999999999999800000000000000000001");
    assert_eval("1/0", NULL);
    assert_eval("5//0", NULL);
    assert_eval("1/(2-2)", NULL);
    assert_eval("", NULL);
    assert_eval("2+", NULL);
    assert_eval("(2+3", NULL);
    assert_eval("2+3)", NULL);
    assert_eval("2 3", NULL);
    assert_eval("2^3", NULL);
    assert_eval("abc", NULL);
    char small[4];
    assert_int_equal(arith_eval("12345", 5, small, sizeof small), -1);   /* does not fit */
    assert_string_equal(small, "");
}

static char *repeat_wrap(const char *open, int n, const char *mid, const char *close) {
    size_t len = strlen(open) * n + strlen(mid) + strlen(close) * n;
    char *s = malloc(len + 1);
    assert_non_null(s);
    char *p = s;
    for (int i = 0; i < n; i++) p = stpcpy(p, open);
    p = stpcpy(p, mid);
    for (int i = 0; i < n; i++) p = stpcpy(p, close);
    return s;
}

static void test_eval_limits(void **state) {
    (void)state;
    char out[64];
    char *deep = repeat_wrap("(", 10000, "1", ")");
    assert_int_equal(arith_eval(deep, strlen(deep), out, sizeof out), -1);   /* refused, no overflow */
    free(deep);
    char *minus = repeat_wrap("-", 10000, "1", "");
    assert_int_equal(arith_eval(minus, strlen(minus), out, sizeof out), -1);
    free(minus);
    char *ok = repeat_wrap("(", 100, "1", ")");
    assert_int_equal(arith_eval(ok, strlen(ok), out, sizeof out), 0);
    assert_string_equal(out, "1");
    free(ok);
    /* 20,000 characters: over the length cap. */
    char *longexpr = repeat_wrap("1+", 10000, "1", "");
    assert_int_equal(arith_eval(longexpr, strlen(longexpr), out, sizeof out), -1);
    free(longexpr);
    /* A long product within the cap evaluates exactly: 9^2500 has 2386 digits. */
    char *power = repeat_wrap("9*", 2499, "9", "");
    char *big = malloc(4096);
    assert_non_null(big);
    assert_int_equal(arith_eval(power, strlen(power), big, 4096), 0);
    assert_int_equal(strlen(big), 2386);
    free(big);
    free(power);
}

/* ---------------------------------------------------------------- annotations */

static const cJSON *step_at(const Verdict *v, int i) {
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v->detail, "steps"), i);
}

static void test_steps(void **state) {
    (void)state;
    const char *c = "a <<2+3=5>> b <<2*3=7>> c <<1/0=1>> d <<3/4=3/4>> e <<1/2=0.5>> "
                    "f <<6//4=1>> g <<2+2=four>> h <<no equals>> #### 5";
    Verdict v;
    score_bytes(c, strlen(c), "5", &v);
    assert_string_equal(v.status, VERDICT_CORRECT);
    assert_true(detail_number(&v, "steps_total") == 8);
    assert_true(detail_number(&v, "steps_ok") == 4);
    assert_true(detail_number(&v, "step_accuracy") == 0.5);
    const cJSON *s1 = step_at(&v, 1);
    assert_string_equal(cJSON_GetObjectItem(s1, "expression")->valuestring, "2*3");
    assert_string_equal(cJSON_GetObjectItem(s1, "claimed")->valuestring, "7");
    assert_string_equal(cJSON_GetObjectItem(s1, "computed")->valuestring, "6");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(s1, "ok")));
    const cJSON *s2 = step_at(&v, 2);   /* division by zero: not ok, no crash */
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s2, "computed")));
    assert_string_equal(cJSON_GetObjectItem(s2, "error")->valuestring, "division by zero");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(step_at(&v, 3), "ok")));
    verdict_free(&v);

    score_bytes("#### 5", 6, "5", &v);   /* no steps: accuracy is null, not 0 */
    assert_true(detail_number(&v, "steps_total") == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v.detail, "step_accuracy")));
    verdict_free(&v);
}

static void test_steps_listed_are_capped(void **state) {
    (void)state;
    char *c = malloc(100 * 16 + 16);
    assert_non_null(c);
    char *p = c;
    for (int i = 0; i < 100; i++) p += sprintf(p, "<<%d+1=%d>> ", i, i + (i % 4 ? 1 : 2));
    strcpy(p, "#### 1");
    Verdict v;
    score_bytes(c, strlen(c), "1", &v);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v.detail, "steps")), 64);
    assert_true(detail_number(&v, "steps_total") == 100);
    assert_true(detail_number(&v, "steps_ok") == 75);
    assert_true(detail_number(&v, "step_accuracy") == 0.75);
    verdict_free(&v);
    free(c);
}

/* ---------------------------------------------------------------- bounded time */

typedef void (*FillFn)(char *buf, size_t len);

static void fill_text(char *b, size_t n) {
    const char *unit = "He buys 3 apples at $1,250.50 each: 3*1250.5 = <<3*1250.5=3751.5>>3751.5. ";
    size_t k = strlen(unit);
    for (size_t i = 0; i < n; i++) b[i] = unit[i % k];
}
static void fill_digits(char *b, size_t n) { memset(b, '7', n); }
static void fill_commas(char *b, size_t n) {
    b[0] = '1';
    for (size_t i = 1; i < n; i++) b[i] = (i - 1) % 4 == 0 ? ',' : '2';
}
static void fill_open(char *b, size_t n) { for (size_t i = 0; i < n; i++) b[i] = "<<("[i % 3]; }
static void fill_parens(char *b, size_t n) {
    memset(b, '(', n);
    memcpy(b, "<<", 2);
    memcpy(b + n - 4, "1>>5", 4);
}
/* Annotations as long as the cap allows, each a sum of unlike fractions (the costliest
 * kind of + - * / expression: every addition needs a gcd of growing numbers). */
static void fill_fractions(char *b, size_t n) {
    size_t i = 0;
    while (i + 10000 < n) {
        i += (size_t)sprintf(b + i, "<<");
        size_t start = i;
        for (int d = 2; i - start < 9980; d++) i += (size_t)sprintf(b + i, "1/%d+", d);
        i += (size_t)sprintf(b + i, "1=1>>");
    }
    memset(b + i, ' ', n - i);
}

static void test_ten_megabytes(void **state) {
    (void)state;
    const size_t n = 10u << 20;
    const struct { const char *name; FillFn fill; } cases[] = {
        { "prose with annotations", fill_text }, { "one 10 MB number", fill_digits },
        { "10 MB of 1,222,222", fill_commas },   { "unclosed <<(", fill_open },
        { "one 10 MB annotation", fill_parens }, { "10 kB fraction sums", fill_fractions },
    };
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cases[c].fill(buf, n);
        double t0 = now_seconds();
        Verdict v;
        score_bytes(buf, n, "5", &v);
        double dt = now_seconds() - t0;
        printf("  10 MB, %-24s %.3f s  status %s, %g steps\n", cases[c].name, dt, v.status,
               detail_number(&v, "steps_total"));
        assert_true(dt < 2.0);
        verdict_free(&v);
    }
    fill_digits(buf, n);
    Verdict v;
    score_bytes(buf, n, "5", &v);
    assert_string_equal(v.status, VERDICT_NO_ANSWER);   /* over 10,000 digits */
    assert_non_null(cJSON_GetObjectItemCaseSensitive(v.detail, "reason"));
    verdict_free(&v);
    free(buf);
}

/* ---------------------------------------------------------------- registry, JSON */

static void test_registry_and_json(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(verifiers_register_builtins(err, sizeof err), 0);
    const Verifier *arith = verifier_find("arith");
    assert_non_null(arith);
    Task t = { .id = "", .prompt = "", .reference = "Half of 144 is <<144/2=72>>72.\n#### 72", .verifier = "arith" };
    const char *completion = "144/2 = <<144/2=72>>72 so 72 + 1 = <<72+1=74>>73\n#### 72";
    Verdict v;
    assert_int_equal(verdict_init(&v), 0);
    arith->score(arith, &t, completion, strlen(completion), &v);
    char *json = verdict_to_json(&v);
    assert_non_null(json);
    printf("  %s\n", json);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "correct");
    cJSON *d = cJSON_GetObjectItem(o, "detail");
    assert_string_equal(cJSON_GetObjectItem(d, "answer")->valuestring, "72");
    assert_string_equal(cJSON_GetObjectItem(d, "expected")->valuestring, "72");
    assert_true(cJSON_GetObjectItem(d, "step_accuracy")->valuedouble == 0.5);
    cJSON_Delete(o);
    free(json);
    verdict_free(&v);
    verifier_registry_free();
}

/* ---------------------------------------------------------------- threads */

/* Verifiers are called from several threads at once: each must get its own answer. */
static void *score_many(void *arg) {
    const char *ref = arg;
    char completion[64];
    snprintf(completion, sizeof completion, "<<%s*2=%d>> #### %s", ref, 2 * atoi(ref), ref);
    const Verifier *arith = verifier_find("arith");
    Task t = { .id = "", .prompt = "", .reference = (char *)ref, .verifier = "arith" };
    long bad = 0;
    for (int i = 0; i < 3000; i++) {
        Verdict v;
        if (verdict_init(&v) != 0) return (void *)1;
        arith->score(arith, &t, completion, strlen(completion), &v);
        bad += strcmp(v.status, VERDICT_CORRECT) != 0 || detail_number(&v, "steps_ok") != 1;
        verdict_free(&v);
    }
    return (void *)bad;
}

static void test_threads(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(verifiers_register_builtins(err, sizeof err), 0);
    const char *refs[4] = { "17", "-250", "3", "99999" };
    pthread_t th[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, score_many, (void *)refs[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_true(bad == NULL);
    }
    verifier_registry_free();
}

/* ---------------------------------------------------------------- GSM8K */

static FILE *gsm8k_open(const char *split, char *path, size_t len) {
    const char *dir = getenv("RLVR_GSM8K");
    snprintf(path, len, "%s/%s.jsonl", dir && dir[0] ? dir : "../shared/data/gsm8k", split);
    return fopen(path, "r");
}

typedef struct {
    long lines, extracted, self_correct, steps, steps_ok;
} Gsm8kCounts;

static void gsm8k_print_bad_steps(const char *split, long line, const Verdict *v) {
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(v->detail, "steps")) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(step, "ok"))) continue;
        const cJSON *computed = cJSON_GetObjectItem(step, "computed");
        printf("    %s:%ld  <<%s=%s>>  computed %s\n", split, line,
               cJSON_GetObjectItem(step, "expression")->valuestring,
               cJSON_GetObjectItem(step, "claimed")->valuestring,
               cJSON_IsString(computed) ? computed->valuestring : "(error)");
    }
}

/* Scores one gold answer against itself and adds to the counts. */
static void gsm8k_check_answer(const char *split, long line, const char *answer, Gsm8kCounts *n) {
    char out[256];
    n->extracted += arith_extract_answer(answer, strlen(answer), out, sizeof out) == 0;
    Verdict v;
    score_bytes(answer, strlen(answer), answer, &v);
    n->self_correct += v.reward == 1.0;
    n->steps += (long)detail_number(&v, "steps_total");
    n->steps_ok += (long)detail_number(&v, "steps_ok");
    if (detail_number(&v, "steps_ok") != detail_number(&v, "steps_total")) gsm8k_print_bad_steps(split, line, &v);
    verdict_free(&v);
}

static int gsm8k_scan(const char *split, Gsm8kCounts *n) {
    char path[512];
    FILE *f = gsm8k_open(split, path, sizeof path);
    if (!f) return -1;
    size_t cap = 0;
    char *text = NULL;
    while (getline(&text, &cap, f) > 0) {
        n->lines++;
        cJSON *o = cJSON_Parse(text);
        assert_non_null(o);
        const cJSON *answer = cJSON_GetObjectItemCaseSensitive(o, "answer");
        assert_true(cJSON_IsString(answer));
        gsm8k_check_answer(split, n->lines, answer->valuestring, n);
        cJSON_Delete(o);
    }
    free(text);
    fclose(f);
    return 0;
}

static void test_gsm8k(void **state) {
    (void)state;
    Gsm8kCounts train = { 0 }, test = { 0 };
    double t0 = now_seconds();
    printf("  annotations that do not check:\n");
    if (gsm8k_scan("train", &train) != 0 || gsm8k_scan("test", &test) != 0) {
        printf("  GSM8K not found (set RLVR_GSM8K or put it in ../shared/data/gsm8k): skipped\n");
        skip();
    }
    double dt = now_seconds() - t0;
    printf("  train: %ld answers, %ld extract, %ld score 1 against themselves; %ld of %ld annotations check\n",
           train.lines, train.extracted, train.self_correct, train.steps_ok, train.steps);
    printf("  test:  %ld answers, %ld extract, %ld score 1 against themselves; %ld of %ld annotations check\n",
           test.lines, test.extracted, test.self_correct, test.steps_ok, test.steps);
    printf("  %.3f s for both splits\n", dt);
    assert_int_equal(train.lines + test.lines, 8792);
    assert_int_equal(train.extracted + test.extracted, 8792);
    assert_int_equal(train.self_correct + test.self_correct, 8792);
    /* Observed: every annotation checks exactly, including <<3/4=3/4>> (RHS fractions are
     * rationals) and the decimal ones; a regression in the parser shows up here. */
    assert_int_equal(test.steps, 4282);
    assert_int_equal(test.steps - test.steps_ok, 0);
    assert_int_equal(train.steps, 23716);
    assert_int_equal(train.steps - train.steps_ok, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_examples),
        cmocka_unit_test(test_answer_normalisation),
        cmocka_unit_test(test_binary_garbage),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_eval_limits),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_steps_listed_are_capped),
        cmocka_unit_test(test_ten_megabytes),
        cmocka_unit_test(test_registry_and_json),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_gsm8k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
