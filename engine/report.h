/* report: a static HTML page of training runs (a table and four charts), for a browser
 * pointed at a folder: no network resources, no JavaScript, refreshes itself every 60 s. */
#ifndef RLVR_REPORT_H
#define RLVR_REPORT_H
#include <stddef.h>

typedef struct {
    const char *id, *curriculum, *status, *stage, *source_commit; int dirty;   /* NULL = unknown */
    long steps; double last_reward, best_pass1, sft_pass1, rl_pass1;   /* NaN = unknown */
    /* curves: step -> value, NaN where absent */
    const double *step; int n;
    const double *reward, *pass1, *kl, *length;    /* each n values or NULL (eval pass@1 only at
                                                      eval steps, NaN elsewhere) */
} ReportRun;

/* Write <dir>/index.html (dir created with mkdir -p; written atomically: a temp file in
 * dir, then rename) with a table of the runs (id, curriculum, status, stage, steps, last
 * reward, best held-out pass@1, SFT and RL pass@1, source commit + dirty mark), four
 * charts with every run as a series on shared axes (reward, smoothed; held-out pass@1,
 * its eval points joined; KL; completion length), the time it was generated and a
 * <meta http-equiv="refresh" content="60">. Returns 0, or -1 with a message in err. */
int report_write(const char *dir, const ReportRun *runs, int n, char *err, size_t errlen);

/* One of the page's charts as a standalone SVG (malloc'd; NULL when out of memory), for
 * `rlvr runs plot`: every run a series; reward smoothed with weight reward_smooth. */
enum { REPORT_CHART_REWARD, REPORT_CHART_PASS1, REPORT_CHART_KL, REPORT_CHART_LENGTH, REPORT_NCHARTS };
char *report_chart_svg(const ReportRun *runs, int n, int which, double reward_smooth);

#endif
