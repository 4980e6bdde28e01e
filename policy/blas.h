/* blas: which OpenBLAS kernel is in use, and which one this CPU deserves.
 *
 * Debian 12's OpenBLAS (0.3.21) does not recognise recent x86 CPUs and falls back to a
 * generic kernel (it reports "Prescott") that runs sgemm about 6x slower than the
 * SkylakeX kernel on an AVX-512 machine. OpenBLAS reads OPENBLAS_CORETYPE only when it
 * is loaded, so the fix has to happen before the program starts: the command-line layer
 * asks blas_preferred_coretype() and, if it names a kernel, re-executes itself once with
 * the variable set (see engine/main.c). This file only answers the questions. */
#ifndef RLVR_BLAS_H
#define RLVR_BLAS_H

/* The kernel OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Prescott". */
const char *blas_corename(void);
/* 1 if the kernel in use is one of OpenBLAS's generic fallbacks. */
int blas_kernel_is_generic(void);
/* The OPENBLAS_CORETYPE this CPU should run ("SKYLAKEX", "HASWELL"), or NULL when the
 * kernel in use is already a good one, the CPU lacks AVX2, or the user set the variable. */
const char *blas_preferred_coretype(void);
/* "openmp", "pthreads" or "serial": the threading build of the OpenBLAS we linked. */
const char *blas_threading(void);

#endif
