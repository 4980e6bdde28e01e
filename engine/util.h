/* util: small helpers shared by the command-line layer: clocks, thread settings,
 * argument parsing. */
#ifndef RLVR_UTIL_H
#define RLVR_UTIL_H
#include <stddef.h>

/* Monotonic seconds. */
double util_now(void);
/* Use n threads for our loops and for OpenBLAS (n <= 0: leave the default). */
void   util_set_threads(int n);
int    util_get_threads(void);
/* Parse a whole decimal integer in [lo, hi]; returns -1 on junk or out of range. */
int    util_parse_int(const char *s, long lo, long hi, long *out);
/* Parse a finite float; -1 on junk. */
int    util_parse_float(const char *s, float *out);
/* A malloc'd, NUL-terminated copy of n bytes with every byte that is not part of valid
 * UTF-8 replaced by U+FFFD, so it can go into JSON (a policy emits byte tokens freely). */
char  *util_utf8_clean(const char *s, size_t n);
/* The directory holding the running binary (for bench/ and lua/ next to it). */
const char *util_exe_dir(void);

#endif
