/* runs: reading training runs back from the records repository (engine/records.h):
 * a run's config, summary, process and metrics from its latest snapshot, gathered into
 * one struct for `rlvr runs` and for the report page.
 *
 * The records live in <runs_dir>/records.git, opened without creating it. A run whose
 * summary says "running" but whose process.json names this host and a pid that no
 * longer exists is reported as "interrupted" (it was killed). */
#ifndef RLVR_RUNS_H
#define RLVR_RUNS_H
#include "engine/records.h"
#include <cJSON.h>
#include <stddef.h>

typedef struct {
    char *id;
    cJSON *config, *summary, *process;    /* NULL when the snapshot lacks the file */
    char status[32];           /* summary's status with the interrupted rule; "" unknown */
    char started[32];          /* process.json's started_at, "" unknown */
    double start_time;         /* seconds since the epoch (started_at, else the first commit) */
    char source_commit[16];    /* provenance.tree.commit (7), else rlvr_commit (7); "" unknown */
    int dirty;
    /* metrics.jsonl as columns, one entry per line; NaN where a line lacks the field */
    int n;
    double *step, *reward, *pass1, *kl, *length;
} RunInfo;

/* <runs_dir>/records.git opened without create; a missing one is
 * "no run records at <path> (train a run first)". NULL with err. */
Records *runs_open_records(const char *runs_dir, char *err, size_t errlen);
/* One run's latest snapshot. A run id that has no branch is an error naming it. */
int  runs_load(Records *r, const char *id, RunInfo *ri, char *err, size_t errlen);
void runs_info_free(RunInfo *ri);
/* Every run, sorted by start time (oldest first, ties by id). */
int  runs_load_all(Records *r, RunInfo **runs, int *n, char *err, size_t errlen);
void runs_free_all(RunInfo *runs, int n);

/* Small accessors: a number (NaN when absent or null) or a string (NULL) at a key of an
 * object, which may be NULL. */
double      runs_num(const cJSON *obj, const char *key);
const char *runs_str(const cJSON *obj, const char *key);

/* Write <dir>/index.html (report_write) of the given runs. */
int runs_write_report(const char *dir, const RunInfo *runs, int n, char *err, size_t errlen);
/* One of the report's charts (REPORT_CHART_* in engine/report.h) as an SVG, malloc'd. */
char *runs_chart_svg(const RunInfo *runs, int n, int which, double reward_smooth);

/* Regenerate <runs_dir>/report/index.html from the records (all runs). 0 or -1 with err. */
int runs_refresh_report(const char *runs_dir, char *err, size_t errlen);

#endif
