/* Helpers shared by the C tests: random fills and gradient comparisons. */
#ifndef RLVR_TEST_UTIL_H
#define RLVR_TEST_UTIL_H
#include "policy/rng.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void fill_uniform(float *x, size_t n, float lo, float hi, Rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(r);
}

static inline float *alloc_floats(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    return p;
}

/* Central finite difference of f at x[i]. */
typedef double (*LossFn)(void *ctx);
static inline double finite_diff(LossFn f, void *ctx, float *x, size_t i, float eps) {
    float saved = x[i];
    x[i] = saved + eps;
    double lp = f(ctx);
    x[i] = saved - eps;
    double lm = f(ctx);
    x[i] = saved;
    return (lp - lm) / (2.0 * (double)eps);
}

/* Compare the analytic gradient g of x (n elements) with finite differences at up to
 * `samples` positions; returns the worst |fd - g| / (atol + rtol * max(|fd|, |g|)),
 * so a result <= 1 passes. Prints the worst position. */
static inline double grad_check(const char *name, LossFn f, void *ctx, float *x, const float *g,
                                size_t n, int samples, float eps, double atol, double rtol) {
    double worst = 0.0, worst_fd = 0.0, worst_g = 0.0;
    size_t worst_i = 0, step = n / (size_t)samples > 0 ? n / (size_t)samples : 1;
    for (size_t i = 0; i < n; i += step) {
        double fd = finite_diff(f, ctx, x, i, eps);
        double an = g[i];
        double bound = atol + rtol * fmax(fabs(fd), fabs(an));
        double e = fabs(fd - an) / bound;
        if (e > worst) { worst = e; worst_i = i; worst_fd = fd; worst_g = an; }
    }
    printf("  %-24s worst at %zu: fd %.6g analytic %.6g (score %.3f, pass <= 1)\n",
           name, worst_i, worst_fd, worst_g, worst);
    return worst;
}

/* Remove a test's flat temporary directory and the files in it. */
static inline int test_dir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char p[4200];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(dir);
}

#endif
