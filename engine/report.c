/* report: the static HTML page of runs. See report.h. */
#include "engine/report.h"
#include "engine/plot.h"
#include "engine/run_files.h"
#include "policy/atomicfile.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* HTML text: & < > " ' escaped, control characters dropped. NULL or "" is a dash. */
static void put_text(FILE *f, const char *s) {
    if (!s || !*s) { fputs("&mdash;", f); return; }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (*p >= 0x20 || *p == '\t') fputc(*p, f);
        }
    }
}

static void put_num(FILE *f, double v, const char *fmt) {
    if (!isfinite(v)) fputs("&mdash;", f);
    else fprintf(f, fmt, v);
}

static void put_pct(FILE *f, double v) {
    if (!isfinite(v)) fputs("&mdash;", f);
    else fprintf(f, "%.1f%%", 100 * v);
}

/* A status as a CSS class name: letters only. */
static void put_class(FILE *f, const char *s) {
    for (const char *p = s ? s : ""; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) fputc(*p, f);
}

enum { CH_REWARD = REPORT_CHART_REWARD, CH_PASS1 = REPORT_CHART_PASS1, CH_KL = REPORT_CHART_KL,
       CH_LENGTH = REPORT_CHART_LENGTH, NCHARTS = REPORT_NCHARTS };

/* Held-out pass@1 exists only at evaluation steps: its finite points are joined into one
 * line; the other metrics keep their gaps. */
char *report_chart_svg(const ReportRun *runs, int n, int which, double reward_smooth) {
    PlotSeries *s = calloc((size_t)(n ? n : 1), sizeof *s);
    double **own = calloc((size_t)(n ? n : 1) * 2, sizeof *own);
    char *svg = NULL;
    if (!s || !own) goto done;
    for (int i = 0; i < n; i++) {
        const ReportRun *r = &runs[i];
        const double *y = which == CH_REWARD ? r->reward : which == CH_PASS1 ? r->pass1
                        : which == CH_KL ? r->kl : r->length;
        s[i].label = r->id ? r->id : "?";
        s[i].x = r->step;
        s[i].y = y;
        s[i].n = (y && r->n > 0) ? r->n : 0;
        if (which == CH_PASS1 && y && r->n > 0) {
            double *xs = malloc(sizeof(double) * (size_t)r->n), *ys = malloc(sizeof(double) * (size_t)r->n);
            own[2 * i] = xs;
            own[2 * i + 1] = ys;
            if (!xs || !ys) goto done;
            int m = 0;
            for (int j = 0; j < r->n; j++) {
                double x = r->step ? r->step[j] : j;
                if (isfinite(x) && isfinite(y[j])) { xs[m] = x; ys[m] = y[j]; m++; }
            }
            s[i].x = xs;
            s[i].y = ys;
            s[i].n = m;
        }
    }
    static const char *const titles[NCHARTS] = { "Reward", "Held-out pass@1", "KL to reference", "Completion length" };
    static const char *const ylabels[NCHARTS] = { "reward (mean per step)", "pass@1 (fraction)",
                                                  "KL (nats/token)", "tokens" };
    PlotOptions o = { .title = titles[which], .xlabel = "step", .ylabel = ylabels[which],
                      .smooth = which == CH_REWARD ? reward_smooth : 0, .width = 640, .height = 360,
                      .y_from_zero = which != CH_REWARD };
    svg = plot_svg(s, n, &o);
done:
    if (own) for (int i = 0; i < 2 * n; i++) free(own[i]);
    free(own);
    free(s);
    return svg;
}

static const char *CSS =
    "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fafafa}"
    "h1{font-size:1.4em;margin:0 0 .2em}"
    ".meta{color:#666;font-size:.9em;margin-bottom:1em}"
    "table{border-collapse:collapse;background:#fff;font-size:.9em}"
    "th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;white-space:nowrap}"
    "th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px;vertical-align:middle}"
    ".status{padding:.1em .4em;border-radius:3px;background:#eee}"
    ".status.running{background:#d6eaf8}.status.finished{background:#d5f5e3}"
    ".status.failed{background:#fadbd8}.status.interrupted,.status.stopped{background:#fcf3cf}"
    ".dirty{color:#D55E00;font-weight:bold}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:1em;margin-top:1.2em}"
    ".charts figure{margin:0;background:#fff;border:1px solid #ddd;padding:.4em}"
    ".charts svg{width:100%;height:auto;display:block}"
    "code{font-size:.95em}";

int report_write(const char *dir, const ReportRun *runs, int n, char *err, size_t errlen) {
    if (!dir || !*dir) { snprintf(err, errlen, "report: no directory"); return -1; }
    if (n < 0 || (n > 0 && !runs)) n = 0;
    if (run_mkdir_p(dir, err, errlen)) return -1;
    char *svg[NCHARTS] = { 0 };
    for (int c = 0; c < NCHARTS; c++)
        if (!(svg[c] = report_chart_svg(runs, n, c, 0.8))) {
            for (int k = 0; k < c; k++) free(svg[k]);
            snprintf(err, errlen, "report: out of memory");
            return -1;
        }
    char final[4200];
    snprintf(final, sizeof final, "%s/index.html", dir);
    AtomicFile af;
    if (atomic_open(&af, final, err, errlen)) {
        for (int c = 0; c < NCHARTS; c++) free(svg[c]);
        return -1;
    }
    FILE *f = af.f;   /* written with stdio; atomic_commit checks the stream's errors */

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"refresh\" content=\"60\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>rlvr runs</title>\n<style>%s</style>\n</head>\n<body>\n", CSS);
    fprintf(f, "<h1>rlvr runs</h1>\n<div class=\"meta\">%d run%s &middot; generated at "
               "<time datetime=\"%04d-%02d-%02dT%02d:%02d:%02dZ\">%s</time> &middot; refreshes every 60 s</div>\n",
            n, n == 1 ? "" : "s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec, when);
    if (n == 0) {
        fputs("<p>No runs yet.</p>\n", f);
    } else {
        fputs("<table class=\"runs\">\n<thead><tr><th>run</th><th>curriculum</th><th>status</th><th>stage</th>"
              "<th>steps</th><th>last reward</th><th>best held-out pass@1</th><th>SFT pass@1</th>"
              "<th>RL pass@1</th><th>source commit</th></tr></thead>\n<tbody>\n", f);
        for (int i = 0; i < n; i++) {
            const ReportRun *r = &runs[i];
            fprintf(f, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", plot_series_color(i));
            put_text(f, r->id);
            fputs("</td><td>", f);
            put_text(f, r->curriculum);
            fputs("</td><td><span class=\"status ", f);
            put_class(f, r->status);
            fputs("\">", f);
            put_text(f, r->status);
            fputs("</span></td><td>", f);
            put_text(f, r->stage);
            fputs("</td><td class=\"num\">", f);
            if (r->steps >= 0) fprintf(f, "%ld", r->steps); else fputs("&mdash;", f);
            fputs("</td><td class=\"num\">", f);
            put_num(f, r->last_reward, "%.3f");
            fputs("</td><td class=\"num\">", f);
            put_pct(f, r->best_pass1);
            fputs("</td><td class=\"num\">", f);
            put_pct(f, r->sft_pass1);
            fputs("</td><td class=\"num\">", f);
            put_pct(f, r->rl_pass1);
            fputs("</td><td><code>", f);
            put_text(f, r->source_commit);
            fputs("</code>", f);
            if (r->dirty) fputs(" <span class=\"dirty\" title=\"uncommitted changes\">+dirty</span>", f);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody>\n</table>\n", f);
    }
    fputs("<div class=\"charts\">\n", f);
    for (int c = 0; c < NCHARTS; c++) {
        fputs("<figure>\n", f);
        fputs(svg[c], f);
        fputs("</figure>\n", f);
        free(svg[c]);
    }
    fputs("</div>\n</body>\n</html>\n", f);

    return atomic_commit(&af, err, errlen);
}
