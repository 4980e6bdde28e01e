/* run_record: the trainer's side of the run records (engine/records.h).
 *
 * At the start of a run: its provenance (the rlvr build's commit, and when the curriculum
 * lives in a git work tree, that tree's commit, branch, dirty flag, and the diff of its
 * uncommitted changes as source.diff) goes into config.json, and process.json says which
 * process on which host runs it (so a run killed without a word shows as interrupted).
 * At each evaluation, checkpoint and at the end, the run's text files are committed to
 * its branch in <runs-dir>/records.git, with checkpoints.json listing each checkpoint's
 * path, size and git SHA-1 (the weights stay as files beside it). */
#ifndef RLVR_RUN_RECORD_H
#define RLVR_RUN_RECORD_H
#include "engine/records.h"
#include <cJSON.h>
#include <stddef.h>

/* Open (or create, only when nothing is there) <runs_dir>/records.git. */
Records *run_record_open(const char *runs_dir, char *err, size_t errlen);
/* Add "provenance" to config and write <run_dir>/source.diff when the tree is dirty. A
 * curriculum outside any work tree has "tree": null; a tree libgit2 cannot read is a
 * warning on stderr, not an error. */
int run_record_provenance(const char *curriculum_path, const char *run_dir, cJSON *config, char *err, size_t errlen);
/* <run_dir>/process.json: pid, host, started_at (UTC). */
int run_record_process(const char *run_dir, char *err, size_t errlen);
/* Commit the run's text files to runs/<run_id> with message. */
int run_record_commit(Records *rec, const char *run_dir, const char *run_id, const char *message, char *err, size_t errlen);

#endif
