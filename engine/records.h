/* records: run records kept in a bare git repository, written and read with libgit2.
 *
 * `runs/records.git` (by default) holds one branch per run, `runs/<run-id>`. Each commit on
 * it is a snapshot of the run's text files (config.json, curriculum.lua, metrics.jsonl,
 * samples.jsonl, summary.json, checkpoints.json) at a step, with a message that states
 * the step and the headline metrics. Checkpoint weights stay as files beside the record.
 * So a run's state at any recorded step can be read back, `git log runs/<id>` is its
 * history, and runs move between machines with `git push` / `git fetch`.
 *
 * Safety: an existing path that is not a bare git repository (or is a corrupt one) is an
 * error, never re-created over; only a missing path is created. Two processes committing
 * at once are serialised by an exclusive lock file (records.git/rlvr.lock, flock with a
 * time limit) around each commit, and each branch update is compare-and-swap against the
 * commit it was built on, so no commit is lost. */
#ifndef RLVR_RECORDS_H
#define RLVR_RECORDS_H
#include <stddef.h>

typedef struct Records Records;

/* Open path, creating a bare repository there if (and only if) nothing exists at path.
 * NULL with err. */
Records *records_open(const char *path, int create, char *err, size_t errlen);
void records_close(Records *r);
/* The repository's directory (as libgit2 resolved it, no trailing '/'). */
const char *records_path(const Records *r);
/* How long records_commit waits for records.git/rlvr.lock (default 30 s). */
void records_set_lock_timeout(Records *r, double seconds);

typedef struct {
    const char *name;      /* file name in the snapshot's tree, e.g. "metrics.jsonl" */
    const char *data;
    size_t len;
} RecordFile;

/* Commit a snapshot of files to branch runs/<run_id> (created on the first commit), with
 * message. Writes the new commit's id (40 hex) to id_out (may be NULL). run_id must be one
 * valid ref-name component (no '/'); file names must be plain and distinct. Blobs are
 * written before the lock is taken; only the commit and branch update happen under it. */
int records_commit(Records *r, const char *run_id, const RecordFile *files, int n, const char *message,
                   char id_out[41], char *err, size_t errlen);

/* The run ids that have a branch, sorted; *ids is malloc'd (free each, then the array). */
int records_list(Records *r, char ***ids, int *n, char *err, size_t errlen);

/* A file of a run's latest snapshot (rev NULL) or of a given commit/revision
 * ("runs/<id>~3", a commit id). *data is malloc'd and NUL-terminated. A rev starting
 * with '~' or '^' is relative to the run's tip ("~2" is "runs/<run_id>~2"); with any other
 * rev, run_id is only used in messages and may be NULL. */
int records_read(Records *r, const char *run_id, const char *rev, const char *name, char **data, size_t *len,
                 char *err, size_t errlen);

/* Commits on a run's branch, newest first: ids (40 hex) and first message lines. */
typedef struct { char id[41]; char summary[256]; long long time; } RecordCommit;
int records_log(Records *r, const char *run_id, RecordCommit **out, int *n, char *err, size_t errlen);

/* Provenance of a file's directory, when it lies in a git work tree: the tree's HEAD
 * commit, branch, whether it has uncommitted changes, and the diff of those changes
 * (malloc'd, may be empty). Returns 1 when path is in a work tree, 0 when not, -1 on
 * error. */
typedef struct {
    char commit[41];
    char branch[256];
    int dirty;
    char *diff;
} Provenance;
int  provenance_of(const char *path, Provenance *p, char *err, size_t errlen);
void provenance_free(Provenance *p);

#endif
