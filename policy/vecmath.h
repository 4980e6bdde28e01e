/* vecmath: an exp that the compiler can vectorise.
 *
 * glibc's expf is a function call per element, and GCC only swaps in its vector
 * version under -ffast-math, which we do not use (it would make NaN checks and
 * reduction order unreliable). Softmax and SwiGLU spend most of their time in exp, so
 * this is the Cephes single-precision exp: range reduction by ln 2, a degree-6
 * polynomial, and the exponent set directly. Relative error about 2e-7 (1-2 ulp) for
 * inputs in [-87, 88]; larger inputs saturate at exp(88.3); inputs below -87.3 return about 1e-38 instead of a denormal or
 * zero, which no softmax or sigmoid here can tell apart. Pure arithmetic, so the same
 * inputs always give the same bits. */
#ifndef RLVR_VECMATH_H
#define RLVR_VECMATH_H
#include <math.h>
#include <stdint.h>

static inline float vexpf(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    /* n = round(x / ln 2): adding and removing 1.5 * 2^23 rounds to an integer in
     * vector registers, where floorf would stop GCC from vectorising at all. */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* ln 2 in two parts */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } scale = { .i = ((int32_t)n + 127) << 23 };
    return p * scale.f;
}

#endif
