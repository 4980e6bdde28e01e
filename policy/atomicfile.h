/* atomicfile: files that appear whole or not at all.
 *
 * A file is written under a temporary name in its target's directory and renamed into
 * place only once complete and fsynced (then the directory is fsynced too), so a crash or
 * a full disk leaves the previous version, never a half-written checkpoint, tokenizer or
 * model. The temporary file is created with O_EXCL and mode 0666, so it gets the process's
 * umask like any other file (mkstemp's 0600 would make checkpoints private to the writer).
 * Write errors are remembered and reported once, by atomic_commit, also for text written
 * to the open stream (AtomicFile.f) with stdio directly. */
#ifndef RLVR_ATOMICFILE_H
#define RLVR_ATOMICFILE_H
#include <limits.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int failed, saved_errno;
    char path[PATH_MAX];
    char tmp[PATH_MAX];
} AtomicFile;

int  atomic_open(AtomicFile *a, const char *path, char *err, size_t errlen);
void atomic_write(AtomicFile *a, const void *p, size_t n);
/* Flush, fsync, rename into place, fsync the directory. On failure the temporary file is
 * removed, the target is untouched and err names the path and the reason. */
int  atomic_commit(AtomicFile *a, char *err, size_t errlen);
/* Give up: close and remove the temporary file. */
void atomic_abort(AtomicFile *a);

#endif
