/* arith: the "arith" verifier. Finds the final answer and the <<LHS=RHS>> calculator
 * annotations of a completion, checks them exactly, and builds the verdict.
 *
 * Final answer: the first number after the first "####"; when nothing numeric follows
 * a "####" (or there is none), the last number in the text. Number syntax and its
 * normalisation live in arith_number.c; "$", "**", "\boxed{", units after the number
 * and a trailing '.' need no special case because the scanner only ever takes the
 * number itself out of the surrounding text.
 *
 * Annotations: LHS is evaluated by the calculator (arith_expr.c); RHS must be a number
 * literal (a fraction "3/4" counts: it is the rational 3/4, equal to 0.75). Every
 * annotation is counted; the first ARITH_MAX_LISTED are listed in the detail. */
#define _GNU_SOURCE   /* memmem */
#include "verifiers/arith.h"
#include "verifiers/arith_internal.h"
#include <stdlib.h>
#include <string.h>

#define ARITH_MAX_LISTED 64       /* steps listed in the detail (all are counted) */
#define ARITH_DETAIL_TEXT 200     /* bytes of completion text quoted per detail field */
/* Total LHS bytes evaluated per completion: a 10 MB wall of annotations must still be
 * scored in bounded time. Steps past the budget count as not ok (real GSM8K-style
 * completions use a few hundred bytes). */
#define ARITH_STEP_BUDGET 1000000

/* ---------------------------------------------------------------- final answer */

/* Finds the final-answer literal. Returns 1 with span filled, or 0 when there is none. */
static int answer_locate(const char *s, size_t len, ArithSpan *span) {
    const char *hashes = memmem(s, len, "####", 4);
    if (hashes && arith_number_scan(s, len, (size_t)(hashes - s) + 4, span)) return 1;
    int found = 0;
    ArithSpan cur;
    for (size_t pos = 0; arith_number_scan(s, len, pos, &cur); pos = cur.end) {
        *span = cur;
        found = 1;
    }
    return found;
}

/* 0: q holds the answer; -1: no number; -2: the number is over ARITH_MAX_DIGITS. */
static int answer_value(const char *s, size_t len, mpq_t q) {
    ArithSpan span;
    if (!answer_locate(s, len, &span)) return -1;
    return arith_number_value(s, &span, q) == 0 ? 0 : -2;
}

/* q as text in a fresh malloc'd buffer (NULL when out of memory). */
static char *format_alloc(const mpq_t q) {
    /* Enough for every form: the decimal needs at most log2(den) places. */
    size_t size = mpz_sizeinbase(mpq_numref(q), 10) + mpz_sizeinbase(mpq_denref(q), 10) +
                  mpz_sizeinbase(mpq_denref(q), 2) + 4;
    char *buf = malloc(size);
    if (buf && arith_format(q, buf, size) != 0) { free(buf); buf = NULL; }
    return buf;
}

int arith_extract_answer(const char *text, size_t len, char *out, size_t outlen) {
    if (outlen) out[0] = '\0';
    mpq_t q;
    mpq_init(q);
    int rc = answer_value(text, len, q) == 0 ? arith_format(q, out, outlen) : -1;
    mpq_clear(q);
    return rc;
}

int arith_eval(const char *expr, size_t len, char *out, size_t outlen) {
    if (outlen) out[0] = '\0';
    mpq_t q;
    mpq_init(q);
    const char *why;
    int rc = arith_expr_value(expr, len, q, &why) == 0 ? arith_format(q, out, outlen) : -1;
    mpq_clear(q);
    return rc;
}

/* ---------------------------------------------------------------- detail helpers */

/* q as a JSON string, or JSON null when out of memory. */
static cJSON *detail_number(const mpq_t q) {
    char *text = format_alloc(q);
    cJSON *item = text ? cJSON_CreateString(text) : cJSON_CreateNull();
    free(text);
    return item;
}

/* ---------------------------------------------------------------- annotations */

/* The claimed result: a signed number literal, optionally a fraction "3/4", nothing else. */
static int claim_value(const char *s, size_t len, mpq_t q) {
    size_t p = 0, digits;
    while (p < len && s[p] == ' ') p++;
    size_t minus = arith_minus_len(s, len, p);
    if (minus) p += minus;
    else if (p < len && s[p] == '+') p++;
    if (arith_number_plain(s, len, &p, 1, q, &digits) != 0) return -1;
    if (p < len && s[p] == '/') {
        mpq_t den;
        mpq_init(den);
        p++;
        int rc = arith_number_plain(s, len, &p, 0, den, &digits);
        if (rc == 0 && mpq_sgn(den) != 0) mpq_div(q, q, den);
        else rc = -1;
        mpq_clear(den);
        if (rc != 0) return -1;
    }
    while (p < len && s[p] == ' ') p++;
    if (p != len) return -1;
    if (minus) mpq_neg(q, q);
    return 0;
}

typedef struct {
    cJSON *list;          /* the listed steps */
    long ok, total;
    size_t budget;        /* LHS bytes still allowed */
} StepReport;

/* One annotation body "LHS=RHS", checked. */
typedef struct {
    const char *lhs, *rhs;   /* rhs is NULL when there is no '=' */
    size_t lhs_len, rhs_len;
    mpq_t computed, claimed;
    int have;                /* computed holds the LHS value */
    int ok;
    const char *why;         /* why the step is not ok, when known */
} Step;

static void step_check(Step *st, const char *s, size_t len, StepReport *r) {
    const char *eq = memchr(s, '=', len);
    st->lhs = s;
    st->lhs_len = eq ? (size_t)(eq - s) : len;
    st->rhs = eq ? eq + 1 : NULL;
    st->rhs_len = eq ? len - st->lhs_len - 1 : 0;
    st->have = 0;
    st->why = NULL;
    if (!eq) st->why = "no '='";
    else if (st->lhs_len > r->budget) st->why = "evaluation budget exhausted";
    else {
        r->budget -= st->lhs_len;
        st->have = arith_expr_value(s, st->lhs_len, st->computed, &st->why) == 0;
        if (st->have && claim_value(st->rhs, st->rhs_len, st->claimed) != 0)
            st->why = "claimed result is not a number";
    }
    st->ok = st->have && !st->why && mpq_equal(st->computed, st->claimed);
}

/* The step's detail entry (NULL when out of memory). */
static cJSON *step_detail(const Step *st) {
    cJSON *item = cJSON_CreateObject();
    int bad = verdict_detail_add(item, "expression", verdict_detail_text(st->lhs, st->lhs_len, ARITH_DETAIL_TEXT));
    bad |= verdict_detail_add(item, "claimed", st->rhs ? verdict_detail_text(st->rhs, st->rhs_len, ARITH_DETAIL_TEXT) : cJSON_CreateNull());
    bad |= verdict_detail_add(item, "computed", st->have ? detail_number(st->computed) : cJSON_CreateNull());
    bad |= verdict_detail_add(item, "ok", cJSON_CreateBool(st->ok));
    if (st->why) bad |= verdict_detail_add(item, "error", cJSON_CreateString(st->why));
    if (bad) { cJSON_Delete(item); return NULL; }
    return item;
}

/* Position of the first "cc" at or after i, or len. (Not memmem: sanitizers check the
 * whole haystack on every call, which would make this scan quadratic under test-asan.) */
static size_t find_pair(const char *s, size_t len, size_t i, char c) {
    for (; i + 1 < len; i++)
        if (s[i] == c && s[i + 1] == c) return i;
    return len;
}

/* Counts (and lists the first few of) the <<LHS=RHS>> annotations. One pass: after a
 * "<<" the next ">>" closes it (the last "<<" before that ">>" opens it), and scanning
 * resumes after the ">>", so the whole text is read a bounded number of times. */
static int steps_collect(const char *s, size_t len, StepReport *r) {
    Step st;
    mpq_init(st.computed);
    mpq_init(st.claimed);
    int rc = 0;
    for (size_t i = 0; rc == 0;) {
        size_t o = find_pair(s, len, i, '<') + 2;
        if (o > len) break;
        size_t c = find_pair(s, len, o, '>');
        if (c == len) break;
        for (size_t k = c; k >= o + 1; k--)     /* innermost opener */
            if (s[k - 1] == '<' && s[k - 2] == '<') { o = k; break; }
        step_check(&st, s + o, c - o, r);
        r->ok += st.ok;
        if (r->total++ < ARITH_MAX_LISTED) {
            cJSON *item = step_detail(&st);
            if (item) cJSON_AddItemToArray(r->list, item);
            else rc = -1;
        }
        i = c + 2;
    }
    mpq_clear(st.computed);
    mpq_clear(st.claimed);
    return rc;
}

/* Adds steps, steps_ok, steps_total and step_accuracy to detail. */
static int steps_report(const char *s, size_t len, cJSON *detail) {
    StepReport r = { .list = cJSON_CreateArray(), .budget = ARITH_STEP_BUDGET };
    if (!r.list) return -1;
    if (steps_collect(s, len, &r) != 0) { cJSON_Delete(r.list); return -1; }
    int bad = verdict_detail_add(detail, "steps", r.list);
    bad |= verdict_detail_add(detail, "steps_ok", cJSON_CreateNumber((double)r.ok));
    bad |= verdict_detail_add(detail, "steps_total", cJSON_CreateNumber((double)r.total));
    bad |= verdict_detail_add(detail, "step_accuracy", r.total ? cJSON_CreateNumber((double)r.ok / (double)r.total)
                                                      : cJSON_CreateNull());
    return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- the verifier */

static void verdict_fail(Verdict *out, const char *reason) {
    verdict_set(out, 0.0, VERDICT_VERIFIER_ERROR);
    if (out->detail) cJSON_AddStringToObject(out->detail, "reason", reason);
}

/* Scores once the expected value is known; returns -1 only when out of memory. */
static int arith_judge(const char *completion, size_t len, const mpq_t expected, Verdict *out) {
    mpq_t answer;
    mpq_init(answer);
    int found = answer_value(completion, len, answer);
    int bad = verdict_detail_add(out->detail, "answer", found == 0 ? detail_number(answer) : cJSON_CreateNull());
    bad |= verdict_detail_add(out->detail, "expected", detail_number(expected));
    if (found == -2)
        bad |= verdict_detail_add(out->detail, "reason", cJSON_CreateString("answer has more than 10000 digits"));
    bad |= steps_report(completion, len, out->detail);
    if (found != 0) verdict_set(out, 0.0, VERDICT_NO_ANSWER);
    else if (mpq_equal(answer, expected)) verdict_set(out, 1.0, VERDICT_CORRECT);
    else verdict_set(out, 0.0, VERDICT_WRONG);
    mpq_clear(answer);
    return bad ? -1 : 0;
}

static void arith_score(const Verifier *self, const Task *task, const char *completion, size_t len,
                        Verdict *out) {
    (void)self;
    if (!out->detail) { verdict_fail(out, "out of memory"); return; }
    const char *ref = task && task->reference ? task->reference : "";
    mpq_t expected;
    mpq_init(expected);
    if (answer_value(ref, strlen(ref), expected) != 0)
        verdict_fail(out, "the reference has no numeric answer");
    else if (arith_judge(completion ? completion : "", completion ? len : 0, expected, out) != 0)
        verdict_fail(out, "out of memory");
    mpq_clear(expected);
}

static void arith_free(Verifier *self) { free(self); }

Verifier *verifier_arith_create(void) {
    Verifier *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->name = "arith";
    v->score = arith_score;
    v->free = arith_free;
    return v;
}

/* ---------------------------------------------------------------- arith_steps */

/* The process reward: the fraction of the completion's calculator annotations that are
 * right (0 with none), whatever its final answer. Weighted beside "arith" it rewards a
 * policy for setting up correct calculations before it gets whole problems right. */
static void arith_steps_score(const Verifier *self, const Task *task, const char *completion, size_t len,
                              Verdict *out) {
    (void)self; (void)task;
    if (!out->detail || steps_report(completion ? completion : "", completion ? len : 0, out->detail)) {
        verdict_fail(out, "out of memory");
        return;
    }
    double ok = cJSON_GetObjectItem(out->detail, "steps_ok")->valuedouble;
    double total = cJSON_GetObjectItem(out->detail, "steps_total")->valuedouble;
    if (total == 0) verdict_set(out, 0.0, VERDICT_NO_ANSWER);
    else verdict_set(out, ok / total, ok == total ? VERDICT_CORRECT : VERDICT_WRONG);
}

Verifier *verifier_arith_steps_create(void) {
    Verifier *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->name = "arith_steps";
    v->score = arith_steps_score;
    v->free = arith_free;
    return v;
}
