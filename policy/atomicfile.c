#include "policy/atomicfile.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int atomic_open(AtomicFile *a, const char *path, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    static unsigned counter;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        if (snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%d.%u.%lx", path, (int)getpid(), n, (unsigned long)ts.tv_nsec) >=
            (int)sizeof a->tmp) {
            snprintf(err, errlen, "%s: path too long", path);
            return -1;
        }
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
        return -1;
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        snprintf(err, errlen, "%s: fdopen failed: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        return -1;
    }
    return 0;
}

void atomic_write(AtomicFile *a, const void *p, size_t n) {
    if (a->failed || n == 0) return;
    if (fwrite(p, 1, n, a->f) != n) { a->failed = 1; a->saved_errno = errno ? errno : EIO; }
}

static void fsync_dir_of(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

int atomic_commit(AtomicFile *a, char *err, size_t errlen) {
    /* ferror: callers may also write to a->f with stdio directly. */
    if (!a->failed && ferror(a->f)) { a->failed = 1; a->saved_errno = errno ? errno : EIO; }
    if (!a->failed && (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)) { a->failed = 1; a->saved_errno = errno; }
    if (fclose(a->f) != 0 && !a->failed) { a->failed = 1; a->saved_errno = errno; }
    a->f = NULL;
    if (a->failed) {
        unlink(a->tmp);
        snprintf(err, errlen, "%s: write failed: %s", a->path, strerror(a->saved_errno));
        return -1;
    }
    if (rename(a->tmp, a->path) != 0) {
        snprintf(err, errlen, "%s: cannot rename the temporary file into place: %s", a->path, strerror(errno));
        unlink(a->tmp);
        return -1;
    }
    fsync_dir_of(a->path);
    return 0;
}

void atomic_abort(AtomicFile *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}
