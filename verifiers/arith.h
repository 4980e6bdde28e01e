/* arith: GSM8K-style answers and calculator annotations, checked exactly.
 *
 * The final answer is the number after the first "####" if there is one, otherwise the
 * last number in the completion, normalised (Unicode minus, leading +, $, thousands
 * commas in groups of three, trailing ".", surrounding ** or \boxed{}, trailing unit
 * words) and compared with the reference's as exact rationals (GMP): no tolerance, no
 * percent scaling, no doubles. Calculator annotations <<LHS=RHS>> are evaluated with a
 * real expression parser (+ - * / // parentheses, unary signs, decimals) in exact
 * rationals and compared with RHS; the verdict's detail lists every step and the
 * fraction that are right, usable as a process reward. */
#ifndef RLVR_ARITH_H
#define RLVR_ARITH_H
#include "verifiers/verifier.h"
#include <stddef.h>

/* A new "arith" verifier (malloc'd; register it or free it with its free hook). */
Verifier *verifier_arith_create(void);
/* A new "arith_steps" verifier: reward = the fraction of the completion's <<LHS=RHS>>
 * annotations that are right (0 when there are none), a process reward to weight beside
 * "arith"; status correct (all right), wrong, or no_answer (no annotations). */
Verifier *verifier_arith_steps_create(void);

/* Evaluate an arithmetic expression exactly. Writes the value to out as an integer
 * ("24"), a terminating decimal ("0.2") or a fraction ("3/4"). Returns -1 (out = "")
 * on a syntax error, division by zero or an expression too large to evaluate. This is
 * the calculator the sampler's tool hook uses. */
int arith_eval(const char *expr, size_t len, char *out, size_t outlen);

/* The normalised final answer of a completion (same formats as arith_eval), or -1 when
 * there is none. */
int arith_extract_answer(const char *text, size_t len, char *out, size_t outlen);

#endif
