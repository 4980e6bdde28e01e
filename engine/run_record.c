/* run_record: provenance, process.json and snapshots of a run into the records. */
#include "engine/run_record.h"
#include "engine/run_files.h"
#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES_KEPT 200   /* samples.jsonl lines in a snapshot: the recent ones */

Records *run_record_open(const char *runs_dir, char *err, size_t errlen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/records.git", runs_dir);
    return records_open(path, 1, err, errlen);
}

int run_record_provenance(const char *curriculum_path, const char *run_dir, cJSON *config, char *err, size_t errlen) {
    cJSON *p = cJSON_AddObjectToObject(config, "provenance");
    if (!p) { snprintf(err, errlen, "out of memory"); return -1; }
    cJSON_AddStringToObject(p, "rlvr_commit", RLVR_COMMIT_STRING);
    Provenance pv;
    char why[1024];
    int rc = provenance_of(curriculum_path, &pv, why, sizeof why);
    if (rc < 0) fprintf(stderr, "rlvr train: warning: cannot read the git work tree of %s: %s\n", curriculum_path, why);
    if (rc <= 0) { cJSON_AddNullToObject(p, "tree"); return 0; }
    cJSON *tree = cJSON_AddObjectToObject(p, "tree");
    cJSON_AddStringToObject(tree, "commit", pv.commit);
    cJSON_AddStringToObject(tree, "branch", pv.branch);
    cJSON_AddBoolToObject(tree, "dirty", pv.dirty);
    int res = 0;
    if (pv.dirty && pv.diff && pv.diff[0]) {
        char path[4300];
        snprintf(path, sizeof path, "%s/source.diff", run_dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs(pv.diff, f) < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); res = -1; }
        if (f && fclose(f)) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); res = -1; }
    }
    provenance_free(&pv);
    return res;
}

int run_record_process(const char *run_dir, char *err, size_t errlen) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "host", host);
    cJSON_AddStringToObject(o, "started_at", when);
    int rc = run_write_json(run_dir, "process.json", o, err, errlen);
    cJSON_Delete(o);
    return rc;
}

/* A file of the run directory (NULL data when it does not exist). keep_lines > 0 keeps
 * only the last that many lines. */
static int read_file(const char *dir, const char *name, int keep_lines, char **data, size_t *len) {
    char path[4300], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *data = NULL;
    *len = 0;
    if (access(path, F_OK) != 0) return errno == ENOENT ? 0 : -1;
    char *buf = run_read_file(path, len, err, sizeof err);
    if (!buf) return -1;
    size_t n = *len;
    if (keep_lines > 0) {
        size_t start = n;
        int lines = 0;
        while (start > 0) {
            if (buf[start - 1] == '\n' && start != n && ++lines >= keep_lines) break;
            start--;
        }
        memmove(buf, buf + start, n - start);
        *len = n - start;
    }
    *data = buf;
    return 0;
}

/* checkpoints.json: every checkpoint file with its size and git blob SHA-1. */
static char *checkpoints_json(const char *run_dir) {
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "checkpoints");
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    int n = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".ckpt")) continue;
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (!nn) break;
        names = nn;
        if ((names[n] = strdup(e->d_name))) n++;
    }
    if (d) closedir(d);
    for (int i = 1; i < n; i++)   /* sorted, so snapshots do not depend on readdir order */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) { char *t = names[j]; names[j] = names[j - 1]; names[j - 1] = t; }
    for (int i = 0; i < n; i++) {
        char path[4600], rel[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(rel, sizeof rel, "checkpoints/%s", names[i]);
        struct stat sb;
        git_oid oid;
        char hex[GIT_OID_HEXSZ + 1] = "";
        if (stat(path, &sb) == 0 && git_odb_hashfile(&oid, path, GIT_OBJECT_BLOB) == 0) git_oid_tostr(hex, sizeof hex, &oid);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "file", rel);
        cJSON_AddStringToObject(c, "sha1", hex);
        cJSON_AddNumberToObject(c, "bytes", (double)sb.st_size);
        cJSON_AddItemToArray(arr, c);
        free(names[i]);
    }
    free(names);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

int run_record_commit(Records *rec, const char *run_dir, const char *run_id, const char *message, char *err, size_t errlen) {
    static const char *const names[] = { "config.json", "curriculum.lua", "metrics.jsonl", "samples.jsonl",
                                         "summary.json", "process.json", "source.diff" };
    enum { N = sizeof names / sizeof *names };
    RecordFile files[N + 1];
    char *bufs[N + 1] = { 0 };
    int n = 0, rc = -1;
    for (int i = 0; i < N; i++) {
        size_t len;
        if (read_file(run_dir, names[i], strcmp(names[i], "samples.jsonl") ? 0 : SAMPLES_KEPT, &bufs[i], &len)) {
            snprintf(err, errlen, "%s/%s: cannot read for the record", run_dir, names[i]);
            goto done;
        }
        if (bufs[i]) files[n++] = (RecordFile){ names[i], bufs[i], len };
    }
    git_libgit2_init();
    bufs[N] = checkpoints_json(run_dir);
    git_libgit2_shutdown();
    if (!bufs[N]) { snprintf(err, errlen, "out of memory"); goto done; }
    files[n++] = (RecordFile){ "checkpoints.json", bufs[N], strlen(bufs[N]) };
    rc = records_commit(rec, run_id, files, n, message, NULL, err, errlen);
done:
    for (int i = 0; i <= N; i++) free(bufs[i]);
    return rc;
}
