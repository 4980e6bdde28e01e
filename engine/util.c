#include "engine/util.h"
#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double util_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void util_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int util_get_threads(void) { return omp_get_max_threads(); }

int util_parse_int(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int util_parse_float(const char *s, float *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

const char *util_exe_dir(void) {
    static char dir[PATH_MAX];
    if (dir[0]) return dir;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) { strcpy(dir, "."); return dir; }
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) *slash = 0;
    /* The ASan build lives in build-asan/: its sources are one level up. */
    size_t len = strlen(dir);
    if (len > 10 && strcmp(dir + len - 10, "build-asan") == 0) dir[len - 11] = 0;
    return dir;
}
