/* arith_internal: the pieces of the arith verifier shared between its files.
 *
 * arith_number.c scans number literals out of free text ("$1,234.50", "−3", "1/2") and
 * formats exact rationals back into text; arith_expr.c evaluates calculator expressions;
 * arith.c finds the final answer and the <<LHS=RHS>> annotations and builds the verdict.
 * Everything works on GMP rationals (mpq_t) and never goes through doubles. */
#ifndef RLVR_ARITH_INTERNAL_H
#define RLVR_ARITH_INTERNAL_H
#include <gmp.h>
#include <stddef.h>

/* A number with more digits than this is refused rather than parsed, so a hostile
 * completion cannot make one GMP operation arbitrarily slow. */
#define ARITH_MAX_DIGITS 10000
/* Longer calculator expressions are refused: with + - * / only, no intermediate value
 * can have more digits than the expression has characters, so this bounds the work. */
#define ARITH_MAX_EXPR_LEN 10000
/* Parenthesis / unary-sign nesting beyond this is refused (the parser recurses). */
#define ARITH_MAX_DEPTH 200

/* Where a number literal sits in a text, found by arith_number_scan. */
typedef struct {
    size_t start, end;   /* byte range [start, end), sign and '$' included */
    size_t body;         /* where the unsigned literal (first digit or '.') begins */
    int negative;        /* a minus sign (ASCII or U+2212) precedes it */
    size_t digits;       /* digit count (numerator + denominator), for the size cap */
} ArithSpan;

/* Finds the first number literal starting at or after `from`. Returns 1 and fills span,
 * or 0 when there is none. Runs in time linear in the bytes it looks at. */
int arith_number_scan(const char *s, size_t len, size_t from, ArithSpan *span);

/* Parses the literal found by arith_number_scan into q. Returns 0, or -1 when it has more
 * than ARITH_MAX_DIGITS digits (q is then left as 0). */
int arith_number_value(const char *s, const ArithSpan *span, mpq_t q);

/* Parses an unsigned plain number (digits with an optional decimal part, or ".5") at
 * s[*pos]; with `commas`, thousands separators in groups of three are accepted. Advances
 * *pos past it and returns 0, or returns -1 (pos unchanged) when no number starts there.
 * *digits receives the digit count. q may be NULL (just measure); otherwise it receives
 * the value, and a number over ARITH_MAX_DIGITS (or out of memory) returns -2. */
int arith_number_plain(const char *s, size_t len, size_t *pos, int commas, mpq_t q, size_t *digits);

/* Length in bytes of a minus sign at s[i] (ASCII '-' or U+2212), or 0. */
size_t arith_minus_len(const char *s, size_t len, size_t i);

/* Writes q as "24", "-0.75" (when its decimal expansion terminates) or "1/3".
 * Returns 0, or -1 when it does not fit in outlen bytes (out is then ""). */
int arith_format(const mpq_t q, char *out, size_t outlen);

/* Evaluates an expression (+ - * / // parentheses, unary signs, decimals) exactly.
 * Returns 0 with the value in q, or -1 with a short reason in *why. */
int arith_expr_value(const char *s, size_t len, mpq_t q, const char **why);

#endif
