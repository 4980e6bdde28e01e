#include "policy/blas.h"
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

const char *blas_corename(void) {
    const char *n = openblas_get_corename();
    return n ? n : "unknown";
}

int blas_kernel_is_generic(void) {
    /* Test hook (tests/cli.sh): treat any kernel as generic, so the restart path in
     * engine/main.c can be exercised on CPUs that OpenBLAS recognises by itself. */
    if (getenv("RLVR_BLAS_ASSUME_GENERIC")) return 1;
    /* The kernels OpenBLAS falls back to when it does not know the CPU model:
     * none of them uses AVX2 or AVX-512. */
    static const char *generic[] = { "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                     "Atom", "Katmai", "Coppermine", "Northwood", "Banias",
                                     "Generic", "unknown", NULL };
    const char *n = blas_corename();
    for (int i = 0; generic[i]; i++)
        if (strcasecmp(n, generic[i]) == 0) return 1;
    return 0;
}

const char *blas_preferred_coretype(void) {
    if (getenv("OPENBLAS_CORETYPE")) return NULL; /* the user decided */
    if (!blas_kernel_is_generic()) return NULL;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0). */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SKYLAKEX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "HASWELL";
#endif
    return NULL;
}

const char *blas_threading(void) {
    switch (openblas_get_parallel()) {
    case 0: return "serial";
    case 1: return "pthreads";
    default: return "openmp";
    }
}
