#include "policy/rng.h"
#include <math.h>

void rng_seed(Rng *r, uint64_t seed) { r->state = seed; }

uint64_t rng_next(Rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float rng_uniform(Rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

double rng_uniform_double(Rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

float rng_normal(Rng *r) {
    double u1 = rng_uniform_double(r), u2 = rng_uniform_double(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

Rng rng_derive(uint64_t seed, uint64_t key) {
    /* Hash (seed, key) through two splitmix rounds so nearby keys give unrelated streams. */
    Rng r = { seed ^ (key * 0xD1B54A32D192ED03ull) };
    rng_next(&r);
    Rng out = { rng_next(&r) };
    return out;
}
