/* rng: the one pseudo-random generator of rlvr.
 *
 * splitmix64: a 64-bit state, a handful of operations per draw, and trivially
 * reproducible from other languages (the PyTorch reference fixture re-implements
 * it to build identical initial weights). One seed drives a run; components derive
 * independent streams with rng_derive so that, e.g., one sequence's samples do
 * not depend on how many other sequences share its batch. */
#ifndef RLVR_RNG_H
#define RLVR_RNG_H
#include <stdint.h>

typedef struct { uint64_t state; } Rng;

void     rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
/* 24 random bits as a float in [0, 1). */
float    rng_uniform(Rng *r);
/* 53 random bits as a double in [0, 1). */
double   rng_uniform_double(Rng *r);
/* Standard normal (Box-Muller, one value per call so the stream stays simple). */
float    rng_normal(Rng *r);
/* An independent stream keyed by (seed, key): used for per-rank, per-sequence streams. */
Rng      rng_derive(uint64_t seed, uint64_t key);

#endif
