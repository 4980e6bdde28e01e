/* run_files: run directories and their JSON / JSON Lines files. */
#include "engine/run_files.h"
#include "policy/atomicfile.h"
#include "tasks/dataset.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int run_mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { snprintf(err, errlen, "%s: path too long", path); return -1; }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST) { snprintf(err, errlen, "%s: cannot create: %s", buf, strerror(errno)); return -1; }
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) { snprintf(err, errlen, "%s: cannot create: %s", buf, strerror(errno)); return -1; }
    struct stat st;
    if (stat(buf, &st) || !S_ISDIR(st.st_mode)) { snprintf(err, errlen, "%s: not a directory", buf); return -1; }
    return 0;
}

int run_create_dir(const char *runs_dir, const char *id, const char *name, char *dir, size_t dirlen,
                   char *id_out, size_t idlen, char *err, size_t errlen) {
    if (run_mkdir_p(runs_dir, err, errlen)) return -1;
    char gen[256];
    if (!id) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(gen, sizeof gen, "%s-%04d%02d%02d-%02d%02d%02d-%d", name, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
        id = gen;
    }
    for (const char *p = id; *p; p++)
        if (*p == '/' || (p == id && *p == '.')) { snprintf(err, errlen, "run id '%s': no '/' and no leading '.'", id); return -1; }
    snprintf(id_out, idlen, "%s", id);
    snprintf(dir, dirlen, "%s/%s", runs_dir, id);
    if (mkdir(dir, 0755)) {
        snprintf(err, errlen, "%s: %s", dir, errno == EEXIST ? "a run with this id exists (resume it with --resume, or pick another --run-id)" : strerror(errno));
        return -1;
    }
    char ck[4400];
    snprintf(ck, sizeof ck, "%s/checkpoints", dir);
    if (mkdir(ck, 0755)) { snprintf(err, errlen, "%s: cannot create: %s", ck, strerror(errno)); return -1; }
    return 0;
}

int run_find_dir(const char *runs_dir, const char *run, char *dir, size_t dirlen, char *err, size_t errlen) {
    char cfg[4400];
    snprintf(cfg, sizeof cfg, "%s/config.json", run);
    if (access(cfg, R_OK) == 0) { snprintf(dir, dirlen, "%s", run); return 0; }
    snprintf(dir, dirlen, "%s/%s", runs_dir, run);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (access(cfg, R_OK) == 0) return 0;
    snprintf(err, errlen, "no run '%s' (looked for %s/config.json and %s)", run, run, cfg);
    return -1;
}

int run_write_json(const char *dir, const char *name, const cJSON *j, char *err, size_t errlen) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = cJSON_Print(j);
    if (!text) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    AtomicFile a;
    if (atomic_open(&a, path, err, errlen)) { free(text); return -1; }
    atomic_write(&a, text, strlen(text));
    atomic_write(&a, "\n", 1);
    free(text);
    return atomic_commit(&a, err, errlen);
}

char *run_read_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) { free(buf); snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "out of memory"); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

cJSON *run_read_json(const char *path, char *err, size_t errlen) {
    size_t n;
    char *text = run_read_file(path, &n, err, errlen);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!j) {
        int line = 1;
        for (const char *p = text; end && p < end; p++) line += *p == '\n';
        snprintf(err, errlen, "%s:%d: not valid JSON", path, line);
    }
    free(text);
    return j;
}

int run_copy_file(const char *src, const char *dir, const char *name, char *err, size_t errlen) {
    size_t n;
    char *text = run_read_file(src, &n, err, errlen);
    if (!text) return -1;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    AtomicFile a;
    if (atomic_open(&a, path, err, errlen)) { free(text); return -1; }
    atomic_write(&a, text, n);
    free(text);
    return atomic_commit(&a, err, errlen);
}

FILE *run_open_append(const char *dir, const char *name, char *err, size_t errlen) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "a");
    if (!f) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return f;
}

int run_append_line(FILE *f, const cJSON *j, char *err, size_t errlen) {
    char *line = cJSON_PrintUnformatted(j);
    if (!line) { snprintf(err, errlen, "out of memory"); return -1; }
    int bad = fprintf(f, "%s\n", line) < 0 || fflush(f) != 0;
    free(line);
    if (bad) { snprintf(err, errlen, "writing a metrics line: %s", strerror(errno)); return -1; }
    return 0;
}

int run_truncate_jsonl(const char *dir, const char *name, long step, char *err, size_t errlen) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, F_OK) != 0) return 0;
    size_t n;
    char *text = run_read_file(path, &n, err, errlen);
    if (!text) return -1;
    AtomicFile a;
    if (atomic_open(&a, path, err, errlen)) { free(text); return -1; }
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        cJSON *j = dataset_parse_line(line, len);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
        /* A torn last line (the run was killed mid-write) is dropped too. */
        if (cJSON_IsNumber(s) && s->valuedouble <= (double)step) {
            atomic_write(&a, line, len);
            atomic_write(&a, "\n", 1);
        }
        cJSON_Delete(j);
        if (!nl) break;
        line = nl + 1;
    }
    free(text);
    return atomic_commit(&a, err, errlen);
}
