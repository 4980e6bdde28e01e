/* arith_number: number literals in free text, and exact rationals back to text.
 *
 * A literal is: an optional sign (ASCII '-', '+', or U+2212) and '$', then digits with
 * optional thousands separators (a comma counts only when the digits before it are 1-3
 * long and exactly three digits follow it, so "1,5" is the number 1 followed by ",5"),
 * an optional decimal part (".50"; a '.' not followed by a digit is punctuation), and an
 * optional "/denominator" (a plain non-zero number), so "1/2" is one half. Values are
 * built from the digit string with GMP, never through a double. */
#include "verifiers/arith_internal.h"
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

size_t arith_minus_len(const char *s, size_t len, size_t i) {
    if (i < len && s[i] == '-') return 1;
    if (i + 2 < len && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x88 &&
        (unsigned char)s[i + 2] == 0x92)
        return 3;
    return 0;
}

static size_t digit_run(const char *s, size_t len, size_t i) {
    size_t j = i;
    while (j < len && is_digit(s[j])) j++;
    return j - i;
}

/* Is s[i] a comma followed by exactly three digits (and then no fourth)? */
static int is_thousands_group(const char *s, size_t len, size_t i) {
    return i < len && s[i] == ',' && digit_run(s, len, i + 1) == 3;
}

/* Sets q to digits / 10^frac_digits, where `digits` holds only the digits. */
static int value_from_digits(const char *digits, size_t n, size_t frac_digits, mpq_t q) {
    char *buf = malloc(n + 1);
    if (!buf) return -2;
    memcpy(buf, digits, n);
    buf[n] = '\0';
    int rc = mpz_set_str(mpq_numref(q), buf, 10);
    free(buf);
    if (rc != 0) return -2;
    mpz_ui_pow_ui(mpq_denref(q), 10, (unsigned long)frac_digits);
    mpq_canonicalize(q);
    return 0;
}

/* Copies the digits of s[a, b) (skipping ',' and '.') into a fresh buffer. */
static char *digits_only(const char *s, size_t a, size_t b, size_t *n) {
    char *buf = malloc(b - a + 1);
    if (!buf) return NULL;
    size_t k = 0;
    for (size_t i = a; i < b; i++)
        if (is_digit(s[i])) buf[k++] = s[i];
    *n = k;
    return buf;
}

int arith_number_plain(const char *s, size_t len, size_t *pos, int commas, mpq_t q, size_t *digits) {
    size_t i = *pos, start = i;
    size_t int_digits = digit_run(s, len, i), frac_digits = 0;
    i += int_digits;
    if (commas && int_digits >= 1 && int_digits <= 3)
        while (is_thousands_group(s, len, i)) { i += 4; int_digits += 3; }
    if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
        frac_digits = digit_run(s, len, i + 1);
        i += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) return -1;
    *digits = int_digits + frac_digits;
    *pos = i;
    if (!q) return 0;
    if (*digits > ARITH_MAX_DIGITS) return -2;
    size_t n;
    char *buf = digits_only(s, start, i, &n);
    if (!buf) return -2;
    int rc = value_from_digits(buf, n, frac_digits, q);
    free(buf);
    return rc;
}

/* A sign belongs to the number only when it is not a binary operator: "10-3" is ten
 * and three, "= -3" and "#### -3" are minus three. */
static int sign_can_start_here(const char *s, size_t i) {
    if (i == 0) return 1;
    char c = s[i - 1];
    return !(is_alnum(c) || c == ')' || c == '.' || c == ']' || c == '}');
}

/* Extends the literal whose digits begin at body backwards over '$' and a sign. */
static void scan_prefix(const char *s, size_t len, size_t from, ArithSpan *span) {
    size_t k = span->body;
    if (k > from && s[k - 1] == '$') k--;
    span->start = k;
    if (k > from && (s[k - 1] == '-' || s[k - 1] == '+') && sign_can_start_here(s, k - 1)) {
        span->negative = s[k - 1] == '-';
        span->start = k - 1;
    } else if (k >= from + 3 && arith_minus_len(s, len, k - 3) == 3 && sign_can_start_here(s, k - 3)) {
        span->negative = 1;
        span->start = k - 3;
    }
}

/* Does a non-zero denominator "/d" follow at s[i]? Advances *i past it if so. */
static int scan_denominator(const char *s, size_t len, size_t *i, size_t *digits) {
    if (*i >= len || s[*i] != '/') return 0;
    size_t p = *i + 1, d;
    if (arith_number_plain(s, len, &p, 0, NULL, &d) != 0) return 0;
    int nonzero = 0;
    for (size_t k = *i + 1; k < p; k++) nonzero |= is_digit(s[k]) && s[k] != '0';
    if (!nonzero) return 0;
    *digits += d;
    *i = p;
    return 1;
}

int arith_number_scan(const char *s, size_t len, size_t from, ArithSpan *span) {
    for (size_t i = from; i < len; i++) {
        int starts = is_digit(s[i]) || (s[i] == '.' && i + 1 < len && is_digit(s[i + 1]));
        if (!starts) continue;
        memset(span, 0, sizeof *span);
        span->body = i;
        size_t p = i;
        arith_number_plain(s, len, &p, 1, NULL, &span->digits);
        scan_denominator(s, len, &p, &span->digits);
        span->end = p;
        scan_prefix(s, len, from, span);
        return 1;
    }
    return 0;
}

int arith_number_value(const char *s, const ArithSpan *span, mpq_t q) {
    mpq_set_ui(q, 0, 1);
    if (span->digits > ARITH_MAX_DIGITS) return -1;
    size_t p = span->body, d;
    if (arith_number_plain(s, span->end, &p, 1, q, &d) != 0) return -1;
    if (p < span->end) {   /* the "/denominator" scan_denominator accepted */
        mpq_t den;
        mpq_init(den);
        p++;
        int rc = arith_number_plain(s, span->end, &p, 0, den, &d);
        if (rc == 0) mpq_div(q, q, den);
        mpq_clear(den);
        if (rc != 0) return -1;
    }
    if (span->negative) mpq_neg(q, q);
    return 0;
}

/* ---------------------------------------------------------------- formatting */

/* Appends the decimal digits of |z| to out at *n; -1 when they do not fit. */
static int append_mpz(const mpz_t z, char *out, size_t outlen, size_t *n) {
    size_t need = mpz_sizeinbase(z, 10) + 2;
    char *buf = malloc(need);
    if (!buf) return -1;
    mpz_get_str(buf, 10, z);
    const char *digits = buf[0] == '-' ? buf + 1 : buf;
    size_t k = strlen(digits);
    int rc = -1;
    if (*n + k < outlen) {
        memcpy(out + *n, digits, k + 1);
        *n += k;
        rc = 0;
    }
    free(buf);
    return rc;
}

/* If q's denominator is 2^a 5^b, returns max(a, b) (the decimal places needed), else -1. */
static long terminating_places(const mpq_t q) {
    mpz_t d, f;
    mpz_init_set(d, mpq_denref(q));
    mpz_init_set_ui(f, 2);
    long twos = (long)mpz_remove(d, d, f);
    mpz_set_ui(f, 5);
    long fives = (long)mpz_remove(d, d, f);
    long places = mpz_cmp_ui(d, 1) == 0 ? (twos > fives ? twos : fives) : -1;
    mpz_clear(d);
    mpz_clear(f);
    return places;
}

/* |q| * 10^places, an integer, as digits with a '.' before the last `places` of them. */
static int append_decimal(const mpq_t q, long places, char *out, size_t outlen, size_t *n) {
    mpz_t scaled;
    mpz_init(scaled);
    mpz_ui_pow_ui(scaled, 10, (unsigned long)places);
    mpz_mul(scaled, scaled, mpq_numref(q));
    mpz_divexact(scaled, scaled, mpq_denref(q));
    mpz_abs(scaled, scaled);
    size_t at = *n;
    int rc = append_mpz(scaled, out, outlen, n);
    mpz_clear(scaled);
    if (rc != 0) return -1;
    size_t k = *n - at, want = (size_t)places + 1;   /* at least "0.xxx" */
    if (k < want) {                                   /* left-pad with zeros */
        if (at + want + 1 >= outlen) return -1;
        memmove(out + at + (want - k), out + at, k + 1);
        memset(out + at, '0', want - k);
        *n = at + want;
    }
    if (*n + 1 >= outlen) return -1;
    size_t dot = *n - (size_t)places;
    memmove(out + dot + 1, out + dot, (size_t)places + 1);
    out[dot] = '.';
    (*n)++;
    return 0;
}

int arith_format(const mpq_t q, char *out, size_t outlen) {
    if (outlen == 0) return -1;
    out[0] = '\0';
    size_t n = 0;
    if (mpq_sgn(q) < 0) {
        if (outlen < 2) return -1;
        out[n++] = '-';
        out[n] = '\0';
    }
    long places = mpz_cmp_ui(mpq_denref(q), 1) == 0 ? 0 : terminating_places(q);
    int rc;
    if (places == 0) {
        rc = append_mpz(mpq_numref(q), out, outlen, &n);
    } else if (places > 0) {
        rc = append_decimal(q, places, out, outlen, &n);
    } else {
        rc = append_mpz(mpq_numref(q), out, outlen, &n);
        if (rc == 0 && n + 1 < outlen) { out[n++] = '/'; out[n] = '\0'; } else rc = -1;
        if (rc == 0) rc = append_mpz(mpq_denref(q), out, outlen, &n);
    }
    if (rc != 0) out[0] = '\0';
    return rc;
}
