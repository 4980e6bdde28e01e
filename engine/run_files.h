/* run_files: the files of a run directory: creating and finding it, JSON written
 * atomically, JSON Lines appended one flushed line at a time, and cut back to a step on
 * resume (a resumed run rewrites what came after its checkpoint). */
#ifndef RLVR_RUN_FILES_H
#define RLVR_RUN_FILES_H
#include <cJSON.h>
#include <stdio.h>

#ifndef RLVR_COMMIT
#define RLVR_COMMIT "unknown"
#endif
#define RLVR_COMMIT_STRING RLVR_COMMIT

/* runs_dir/<id>/ and its checkpoints/ folder; id defaults to <name>-<YYYYmmdd-HHMMSS>-<pid>.
 * An existing run directory is never reused. */
int  run_create_dir(const char *runs_dir, const char *id, const char *name, char *dir, size_t dirlen,
                    char *id_out, size_t idlen, char *err, size_t errlen);
/* RUN as a path holding config.json, else runs_dir/RUN. */
int  run_find_dir(const char *runs_dir, const char *run, char *dir, size_t dirlen, char *err, size_t errlen);
/* mkdir -p; the path must end up a directory. */
int  run_mkdir_p(const char *path, char *err, size_t errlen);
/* A whole file, malloc'd and NUL-terminated (*len bytes). NULL with err. */
char *run_read_file(const char *path, size_t *len, char *err, size_t errlen);
int  run_write_json(const char *dir, const char *name, const cJSON *j, char *err, size_t errlen);
cJSON *run_read_json(const char *path, char *err, size_t errlen);
int  run_copy_file(const char *src, const char *dir, const char *name, char *err, size_t errlen);
FILE *run_open_append(const char *dir, const char *name, char *err, size_t errlen);
/* One line, flushed, so a killed run loses nothing it reported. */
int  run_append_line(FILE *f, const cJSON *j, char *err, size_t errlen);
/* Keep only the lines whose "step" is at most step (a missing file is fine). */
int  run_truncate_jsonl(const char *dir, const char *name, long step, char *err, size_t errlen);

#endif
