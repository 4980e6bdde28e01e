/* runs: a run's record read back into a RunInfo. See runs.h. */
#define _GNU_SOURCE
#include "engine/runs.h"
#include "engine/report.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

double runs_num(const cJSON *obj, const char *key) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *runs_str(const cJSON *obj, const char *key) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Records *runs_open_records(const char *runs_dir, char *err, size_t errlen) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/records.git", runs_dir && *runs_dir ? runs_dir : ".") >= (int)sizeof path) {
        snprintf(err, errlen, "%s: path too long", runs_dir);
        return NULL;
    }
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        snprintf(err, errlen, "no run records at %s (train a run first)", path);
        return NULL;
    }
    return records_open(path, 0, err, errlen);
}

/* A JSON file of the run's latest snapshot: NULL when absent; -1 when it does not parse. */
static int read_json(Records *r, const char *id, const char *name, cJSON **out, int required,
                     char *err, size_t errlen) {
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    char e[512];
    if (records_read(r, id, NULL, name, &data, &len, e, sizeof e)) {
        if (!required) return 0;
        snprintf(err, errlen, "%s", e);
        return -1;
    }
    *out = cJSON_ParseWithLength(data, len);
    free(data);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(err, errlen, "run %s: %s in the records is not a JSON object", id, name);
        return -1;
    }
    return 0;
}

/* "2026-11-28T18:53:55Z" as seconds since the epoch; NaN when it does not parse. */
static double parse_iso(const char *s) {
    if (!s) return NAN;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) return NAN;
    return (double)timegm(&tm);
}

/* The summary's status, "interrupted" for a "running" run whose process on this host is gone. */
static void effective_status(RunInfo *ri) {
    const char *s = runs_str(ri->summary, "status");
    snprintf(ri->status, sizeof ri->status, "%s", s ? s : "");
    if (!s || strcmp(s, "running") != 0 || !ri->process) return;
    const char *host = runs_str(ri->process, "host");
    double pid = runs_num(ri->process, "pid");
    char me[256];
    if (!host || !isfinite(pid) || pid <= 0 || pid > INT_MAX || gethostname(me, sizeof me) != 0) return;
    me[sizeof me - 1] = 0;
    if (strcmp(host, me) != 0) return;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) snprintf(ri->status, sizeof ri->status, "interrupted");
}

static void source_of(RunInfo *ri) {
    const cJSON *prov = ri->config ? cJSON_GetObjectItemCaseSensitive(ri->config, "provenance") : NULL;
    const cJSON *tree = prov ? cJSON_GetObjectItemCaseSensitive(prov, "tree") : NULL;
    const char *c = NULL;
    if (cJSON_IsObject(tree)) {
        c = runs_str(tree, "commit");
        ri->dirty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tree, "dirty"));
    }
    if (!c || !*c) {
        ri->dirty = 0;
        c = runs_str(prov, "rlvr_commit");
        if (!c) c = runs_str(ri->config, "rlvr_commit");   /* configs written before provenance */
    }
    if (c && strcmp(c, "unknown") != 0) snprintf(ri->source_commit, sizeof ri->source_commit, "%.7s", c);
}

static int load_metrics(Records *r, RunInfo *ri, char *err, size_t errlen) {
    char *data = NULL;
    size_t len = 0;
    char e[512];
    if (records_read(r, ri->id, NULL, "metrics.jsonl", &data, &len, e, sizeof e)) return 0;   /* none yet */
    int cap = 1;
    for (size_t i = 0; i < len; i++) cap += data[i] == '\n';
    double **cols[5] = { &ri->step, &ri->reward, &ri->pass1, &ri->kl, &ri->length };
    static const char *const keys[5] = { "step", "reward", "eval_pass_at_1", "kl", "completion_length" };
    for (int c = 0; c < 5; c++)
        if (!(*cols[c] = malloc(sizeof(double) * (size_t)cap))) {
            free(data);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    int n = 0;
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *j = cJSON_Parse(line);
        if (cJSON_IsObject(j) && isfinite(runs_num(j, "step"))) {
            for (int c = 0; c < 5; c++) (*cols[c])[n] = runs_num(j, keys[c]);
            n++;
        }
        cJSON_Delete(j);
        line = nl ? nl + 1 : NULL;
    }
    ri->n = n;
    free(data);
    return 0;
}

int runs_load(Records *r, const char *id, RunInfo *ri, char *err, size_t errlen) {
    memset(ri, 0, sizeof *ri);
    ri->start_time = NAN;
    RecordCommit *log = NULL;
    int nlog = 0;
    char e[512];
    if (records_log(r, id, &log, &nlog, e, sizeof e) || nlog == 0) {
        free(log);
        char **ids = NULL;
        int n = 0, known = 0;
        if (records_list(r, &ids, &n, e, sizeof e) == 0) {
            for (int i = 0; i < n; i++) { known |= strcmp(ids[i], id) == 0; free(ids[i]); }
            free(ids);
        }
        if (!known) snprintf(err, errlen, "no run '%s' in %s (rlvr runs list shows the runs)", id, records_path(r));
        else snprintf(err, errlen, "run %s: %s", id, e);
        return -1;
    }
    double first_commit = (double)log[nlog - 1].time;
    free(log);
    if (!(ri->id = strdup(id))) { snprintf(err, errlen, "out of memory"); return -1; }
    if (read_json(r, id, "config.json", &ri->config, 0, err, errlen) ||
        read_json(r, id, "summary.json", &ri->summary, 0, err, errlen) ||
        read_json(r, id, "process.json", &ri->process, 0, err, errlen) ||
        load_metrics(r, ri, err, errlen)) {
        runs_info_free(ri);
        return -1;
    }
    const char *st = runs_str(ri->process, "started_at");
    if (st) snprintf(ri->started, sizeof ri->started, "%s", st);
    ri->start_time = parse_iso(st);
    if (!isfinite(ri->start_time)) ri->start_time = first_commit;
    effective_status(ri);
    source_of(ri);
    return 0;
}

void runs_info_free(RunInfo *ri) {
    if (!ri) return;
    free(ri->id);
    cJSON_Delete(ri->config);
    cJSON_Delete(ri->summary);
    cJSON_Delete(ri->process);
    free(ri->step);
    free(ri->reward);
    free(ri->pass1);
    free(ri->kl);
    free(ri->length);
    memset(ri, 0, sizeof *ri);
}

static int by_start(const void *a, const void *b) {
    const RunInfo *x = a, *y = b;
    double tx = isfinite(x->start_time) ? x->start_time : 0, ty = isfinite(y->start_time) ? y->start_time : 0;
    if (tx != ty) return tx < ty ? -1 : 1;
    return strcmp(x->id, y->id);
}

int runs_load_all(Records *r, RunInfo **runs, int *n, char *err, size_t errlen) {
    *runs = NULL;
    *n = 0;
    char **ids = NULL;
    int nid = 0;
    if (records_list(r, &ids, &nid, err, errlen)) return -1;
    RunInfo *out = calloc((size_t)(nid ? nid : 1), sizeof *out);
    int rc = out ? 0 : -1, m = 0;
    if (!out) snprintf(err, errlen, "out of memory");
    for (int i = 0; i < nid; i++) {
        if (rc == 0 && runs_load(r, ids[i], &out[m], err, errlen) == 0) m++;
        else rc = -1;
        free(ids[i]);
    }
    free(ids);
    if (rc) { runs_free_all(out, m); return -1; }
    qsort(out, (size_t)m, sizeof *out, by_start);
    *runs = out;
    *n = m;
    return 0;
}

void runs_free_all(RunInfo *runs, int n) {
    if (!runs) return;
    for (int i = 0; i < n; i++) runs_info_free(&runs[i]);
    free(runs);
}

/* The report's view of the runs (pointers into runs; free the array only). */
static ReportRun *to_report_runs(const RunInfo *runs, int n) {
    ReportRun *rr = calloc((size_t)(n ? n : 1), sizeof *rr);
    if (!rr) return NULL;
    for (int i = 0; i < n; i++) {
        const RunInfo *ri = &runs[i];
        ReportRun *p = &rr[i];
        p->id = ri->id;
        p->curriculum = runs_str(ri->summary, "curriculum");
        if (!p->curriculum) p->curriculum = runs_str(ri->config, "curriculum");
        p->status = ri->status[0] ? ri->status : NULL;
        p->stage = runs_str(ri->summary, "stage");
        p->source_commit = ri->source_commit[0] ? ri->source_commit : NULL;
        p->dirty = ri->dirty;
        double steps = runs_num(ri->summary, "steps");
        p->steps = isfinite(steps) ? (long)steps : (ri->n > 0 ? (long)ri->step[ri->n - 1] : -1);
        p->last_reward = runs_num(ri->summary, "last_reward");
        p->best_pass1 = runs_num(ri->summary, "best_eval_pass_at_1");
        p->sft_pass1 = runs_num(ri->summary, "sft_pass_at_1");
        p->rl_pass1 = runs_num(ri->summary, "rl_pass_at_1");
        p->step = ri->step;
        p->n = ri->n;
        p->reward = ri->reward;
        p->pass1 = ri->pass1;
        p->kl = ri->kl;
        p->length = ri->length;
    }
    return rr;
}

int runs_write_report(const char *dir, const RunInfo *runs, int n, char *err, size_t errlen) {
    ReportRun *rr = to_report_runs(runs, n);
    if (!rr) { snprintf(err, errlen, "out of memory"); return -1; }
    int rc = report_write(dir, rr, n, err, errlen);
    free(rr);
    return rc;
}

char *runs_chart_svg(const RunInfo *runs, int n, int which, double reward_smooth) {
    ReportRun *rr = to_report_runs(runs, n);
    char *svg = rr ? report_chart_svg(rr, n, which, reward_smooth) : NULL;
    free(rr);
    return svg;
}

int runs_refresh_report(const char *runs_dir, char *err, size_t errlen) {
    Records *r = runs_open_records(runs_dir, err, errlen);
    if (!r) return -1;
    RunInfo *runs = NULL;
    int n = 0;
    int rc = runs_load_all(r, &runs, &n, err, errlen);
    records_close(r);
    if (rc) return -1;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/report", runs_dir && *runs_dir ? runs_dir : ".") >= (int)sizeof dir) {
        snprintf(err, errlen, "%s: path too long", runs_dir);
        runs_free_all(runs, n);
        return -1;
    }
    rc = runs_write_report(dir, runs, n, err, errlen);
    runs_free_all(runs, n);
    return rc;
}
