/* arith_expr: the calculator, a recursive-descent parser evaluating in exact rationals.
 *
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/' | '//') unary)*
 *   unary   := ('+' | '-' | U+2212) unary | primary
 *   primary := number | '(' sum ')'
 *
 * '//' is floor division (-7//2 = -4, as in Python). Numbers are "12", "1,234", "0.5",
 * ".5". There is no exponent operator on purpose: with + - * / alone no intermediate
 * value has more digits than the expression has characters, so the length cap
 * (ARITH_MAX_EXPR_LEN) bounds the work, and the depth cap bounds the recursion. */
#include "verifiers/arith_internal.h"

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
    const char *why;   /* the first error, for the verdict's detail */
} Parser;

static int parse_sum(Parser *p, mpq_t out);

static int fail(Parser *p, const char *why) {
    if (!p->why) p->why = why;
    return -1;
}

static void skip_space(Parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int parse_primary(Parser *p, mpq_t out) {
    skip_space(p);
    if (p->pos < p->len && p->s[p->pos] == '(') {
        p->pos++;
        if (parse_sum(p, out) != 0) return -1;
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != ')') return fail(p, "missing ')'");
        p->pos++;
        return 0;
    }
    size_t digits;
    int rc = arith_number_plain(p->s, p->len, &p->pos, 1, out, &digits);
    if (rc == -1) return fail(p, "expected a number");
    if (rc != 0) return fail(p, "number too long");
    return 0;
}

static int parse_unary(Parser *p, mpq_t out) {
    if (++p->depth > ARITH_MAX_DEPTH) return fail(p, "nested too deeply");
    skip_space(p);
    size_t minus = arith_minus_len(p->s, p->len, p->pos);
    int rc;
    if (minus || (p->pos < p->len && p->s[p->pos] == '+')) {
        p->pos += minus ? minus : 1;
        rc = parse_unary(p, out);
        if (rc == 0 && minus) mpq_neg(out, out);
    } else {
        rc = parse_primary(p, out);
    }
    p->depth--;
    return rc;
}

/* out = floor(a / b) for b != 0. */
static void floor_divide(mpq_t out, const mpq_t a, const mpq_t b) {
    mpq_div(out, a, b);
    mpz_fdiv_q(mpq_numref(out), mpq_numref(out), mpq_denref(out));
    mpz_set_ui(mpq_denref(out), 1);
}

/* Which product operator is at the cursor: '*', '/', 'f' (floor '//'), or 0. */
static char product_op(Parser *p) {
    skip_space(p);
    if (p->pos >= p->len) return 0;
    char c = p->s[p->pos];
    if (c == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '/') { p->pos += 2; return 'f'; }
    if (c == '*' || c == '/') { p->pos++; return c; }
    return 0;
}

static int parse_product(Parser *p, mpq_t out) {
    if (parse_unary(p, out) != 0) return -1;
    mpq_t rhs;
    mpq_init(rhs);
    int rc = 0;
    for (char op; rc == 0 && (op = product_op(p)) != 0;) {
        rc = parse_unary(p, rhs);
        if (rc != 0) break;
        if (op != '*' && mpq_sgn(rhs) == 0) { rc = fail(p, "division by zero"); break; }
        if (op == '*') mpq_mul(out, out, rhs);
        else if (op == '/') mpq_div(out, out, rhs);
        else floor_divide(out, out, rhs);
    }
    mpq_clear(rhs);
    return rc;
}

static int parse_sum(Parser *p, mpq_t out) {
    if (parse_product(p, out) != 0) return -1;
    mpq_t rhs;
    mpq_init(rhs);
    int rc = 0;
    for (;;) {
        skip_space(p);
        size_t minus = arith_minus_len(p->s, p->len, p->pos);
        if (!minus && (p->pos >= p->len || p->s[p->pos] != '+')) break;
        p->pos += minus ? minus : 1;
        if ((rc = parse_product(p, rhs)) != 0) break;
        if (minus) mpq_sub(out, out, rhs);
        else mpq_add(out, out, rhs);
    }
    mpq_clear(rhs);
    return rc;
}

int arith_expr_value(const char *s, size_t len, mpq_t q, const char **why) {
    Parser p = { .s = s, .len = len };
    mpq_set_ui(q, 0, 1);
    *why = NULL;
    if (len > ARITH_MAX_EXPR_LEN) { *why = "expression too long"; return -1; }
    int rc = parse_sum(&p, q);
    if (rc == 0) {
        skip_space(&p);
        if (p.pos < p.len) rc = fail(&p, "unexpected character");
    }
    if (rc != 0) { *why = p.why ? p.why : "syntax error"; mpq_set_ui(q, 0, 1); }
    return rc;
}
