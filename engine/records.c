/* records: run records in a bare git repository (see records.h). */
#define _GNU_SOURCE
#include "engine/records.h"
#include <git2.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RUN_PREFIX "refs/heads/runs/"
#define DIFF_CAP (1u << 20)
/* A ref lock file (<ref>.lock) older than this, found while we hold rlvr.lock, was left
 * by a killed writer: git holds one for milliseconds. */
#define STALE_REF_LOCK_SECONDS 2.0

struct Records {
    git_repository *repo;
    char path[PATH_MAX];
    double lock_timeout;
};

/* ------------------------------------------------------------------ errors */

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "records: <what>: <libgit2's message>" */
static void git_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const git_error *e = git_error_last();
    if (e && e->message && e->message[0]) set_err(err, errlen, "records: %s: %s", what, e->message);
    else set_err(err, errlen, "records: %s", what);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms) {
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ names */

/* runs/<id> as a full ref name, if id is one valid ref-name component. */
static int run_ref(const char *run_id, char *ref, size_t reflen, char *err, size_t errlen) {
    if (!run_id || !run_id[0]) {
        set_err(err, errlen, "records: empty run id");
        return -1;
    }
    if (strchr(run_id, '/')) {
        set_err(err, errlen, "records: run id '%s' contains '/'; it must be a single ref-name component", run_id);
        return -1;
    }
    int n = snprintf(ref, reflen, RUN_PREFIX "%s", run_id);
    if (n < 0 || (size_t)n >= reflen) {
        set_err(err, errlen, "records: run id '%.64s...' is too long", run_id);
        return -1;
    }
    int valid = 0;
    if (git_reference_name_is_valid(&valid, ref) < 0 || !valid) {
        set_err(err, errlen, "records: run id '%s' is not a valid git ref-name component "
                "(no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', '@{', control characters, "
                "leading '.', trailing '.lock')", run_id);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ open / close */

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb; (void)ftw;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static int mkdir_p(const char *dir) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* Create a bare repository at path: built in a sibling temporary directory, then renamed
 * into place, so nobody ever sees a half-made one and a concurrent creator's repository
 * (or anything else that appeared meanwhile) is never replaced. 1 when someone else's
 * appeared first, 0 when ours is in place, -1 on error. */
static int create_bare(const char *path, char *err, size_t errlen) {
    char parent[PATH_MAX], tmp[2 * PATH_MAX + 64];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *base = path;
    if (slash) {
        base = slash + 1;
        if (slash == parent) slash[1] = 0;
        else *slash = 0;
    } else {
        snprintf(parent, sizeof parent, ".");
    }
    if (mkdir_p(parent) != 0) {
        set_err(err, errlen, "records: cannot create directory %s for %s: %s", parent, path, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld-%ld", parent, base, (long)getpid(), (long)(now_seconds() * 1e6) % 1000000);
    git_repository_init_options o;
    git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKDIR;
    o.description = "rlvr run records: one branch runs/<run-id> per run";
    git_repository *repo = NULL;
    if (git_repository_init_ext(&repo, tmp, &o) < 0) {
        git_err(err, errlen, "cannot create a bare repository for %s (in %s)", path, tmp);
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return -1;
    }
    git_repository_free(repo);
    if (rename(tmp, path) != 0) {
        int e = errno;
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        struct stat st;
        if ((e == EEXIST || e == ENOTEMPTY) || stat(path, &st) == 0) return 1;
        set_err(err, errlen, "records: cannot move the new repository into place at %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* Open an existing path as a bare repository and check it is whole enough to use. */
static git_repository *open_existing(const char *path, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) != 0) {
        set_err(err, errlen, "records: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {
        set_err(err, errlen, "records: %s exists and is not a directory, so not a bare git repository; "
                "refusing to use it", path);
        return NULL;
    }
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
        /* Say whether it looks like a damaged repository or something else entirely. */
        static const char *const parts[] = { "HEAD", "objects", "refs", "config" };
        int found = 0;
        char missing[64] = "";
        for (int i = 0; i < 4; i++) {
            char q[PATH_MAX + 16];
            snprintf(q, sizeof q, "%s/%s", path, parts[i]);
            struct stat qs;
            if (stat(q, &qs) == 0) found++;
            else if (!missing[0]) snprintf(missing, sizeof missing, "%s", parts[i]);
        }
        if (found >= 2 && missing[0])
            git_err(err, errlen, "%s looks like a damaged git repository (no %s; left untouched)", path, missing);
        else
            git_err(err, errlen, "%s exists but is not a bare git repository (left untouched)", path);
        return NULL;
    }
    if (!git_repository_is_bare(repo)) {
        set_err(err, errlen, "records: %s is a git work tree or non-bare repository, not a bare one; "
                "refusing to use it", path);
        git_repository_free(repo);
        return NULL;
    }
    /* HEAD must parse (a truncated HEAD is corruption) and every run's tip must exist. */
    git_reference *head = NULL;
    if (git_reference_lookup(&head, repo, "HEAD") < 0) {
        git_err(err, errlen, "%s is a corrupt git repository (HEAD unreadable; left untouched)", path);
        git_repository_free(repo);
        return NULL;
    }
    git_reference_free(head);
    git_odb *odb = NULL;
    if (git_repository_odb(&odb, repo) < 0) {
        git_err(err, errlen, "%s is a corrupt git repository (object database unreadable; left untouched)", path);
        git_repository_free(repo);
        return NULL;
    }
    git_reference_iterator *it = NULL;
    int rc = git_reference_iterator_glob_new(&it, repo, RUN_PREFIX "*");
    git_reference *ref = NULL;
    while (rc == 0 && (rc = git_reference_next(&ref, it)) == 0) {
        const git_oid *id = git_reference_target(ref);
        if (id && !git_odb_exists(odb, id)) {
            set_err(err, errlen, "records: %s is a corrupt git repository: %s points at missing commit %s "
                    "(left untouched)", path, git_reference_name(ref), git_oid_tostr_s(id));
            rc = -2;
        }
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    git_odb_free(odb);
    if (rc == -2) { git_repository_free(repo); return NULL; }
    if (rc != GIT_ITEROVER) {
        git_err(err, errlen, "%s is a corrupt git repository (refs unreadable; left untouched)", path);
        git_repository_free(repo);
        return NULL;
    }
    return repo;
}

Records *records_open(const char *path, int create, char *err, size_t errlen) {
    if (!path || !path[0]) {
        set_err(err, errlen, "records: empty repository path");
        return NULL;
    }
    if (strlen(path) >= PATH_MAX - 80) {
        set_err(err, errlen, "records: repository path too long");
        return NULL;
    }
    if (git_libgit2_init() < 0) {
        set_err(err, errlen, "records: cannot initialise libgit2");
        return NULL;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            set_err(err, errlen, "records: cannot open %s: %s", path, strerror(errno));
            git_libgit2_shutdown();
            return NULL;
        }
        if (!create) {
            set_err(err, errlen, "records: no repository at %s", path);
            git_libgit2_shutdown();
            return NULL;
        }
        if (create_bare(path, err, errlen) < 0) {
            git_libgit2_shutdown();
            return NULL;
        }
    }
    git_repository *repo = open_existing(path, err, errlen);
    if (!repo) {
        git_libgit2_shutdown();
        return NULL;
    }
    Records *r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, errlen, "records: out of memory");
        git_repository_free(repo);
        git_libgit2_shutdown();
        return NULL;
    }
    r->repo = repo;
    r->lock_timeout = 30.0;
    snprintf(r->path, sizeof r->path, "%s", git_repository_path(repo));
    size_t pl = strlen(r->path);
    if (pl > 1 && r->path[pl - 1] == '/') r->path[pl - 1] = 0;
    return r;
}

void records_close(Records *r) {
    if (!r) return;
    git_repository_free(r->repo);
    free(r);
    git_libgit2_shutdown();
}

const char *records_path(const Records *r) { return r ? r->path : NULL; }

void records_set_lock_timeout(Records *r, double seconds) {
    if (r) r->lock_timeout = seconds < 0 ? 0 : seconds;
}

/* ------------------------------------------------------------------ commit */

/* flock(<repo>/rlvr.lock) within the time limit; the fd, or -1. */
static int take_lock(Records *r, double deadline, char *err, size_t errlen) {
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/rlvr.lock", r->path);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_err(err, errlen, "records: cannot open lock file %s: %s", p, strerror(errno));
        return -1;
    }
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            set_err(err, errlen, "records: cannot lock %s: %s", p, strerror(errno));
            break;
        }
        if (now_seconds() >= deadline) {
            set_err(err, errlen, "records: timed out after %.0f s waiting for the lock %s "
                    "(another process is committing to this repository)", r->lock_timeout, p);
            break;
        }
        sleep_ms(10);
    }
    close(fd);
    return -1;
}

/* With rlvr.lock held, a leftover <ref>.lock from a killed writer would block the update
 * forever: wait briefly for a live one to go, then remove a stale one. */
static int clear_stale_ref_lock(Records *r, const char *ref, double deadline, char *err, size_t errlen) {
    char p[PATH_MAX + 600];
    snprintf(p, sizeof p, "%s/%s.lock", r->path, ref);
    for (;;) {
        struct stat st;
        if (stat(p, &st) != 0) return 0;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double age = (double)(now.tv_sec - st.st_mtim.tv_sec) + (double)(now.tv_nsec - st.st_mtim.tv_nsec) * 1e-9;
        if (age >= STALE_REF_LOCK_SECONDS) {
            if (unlink(p) != 0 && errno != ENOENT) {
                set_err(err, errlen, "records: cannot remove stale lock %s: %s", p, strerror(errno));
                return -1;
            }
            return 0;
        }
        if (now_seconds() >= deadline) {
            set_err(err, errlen, "records: timed out waiting for %s to be released", p);
            return -1;
        }
        sleep_ms(20);
    }
}

static int build_tree(git_repository *repo, const RecordFile *files, int n, git_oid *tree_id,
                      char *err, size_t errlen) {
    git_treebuilder *tb = NULL;
    if (git_treebuilder_new(&tb, repo, NULL) < 0) {
        git_err(err, errlen, "cannot start a tree");
        return -1;
    }
    int rc = -1;
    for (int i = 0; i < n; i++) {
        const char *name = files[i].name;
        if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
            set_err(err, errlen, "records: bad file name '%s' in snapshot (a plain file name is needed)",
                    name ? name : "(null)");
            goto out;
        }
        if (files[i].len && !files[i].data) {
            set_err(err, errlen, "records: file %s has length %zu but no data", name, files[i].len);
            goto out;
        }
        if (git_treebuilder_get(tb, name)) {
            set_err(err, errlen, "records: file %s appears twice in the snapshot", name);
            goto out;
        }
        git_oid blob;
        if (git_blob_create_from_buffer(&blob, repo, files[i].len ? files[i].data : "", files[i].len) < 0) {
            git_err(err, errlen, "cannot write %s (%zu bytes)", name, files[i].len);
            goto out;
        }
        if (git_treebuilder_insert(NULL, tb, name, &blob, GIT_FILEMODE_BLOB) < 0) {
            git_err(err, errlen, "cannot add %s to the snapshot", name);
            goto out;
        }
    }
    if (git_treebuilder_write(tree_id, tb) < 0) {
        git_err(err, errlen, "cannot write the snapshot's tree");
        goto out;
    }
    rc = 0;
out:
    git_treebuilder_free(tb);
    return rc;
}

int records_commit(Records *r, const char *run_id, const RecordFile *files, int n, const char *message,
                   char id_out[41], char *err, size_t errlen) {
    char ref[512];
    if (!r) { set_err(err, errlen, "records: no repository"); return -1; }
    if (n < 0 || (n > 0 && !files)) { set_err(err, errlen, "records: bad file list"); return -1; }
    if (run_ref(run_id, ref, sizeof ref, err, errlen) < 0) return -1;
    double deadline = now_seconds() + r->lock_timeout;

    /* Blobs and tree first, outside the lock: objects are content-addressed, so writing
     * them needs no serialisation (an unreferenced one is harmless). */
    git_oid tree_id;
    if (build_tree(r->repo, files, n, &tree_id, err, errlen) < 0) return -1;

    /* The message, ending in a newline as git writes them. */
    const char *msg = message && message[0] ? message : "snapshot";
    size_t ml = strlen(msg);
    char *msgbuf = malloc(ml + 2);
    if (!msgbuf) { set_err(err, errlen, "records: out of memory"); return -1; }
    memcpy(msgbuf, msg, ml);
    if (msgbuf[ml - 1] != '\n') msgbuf[ml++] = '\n';
    msgbuf[ml] = 0;

    int rc = -1, fd = -1;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_reference *cur = NULL, *updated = NULL;
    git_commit *parent = NULL;
    git_oid commit_id;

    if (git_tree_lookup(&tree, r->repo, &tree_id) < 0) { git_err(err, errlen, "cannot read back the snapshot's tree"); goto out; }
    if (git_signature_now(&sig, "rlvr", "rlvr@localhost") < 0) { git_err(err, errlen, "cannot make a signature"); goto out; }
    if ((fd = take_lock(r, deadline, err, errlen)) < 0) goto out;
    if (clear_stale_ref_lock(r, ref, deadline, err, errlen) < 0) goto out;

    int lr = git_reference_lookup(&cur, r->repo, ref);
    if (lr < 0 && lr != GIT_ENOTFOUND) { git_err(err, errlen, "cannot read %s", ref); goto out; }
    git_oid tip;
    if (cur) {
        git_reference *resolved = NULL;
        if (git_reference_resolve(&resolved, cur) < 0) { git_err(err, errlen, "cannot resolve %s", ref); goto out; }
        git_oid_cpy(&tip, git_reference_target(resolved));
        git_reference_free(resolved);
        if (git_commit_lookup(&parent, r->repo, &tip) < 0) {
            git_err(err, errlen, "%s points at %s, which is not a readable commit", ref, git_oid_tostr_s(&tip));
            goto out;
        }
    }
    const git_commit *parents[1] = { parent };
    if (git_commit_create(&commit_id, r->repo, NULL, sig, sig, NULL, msgbuf, tree, parent ? 1 : 0, parents) < 0) {
        git_err(err, errlen, "cannot write the commit for run %s", run_id);
        goto out;
    }
    int cr = parent ? git_reference_create_matching(&updated, r->repo, ref, &commit_id, 1, &tip, "rlvr: snapshot")
                    : git_reference_create_matching(&updated, r->repo, ref, &commit_id, 0, NULL, "rlvr: first snapshot");
    if (cr < 0) {
        if (cr == GIT_EMODIFIED || cr == GIT_EEXISTS)
            git_err(err, errlen, "%s moved while committing (another writer bypassed %s/rlvr.lock); "
                    "snapshot not recorded", ref, r->path);
        else
            git_err(err, errlen, "cannot update %s", ref);
        goto out;
    }
    if (id_out) git_oid_tostr(id_out, 41, &commit_id);
    rc = 0;
out:
    if (fd >= 0) close(fd); /* releases the flock */
    git_reference_free(updated);
    git_reference_free(cur);
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    free(msgbuf);
    return rc;
}

/* ------------------------------------------------------------------ reading */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int records_list(Records *r, char ***ids, int *n, char *err, size_t errlen) {
    *ids = NULL;
    *n = 0;
    if (!r) { set_err(err, errlen, "records: no repository"); return -1; }
    git_branch_iterator *it = NULL;
    if (git_branch_iterator_new(&it, r->repo, GIT_BRANCH_LOCAL) < 0) {
        git_err(err, errlen, "cannot list the branches of %s", r->path);
        return -1;
    }
    char **v = NULL;
    int cnt = 0, cap = 0, rc;
    git_reference *ref = NULL;
    git_branch_t type;
    while ((rc = git_branch_next(&ref, &type, it)) == 0) {
        const char *name = git_reference_name(ref);
        size_t pl = strlen(RUN_PREFIX);
        if (strncmp(name, RUN_PREFIX, pl) == 0 && name[pl]) {
            if (cnt == cap) {
                cap = cap ? cap * 2 : 16;
                char **nv = realloc(v, (size_t)cap * sizeof *v);
                if (!nv) { git_reference_free(ref); rc = -2; break; }
                v = nv;
            }
            if (!(v[cnt] = strdup(name + pl))) { git_reference_free(ref); rc = -2; break; }
            cnt++;
        }
        git_reference_free(ref);
    }
    git_branch_iterator_free(it);
    if (rc != GIT_ITEROVER) {
        if (rc == -2) set_err(err, errlen, "records: out of memory");
        else git_err(err, errlen, "cannot list the branches of %s", r->path);
        for (int i = 0; i < cnt; i++) free(v[i]);
        free(v);
        return -1;
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, cmp_str);
    *ids = v;
    *n = cnt;
    return 0;
}

/* The commit a run id and rev name (see records.h). */
static int resolve_commit(Records *r, const char *run_id, const char *rev, git_commit **out,
                          char *err, size_t errlen) {
    char ref[512];
    *out = NULL;
    if (!rev || !rev[0] || rev[0] == '~' || rev[0] == '^') {
        if (run_ref(run_id, ref, sizeof ref, err, errlen) < 0) return -1;
    }
    git_object *obj = NULL;
    if (!rev || !rev[0]) {
        git_reference *b = NULL;
        int rc = git_reference_lookup(&b, r->repo, ref);
        if (rc == GIT_ENOTFOUND) {
            set_err(err, errlen, "records: no run '%s' in %s", run_id, r->path);
            return -1;
        }
        if (rc < 0 || git_reference_peel(&obj, b, GIT_OBJECT_COMMIT) < 0) {
            git_err(err, errlen, "cannot read the tip of run %s", run_id);
            git_reference_free(b);
            return -1;
        }
        git_reference_free(b);
    } else {
        char spec[1024];
        if (rev[0] == '~' || rev[0] == '^') snprintf(spec, sizeof spec, "%s%s", ref, rev);
        else snprintf(spec, sizeof spec, "%s", rev);
        git_object *o = NULL;
        if (git_revparse_single(&o, r->repo, spec) < 0) {
            git_err(err, errlen, "no revision '%s'%s%s", spec, run_id ? " of run " : "", run_id ? run_id : "");
            return -1;
        }
        int pr = git_object_peel(&obj, o, GIT_OBJECT_COMMIT);
        git_object_free(o);
        if (pr < 0) {
            git_err(err, errlen, "revision '%s' is not a commit", spec);
            return -1;
        }
    }
    *out = (git_commit *)obj;
    return 0;
}

int records_read(Records *r, const char *run_id, const char *rev, const char *name, char **data, size_t *len,
                 char *err, size_t errlen) {
    *data = NULL;
    if (len) *len = 0;
    if (!r) { set_err(err, errlen, "records: no repository"); return -1; }
    if (!name || !name[0]) { set_err(err, errlen, "records: no file name"); return -1; }
    git_commit *c = NULL;
    if (resolve_commit(r, run_id, rev, &c, err, errlen) < 0) return -1;
    int rc = -1;
    git_tree *tree = NULL;
    git_tree_entry *e = NULL;
    git_blob *blob = NULL;
    char sid[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sid, sizeof sid, git_commit_id(c));
    if (git_commit_tree(&tree, c) < 0) { git_err(err, errlen, "cannot read the tree of snapshot %.12s", sid); goto out; }
    int br = git_tree_entry_bypath(&e, tree, name);
    if (br == GIT_ENOTFOUND) {
        set_err(err, errlen, "records: snapshot %.12s%s%s has no file %s", sid,
                run_id ? " of run " : "", run_id ? run_id : "", name);
        goto out;
    }
    if (br < 0) { git_err(err, errlen, "cannot find %s in snapshot %.12s", name, sid); goto out; }
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        set_err(err, errlen, "records: %s in snapshot %.12s is not a file", name, sid);
        goto out;
    }
    if (git_blob_lookup(&blob, r->repo, git_tree_entry_id(e)) < 0) {
        git_err(err, errlen, "cannot read %s of snapshot %.12s", name, sid);
        goto out;
    }
    size_t sz = (size_t)git_blob_rawsize(blob);
    char *buf = malloc(sz + 1);
    if (!buf) { set_err(err, errlen, "records: out of memory reading %s (%zu bytes)", name, sz); goto out; }
    if (sz) memcpy(buf, git_blob_rawcontent(blob), sz);
    buf[sz] = 0;
    *data = buf;
    if (len) *len = sz;
    rc = 0;
out:
    git_blob_free(blob);
    git_tree_entry_free(e);
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

int records_log(Records *r, const char *run_id, RecordCommit **out, int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    if (!r) { set_err(err, errlen, "records: no repository"); return -1; }
    git_commit *tip = NULL;
    if (resolve_commit(r, run_id, NULL, &tip, err, errlen) < 0) return -1;
    git_revwalk *w = NULL;
    RecordCommit *v = NULL;
    int cnt = 0, cap = 0, rc = -1;
    if (git_revwalk_new(&w, r->repo) < 0 || git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL) < 0 ||
        git_revwalk_push(w, git_commit_id(tip)) < 0) {
        git_err(err, errlen, "cannot walk run %s", run_id);
        goto out;
    }
    git_revwalk_simplify_first_parent(w);
    git_oid id;
    int wr;
    while ((wr = git_revwalk_next(&id, w)) == 0) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, r->repo, &id) < 0) {
            git_err(err, errlen, "cannot read commit %s of run %s", git_oid_tostr_s(&id), run_id);
            goto out;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            RecordCommit *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { git_commit_free(c); set_err(err, errlen, "records: out of memory"); goto out; }
            v = nv;
        }
        RecordCommit *rcm = &v[cnt++];
        git_oid_tostr(rcm->id, sizeof rcm->id, &id);
        const char *s = git_commit_summary(c);
        snprintf(rcm->summary, sizeof rcm->summary, "%s", s ? s : "");
        rcm->time = (long long)git_commit_time(c);
        git_commit_free(c);
    }
    if (wr != GIT_ITEROVER) { git_err(err, errlen, "cannot walk run %s", run_id); goto out; }
    *out = v;
    *n = cnt;
    v = NULL;
    rc = 0;
out:
    free(v);
    git_revwalk_free(w);
    git_commit_free(tip);
    return rc;
}

/* ------------------------------------------------------------------ provenance */

typedef struct { char *buf; size_t len, cap, total; int cut; } DiffOut;

static int diff_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l, void *payload) {
    (void)d; (void)h;
    DiffOut *o = payload;
    int prefix = l->origin == GIT_DIFF_LINE_CONTEXT || l->origin == GIT_DIFF_LINE_ADDITION ||
                 l->origin == GIT_DIFF_LINE_DELETION;
    size_t need = l->content_len + (prefix ? 1 : 0);
    o->total += need;
    if (o->cut) return 0;
    if (o->len + need > DIFF_CAP) { o->cut = 1; return 0; }
    if (o->len + need + 1 > o->cap) {
        size_t nc = o->cap ? o->cap : 4096;
        while (nc < o->len + need + 1) nc *= 2;
        char *nb = realloc(o->buf, nc);
        if (!nb) return -1;
        o->buf = nb;
        o->cap = nc;
    }
    if (prefix) o->buf[o->len++] = (char)l->origin;
    memcpy(o->buf + o->len, l->content, l->content_len);
    o->len += l->content_len;
    o->buf[o->len] = 0;
    return 0;
}

static int provenance_fill(git_repository *repo, Provenance *p, char *err, size_t errlen) {
    int rc = -1;
    git_reference *head = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_status_list *st = NULL;
    git_diff *diff = NULL;
    DiffOut o = { 0 };
    const char *wd = git_repository_workdir(repo);

    int hr = git_repository_head(&head, repo);
    if (hr == GIT_EUNBORNBRANCH || hr == GIT_ENOTFOUND) {
        git_reference *sym = NULL;
        if (git_reference_lookup(&sym, repo, "HEAD") == 0 && git_reference_symbolic_target(sym)) {
            const char *t = git_reference_symbolic_target(sym);
            snprintf(p->branch, sizeof p->branch, "%s", strncmp(t, "refs/heads/", 11) == 0 ? t + 11 : t);
        }
        git_reference_free(sym);
    } else if (hr < 0) {
        git_err(err, errlen, "cannot read HEAD of the work tree %s", wd);
        goto out;
    } else {
        if (git_reference_peel((git_object **)&commit, head, GIT_OBJECT_COMMIT) < 0) {
            git_err(err, errlen, "HEAD of the work tree %s is not a commit", wd);
            goto out;
        }
        git_oid_tostr(p->commit, sizeof p->commit, git_commit_id(commit));
        if (git_repository_head_detached(repo) == 1) snprintf(p->branch, sizeof p->branch, "(detached)");
        else snprintf(p->branch, sizeof p->branch, "%s", git_reference_shorthand(head));
        if (git_commit_tree(&tree, commit) < 0) { git_err(err, errlen, "cannot read HEAD's tree in %s", wd); goto out; }
    }

    git_status_options so;
    git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
    if (git_status_list_new(&st, repo, &so) < 0) { git_err(err, errlen, "cannot read the status of %s", wd); goto out; }
    size_t ns = git_status_list_entrycount(st);
    for (size_t i = 0; i < ns; i++) {
        const git_status_entry *e = git_status_byindex(st, i);
        if (e && e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED)) { p->dirty = 1; break; }
    }

    git_diff_options dopt;
    git_diff_options_init(&dopt, GIT_DIFF_OPTIONS_VERSION);
    dopt.flags = GIT_DIFF_IGNORE_SUBMODULES;
    if (git_diff_tree_to_workdir_with_index(&diff, repo, tree, &dopt) < 0) {
        git_err(err, errlen, "cannot diff the work tree %s", wd);
        goto out;
    }
    if (git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, diff_line, &o) < 0) {
        git_err(err, errlen, "cannot format the diff of %s", wd);
        goto out;
    }
    if (o.cut) {
        char mark[160];
        int ml = snprintf(mark, sizeof mark, "\n[rlvr: diff cut at %zu of %zu bytes]\n", o.len, o.total);
        char *nb = realloc(o.buf, o.len + (size_t)ml + 1);
        if (!nb) { set_err(err, errlen, "records: out of memory"); goto out; }
        o.buf = nb;
        memcpy(o.buf + o.len, mark, (size_t)ml + 1);
        o.len += (size_t)ml;
    }
    if (!o.buf && !(o.buf = calloc(1, 1))) { set_err(err, errlen, "records: out of memory"); goto out; }
    p->diff = o.buf;
    o.buf = NULL;
    rc = 1;
out:
    free(o.buf);
    git_diff_free(diff);
    git_status_list_free(st);
    git_tree_free(tree);
    git_commit_free(commit);
    git_reference_free(head);
    return rc;
}

int provenance_of(const char *path, Provenance *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (!path || !path[0]) { set_err(err, errlen, "provenance: empty path"); return -1; }
    struct stat st;
    if (stat(path, &st) != 0) {
        set_err(err, errlen, "provenance: cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        set_err(err, errlen, "provenance: path too long");
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        char *s = strrchr(dir, '/');
        if (!s) snprintf(dir, sizeof dir, ".");
        else if (s == dir) s[1] = 0;
        else *s = 0;
    }
    if (git_libgit2_init() < 0) { set_err(err, errlen, "provenance: cannot initialise libgit2"); return -1; }
    git_repository *repo = NULL;
    int rc = git_repository_open_ext(&repo, dir, 0, NULL);
    if (rc == GIT_ENOTFOUND) {
        rc = 0;
    } else if (rc < 0) {
        git_err(err, errlen, "cannot open the git repository holding %s", path);
        rc = -1;
    } else if (git_repository_is_bare(repo)) {
        rc = 0;
    } else {
        rc = provenance_fill(repo, p, err, errlen);
        if (rc < 0) {
            /* the messages say "records:"; this is provenance */
            if (err && errlen > 12 && strncmp(err, "records: ", 9) == 0) {
                char tmp[1024];
                snprintf(tmp, sizeof tmp, "provenance: %s", err + 9);
                set_err(err, errlen, "%s", tmp);
            }
        }
    }
    git_repository_free(repo);
    git_libgit2_shutdown();
    if (rc <= 0) provenance_free(p);
    return rc;
}

void provenance_free(Provenance *p) {
    if (!p) return;
    free(p->diff);
    p->diff = NULL;
}
