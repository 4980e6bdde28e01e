/* sandbox_internal: what sandbox.c shares with sandbox_seccomp.c, and nobody else. */
#ifndef RLVR_SANDBOX_INTERNAL_H
#define RLVR_SANDBOX_INTERNAL_H
#include "verifiers/sandbox.h"
#include <linux/filter.h>

/* The profile's seccomp filter as BPF (malloc'd out->filter), built before any fork so
 * the child only has to load it. RUN allows execve only with the pathname pointer
 * exec_path (the sandbox's own final exec). Returns -1 if libseccomp fails. */
int sandbox_build_filter(SandboxProfile profile, const char *exec_path, struct sock_fprog *out);

#endif
