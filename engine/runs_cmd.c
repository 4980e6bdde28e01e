/* rlvr runs: list, show, compare, plot and report the runs kept in the records
 * repository (<runs-dir>/records.git). The loading is in engine/runs.c. */
#include "engine/commands.h"
#include "engine/plot.h"
#include "engine/records.h"
#include "engine/runs.h"
#include "engine/report.h"
#include "policy/atomicfile.h"
#include "engine/util.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *RUNS_USAGE =
    "usage: rlvr runs list [--runs-dir DIR]\n"
    "       rlvr runs show RUN [--runs-dir DIR] [--ascii]\n"
    "       rlvr runs compare RUN RUN... [--runs-dir DIR]\n"
    "       rlvr runs plot RUN... -o FILE.svg [--smooth X] [--runs-dir DIR]\n"
    "       rlvr runs report -o DIR [--runs-dir DIR]\n"
    "\n"
    "Reads the run records that `rlvr train` commits to <runs-dir>/records.git (one branch\n"
    "runs/<run-id> per run). --runs-dir defaults to $RLVR_RUNS_DIR, else ./runs.\n"
    "\n"
    "  list      one line per run, oldest first: start, curriculum, status, stage, steps,\n"
    "            last reward, best held-out pass@1, source commit (* = uncommitted changes)\n"
    "  show      a run's settings, summary, reward and pass@1 charts, and record history\n"
    "  compare   the settings that differ between runs, and their metrics at common steps\n"
    "  plot      reward, held-out pass@1, KL and completion length of runs as one SVG\n"
    "  report    the HTML runs page (DIR/index.html) of every run\n"
    "\n"
    "A run whose summary says running but whose process (on this host) is gone is shown as\n"
    "interrupted. rlvr runs <command> --help for each.\n";

static const char *LIST_USAGE =
    "usage: rlvr runs list [--runs-dir DIR]\n"
    "\n"
    "One row per run, sorted by start time (newest last): id, start time, curriculum,\n"
    "status, stage, steps, last reward, best held-out pass@1, and the source commit\n"
    "(the work tree's commit, else the binary's; * when the tree had uncommitted changes).\n"
    "\"-\" marks an unknown value.\n";

static const char *SHOW_USAGE =
    "usage: rlvr runs show RUN [--runs-dir DIR] [--ascii]\n"
    "\n"
    "The run's resolved settings (run-wide and each stage's key settings), its summary,\n"
    "text charts of the reward (smoothed, weight 0.8) and held-out pass@1 by step, and\n"
    "the history of its record (one commit per snapshot, newest first).\n"
    "  --ascii   chart with plain characters instead of Unicode braille\n";

static const char *COMPARE_USAGE =
    "usage: rlvr runs compare RUN RUN... [--runs-dir DIR]\n"
    "\n"
    "The settings whose values differ between the runs (config.json's seed, cli_config and\n"
    "settings as key paths such as settings.stages[1].lr), then held-out pass@1 and reward\n"
    "at the steps where every run was evaluated (else at the last step all runs reached).\n";

static const char *PLOT_USAGE =
    "usage: rlvr runs plot RUN... -o FILE.svg [--smooth X] [--runs-dir DIR]\n"
    "\n"
    "One SVG with four charts (reward, held-out pass@1, KL, completion length; x = step),\n"
    "every run a series on shared axes.\n"
    "  -o FILE.svg   where to write it (written whole, then renamed into place)\n"
    "  --smooth X    the reward curve's moving-average weight in [0, 1) (default 0.8)\n";

static const char *REPORT_USAGE =
    "usage: rlvr runs report -o DIR [--runs-dir DIR]\n"
    "\n"
    "Writes DIR/index.html, the HTML page of every run (a table and four charts, no\n"
    "JavaScript, refreshes every 60 s), and prints its path.\n";

enum { OPT_OUT = 1, OPT_SMOOTH = 2, OPT_ASCII = 4 };

typedef struct {
    const char *runs_dir, *out;
    double smooth;
    int smooth_given, ascii;
    const char **pos;
    int npos;
} Args;

static int usage_error(const char *sub, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rlvr runs%s%s: %s (rlvr runs%s%s --help)\n", sub ? " " : "", sub ? sub : "", msg,
            sub ? " " : "", sub ? sub : "");
    return 2;
}

/* 0 ok, 1 --help printed (exit 0), 2 usage error (reported). */
static int parse_args(const char *sub, int argc, char **argv, int allowed, const char *usage, Args *a) {
    memset(a, 0, sizeof *a);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos) { fprintf(stderr, "rlvr runs: out of memory\n"); return 2; }
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) { fputs(usage, stdout); return 1; }
        int needs = !strcmp(s, "--runs-dir") || ((allowed & OPT_OUT) && !strcmp(s, "-o")) ||
                    ((allowed & OPT_SMOOTH) && !strcmp(s, "--smooth"));
        if (needs) {
            if (i + 1 >= argc) return usage_error(sub, "%s needs a value", s);
            const char *v = argv[++i];
            if (!strcmp(s, "--runs-dir")) {
                if (!*v) return usage_error(sub, "--runs-dir is empty");
                a->runs_dir = v;
            } else if (!strcmp(s, "-o")) {
                if (!*v) return usage_error(sub, "-o is empty");
                a->out = v;
            } else {
                float f;
                if (util_parse_float(v, &f) || f < 0 || f >= 1)
                    return usage_error(sub, "--smooth must be a number in [0, 1), not '%s'", v);
                a->smooth = f;
                a->smooth_given = 1;
            }
        } else if ((allowed & OPT_ASCII) && !strcmp(s, "--ascii")) {
            a->ascii = 1;
        } else if (s[0] == '-' && s[1]) {
            return usage_error(sub, "unknown option '%s'", s);
        } else {
            a->pos[a->npos++] = s;
        }
    }
    if (!a->runs_dir) {
        const char *e = getenv("RLVR_RUNS_DIR");
        a->runs_dir = e && *e ? e : "runs";
    }
    return 0;
}

static Records *open_or_say(const Args *a) {
    char err[1024];
    Records *r = runs_open_records(a->runs_dir, err, sizeof err);
    if (!r) fprintf(stderr, "rlvr runs: %s\n", err);
    return r;
}

/* ---------------------------------------------------------------- text tables */

typedef struct {
    int ncol, nrow, cap;
    char **cell;            /* nrow x ncol, row 0 is the header */
    const int *right;       /* ncol flags: right-aligned */
} Table;

static void table_init(Table *t, int ncol, const int *right) {
    memset(t, 0, sizeof *t);
    t->ncol = ncol;
    t->right = right;
}

static char *xstrdup(const char *s) {
    char *p = strdup(s ? s : "-");
    if (!p) { fprintf(stderr, "rlvr runs: out of memory\n"); exit(1); }
    return p;
}

static void table_cell(Table *t, int row, int col, const char *fmt, ...) {
    while (row >= t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cell, sizeof(char *) * (size_t)cap * (size_t)t->ncol);
        if (!c) { fprintf(stderr, "rlvr runs: out of memory\n"); exit(1); }
        memset(c + (size_t)t->cap * t->ncol, 0, sizeof(char *) * (size_t)(cap - t->cap) * (size_t)t->ncol);
        t->cell = c;
        t->cap = cap;
    }
    if (row >= t->nrow) t->nrow = row + 1;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(t->cell[(size_t)row * t->ncol + col]);
    t->cell[(size_t)row * t->ncol + col] = xstrdup(buf);
}

/* Display width of UTF-8 text (code points). */
static int text_width(const char *s) {
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) w += (*p & 0xC0) != 0x80;
    return w;
}

static void table_free(Table *t) {
    for (int i = 0; i < t->nrow * t->ncol; i++) free(t->cell[i]);
    free(t->cell);
    t->cell = NULL;
}

static void table_print(Table *t, const char *indent) {
    int *w = calloc((size_t)t->ncol, sizeof *w);
    if (!w) return;
    for (int r = 0; r < t->nrow; r++)
        for (int c = 0; c < t->ncol; c++) {
            const char *s = t->cell[(size_t)r * t->ncol + c];
            int k = text_width(s ? s : "-");
            if (k > w[c]) w[c] = k;
        }
    for (int r = 0; r < t->nrow; r++) {
        fputs(indent, stdout);
        for (int c = 0; c < t->ncol; c++) {
            const char *s = t->cell[(size_t)r * t->ncol + c];
            if (!s) s = "-";
            int pad = w[c] - text_width(s);
            int last = c == t->ncol - 1;
            if (t->right && t->right[c]) printf("%*s%s", pad, "", s);
            else if (last) fputs(s, stdout);
            else printf("%s%*s", s, pad, "");
            if (!last) fputs("  ", stdout);
        }
        fputc('\n', stdout);
    }
    free(w);
    table_free(t);
}

/* A number for a table: "-" when not finite. */
static const char *fmt_num(char *buf, size_t len, double v, const char *fmt) {
    if (!isfinite(v)) snprintf(buf, len, "-");
    else snprintf(buf, len, fmt, v);
    return buf;
}

static const char *run_curriculum(const RunInfo *ri) {
    const char *c = runs_str(ri->summary, "curriculum");
    return c ? c : runs_str(ri->config, "curriculum");
}

static long run_steps(const RunInfo *ri) {
    double s = runs_num(ri->summary, "steps");
    if (isfinite(s)) return (long)s;
    return ri->n > 0 ? (long)ri->step[ri->n - 1] : -1;
}

/* ---------------------------------------------------------------- list */

static int runs_list(int argc, char **argv) {
    Args a;
    int p = parse_args("list", argc, argv, 0, LIST_USAGE, &a);
    if (p) { free(a.pos); return p == 1 ? 0 : 2; }
    if (a.npos) { const char *x = a.pos[0]; free(a.pos); return usage_error("list", "unexpected argument '%s'", x); }
    free(a.pos);
    Records *r = open_or_say(&a);
    if (!r) return 1;
    RunInfo *runs = NULL;
    int n = 0;
    char err[1024];
    if (runs_load_all(r, &runs, &n, err, sizeof err)) {
        fprintf(stderr, "rlvr runs: %s\n", err);
        records_close(r);
        return 1;
    }
    if (n == 0) {
        printf("no runs in %s\n", records_path(r));
        records_close(r);
        return 0;
    }
    static const int right[9] = { 0, 0, 0, 0, 0, 1, 1, 1, 0 };
    Table t;
    table_init(&t, 9, right);
    const char *head[9] = { "RUN", "STARTED", "CURRICULUM", "STATUS", "STAGE", "STEPS", "LAST REWARD",
                            "BEST PASS@1", "COMMIT" };
    for (int c = 0; c < 9; c++) table_cell(&t, 0, c, "%s", head[c]);
    for (int i = 0; i < n; i++) {
        const RunInfo *ri = &runs[i];
        char b[64];
        const char *stage = runs_str(ri->summary, "stage");
        long steps = run_steps(ri);
        table_cell(&t, i + 1, 0, "%s", ri->id);
        table_cell(&t, i + 1, 1, "%s", ri->started[0] ? ri->started : "-");
        table_cell(&t, i + 1, 2, "%s", run_curriculum(ri) ? run_curriculum(ri) : "-");
        table_cell(&t, i + 1, 3, "%s", ri->status[0] ? ri->status : "-");
        table_cell(&t, i + 1, 4, "%s", stage ? stage : "-");
        if (steps >= 0) table_cell(&t, i + 1, 5, "%ld", steps);
        else table_cell(&t, i + 1, 5, "-");
        table_cell(&t, i + 1, 6, "%s", fmt_num(b, sizeof b, runs_num(ri->summary, "last_reward"), "%.3f"));
        table_cell(&t, i + 1, 7, "%s", fmt_num(b, sizeof b, runs_num(ri->summary, "best_eval_pass_at_1"), "%.3f"));
        table_cell(&t, i + 1, 8, "%s%s", ri->source_commit[0] ? ri->source_commit : "-", ri->dirty ? "*" : "");
    }
    table_print(&t, "");
    runs_free_all(runs, n);
    records_close(r);
    return 0;
}

/* ---------------------------------------------------------------- show */

/* A JSON value as display text (strings bare, numbers %.10g), malloc'd. */
static char *value_text(const cJSON *v) {
    char buf[64];
    if (!v) return xstrdup("-");
    if (cJSON_IsString(v)) return xstrdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        snprintf(buf, sizeof buf, "%.10g", v->valuedouble);
        return xstrdup(buf);
    }
    if (cJSON_IsBool(v)) return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNull(v)) return xstrdup("null");
    char *s = cJSON_PrintUnformatted(v);
    if (!s) { fprintf(stderr, "rlvr runs: out of memory\n"); exit(1); }
    return s;
}

static void print_kv(const char *k, const cJSON *v) {
    char *s = value_text(v);
    printf(" %s=%s", k, s);
    free(s);
}

/* The settings of one stage worth a glance; the rest are in config.json. */
static void show_stage(int i, const cJSON *st) {
    static const char *const keys[] = { "steps", "lr", "warmup", "batch_size", "prompts", "group_size",
                                        "temperature", "advantage", "loss_agg", "epochs", "minibatches",
                                        "kl_beta", "dynamic_sampling", "truncated", "max_new_tokens",
                                        "calculator" };
    const char *name = runs_str(st, "name"), *mode = runs_str(st, "mode");
    printf("  stage %d %s (%s):", i, name ? name : "?", mode ? mode : "?");
    int rl = mode && !strcmp(mode, "rl");
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        if (!rl && (!strcmp(keys[k], "prompts") || !strcmp(keys[k], "group_size") ||
                    !strcmp(keys[k], "temperature") || !strcmp(keys[k], "advantage") ||
                    !strcmp(keys[k], "loss_agg") || !strcmp(keys[k], "epochs") ||
                    !strcmp(keys[k], "minibatches") || !strcmp(keys[k], "kl_beta") ||
                    !strcmp(keys[k], "dynamic_sampling") || !strcmp(keys[k], "truncated")))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, keys[k]);
        if (v) print_kv(keys[k], v);
    }
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(st, "promote");
    if (cJSON_IsObject(pr)) {
        printf(" promote(");
        const cJSON *e;
        int first = 1;
        cJSON_ArrayForEach(e, pr) {
            char *s = value_text(e);
            printf("%s%s=%s", first ? "" : " ", e->string, s);
            free(s);
            first = 0;
        }
        printf(")");
    }
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(st, "verifiers");
    if (cJSON_IsArray(vs) && cJSON_GetArraySize(vs) > 0) {
        printf(" verifiers=");
        const cJSON *e;
        int first = 1;
        cJSON_ArrayForEach(e, vs) {
            const char *nm = runs_str(e, "name");
            double w = runs_num(e, "weight");
            printf("%s%s", first ? "" : "+", nm ? nm : "?");
            if (isfinite(w) && w != 1) printf("*%g", w);
            first = 0;
        }
    }
    putchar('\n');
}

/* A text chart of one metric (finite points only, so evaluations join up). */
static void show_chart(const RunInfo *ri, const double *y, const char *title, const char *ylabel, double smooth,
                       int from_zero, int ascii) {
    double *xs = malloc(sizeof(double) * (size_t)(ri->n ? ri->n : 1));
    double *ys = malloc(sizeof(double) * (size_t)(ri->n ? ri->n : 1));
    int m = 0;
    if (!xs || !ys) { free(xs); free(ys); return; }
    for (int i = 0; i < ri->n; i++)
        if (y && isfinite(y[i]) && isfinite(ri->step[i])) { xs[m] = ri->step[i]; ys[m] = y[i]; m++; }
    printf("\n");
    if (m == 0) {
        printf("%s: no data yet\n", title);
    } else {
        PlotSeries s = { .label = ri->id, .x = xs, .y = ys, .n = m };
        PlotOptions o = { .title = title, .xlabel = "step", .ylabel = ylabel, .smooth = smooth,
                          .width = 60, .height = 12, .y_from_zero = from_zero };
        char *txt = plot_text(&s, 1, &o, ascii);
        if (txt) fputs(txt, stdout);
        free(txt);
    }
    free(xs);
    free(ys);
}

static int runs_show(int argc, char **argv) {
    Args a;
    int p = parse_args("show", argc, argv, OPT_ASCII, SHOW_USAGE, &a);
    if (p) { free(a.pos); return p == 1 ? 0 : 2; }
    if (a.npos != 1) {
        free(a.pos);
        return usage_error("show", "%s", a.npos ? "one run at a time" : "which run? (rlvr runs list shows them)");
    }
    const char *id = a.pos[0];
    free(a.pos);
    Records *r = open_or_say(&a);
    if (!r) return 1;
    RunInfo ri;
    char err[1024];
    if (runs_load(r, id, &ri, err, sizeof err)) {
        fprintf(stderr, "rlvr runs: %s\n", err);
        records_close(r);
        return 1;
    }
    const cJSON *cfg = ri.config;
    printf("run %s\n", ri.id);
    const char *cur = run_curriculum(&ri);
    printf("  curriculum  %s\n", cur ? cur : "-");
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(cfg, "provenance");
    const cJSON *tree = cJSON_GetObjectItemCaseSensitive(prov, "tree");
    const char *rc = runs_str(prov, "rlvr_commit");
    if (!rc) rc = runs_str(cfg, "rlvr_commit");
    printf("  source      %s%s", ri.source_commit[0] ? ri.source_commit : "-", ri.dirty ? "* (uncommitted changes)" : "");
    if (cJSON_IsObject(tree) && runs_str(tree, "branch")) printf(" on branch %s", runs_str(tree, "branch"));
    if (rc) printf(" (rlvr built from %s)", rc);
    putchar('\n');
    if (ri.process) {
        const char *host = runs_str(ri.process, "host");
        double pid = runs_num(ri.process, "pid");
        printf("  started     %s", ri.started[0] ? ri.started : "-");
        if (host) printf(" on %s", host);
        if (isfinite(pid)) printf(" (pid %.0f)", pid);
        putchar('\n');
    }

    printf("\nconfig\n");
    if (!cfg) {
        printf("  (no config.json in the record)\n");
    } else {
        char *seed = value_text(cJSON_GetObjectItemCaseSensitive(cfg, "seed"));
        printf("  seed: %s\n", seed);
        free(seed);
        const cJSON *cli = cJSON_GetObjectItemCaseSensitive(cfg, "cli_config");
        if (cli && !cJSON_IsNull(cli)) {
            char *s = value_text(cli);
            printf("  --config: %s\n", s);
            free(s);
        }
        const cJSON *settings = cJSON_GetObjectItemCaseSensitive(cfg, "settings");
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(settings, "run");
        if (cJSON_IsObject(run)) {
            printf("  run:");
            const cJSON *e;
            cJSON_ArrayForEach(e, run) print_kv(e->string, e);
            putchar('\n');
        }
        const cJSON *stages = cJSON_GetObjectItemCaseSensitive(settings, "stages");
        const cJSON *st;
        int i = 0;
        cJSON_ArrayForEach(st, stages) show_stage(i++, st);
    }

    printf("\nsummary\n");
    if (!ri.summary) {
        printf("  (no summary.json in the record)\n");
    } else {
        Table t;
        table_init(&t, 2, NULL);
        int row = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, ri.summary) {
            if (!strcmp(e->string, "run_id") || !strcmp(e->string, "curriculum")) continue;
            char *s = value_text(e);
            if (!strcmp(e->string, "status") && ri.status[0] && strcmp(ri.status, s)) {
                table_cell(&t, row, 0, "%s", e->string);
                table_cell(&t, row++, 1, "%s (the record says %s; its process is gone)", ri.status, s);
            } else {
                table_cell(&t, row, 0, "%s", e->string);
                table_cell(&t, row++, 1, "%s", s);
            }
            free(s);
        }
        if (row) table_print(&t, "  ");
    }

    show_chart(&ri, ri.reward, "reward by step (smoothed, weight 0.8)", "reward (mean per step)", 0.8, 0, a.ascii);
    show_chart(&ri, ri.pass1, "held-out pass@1 by step", "pass@1 (fraction)", 0, 1, a.ascii);

    RecordCommit *log = NULL;
    int nlog = 0;
    printf("\nhistory (%s, newest first)\n", records_path(r));
    if (records_log(r, ri.id, &log, &nlog, err, sizeof err)) {
        printf("  (%s)\n", err);
    } else {
        int shown = nlog < 20 ? nlog : 20;
        for (int i = 0; i < shown; i++) {
            time_t tt = (time_t)log[i].time;
            struct tm tm;
            char when[32];
            gmtime_r(&tt, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
            printf("  %.7s  %s  %s\n", log[i].id, when, log[i].summary);
        }
        if (nlog > shown)
            printf("  ... %d older (git --git-dir=%s log runs/%s)\n", nlog - shown, records_path(r), ri.id);
    }
    free(log);
    runs_info_free(&ri);
    records_close(r);
    return 0;
}

/* ---------------------------------------------------------------- compare */

typedef struct { char *key, *val; } KV;
typedef struct { KV *kv; int n, cap; } KVList;

static void kv_add(KVList *l, const char *key, char *val) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        KV *p = realloc(l->kv, sizeof *p * (size_t)cap);
        if (!p) { fprintf(stderr, "rlvr runs: out of memory\n"); exit(1); }
        l->kv = p;
        l->cap = cap;
    }
    l->kv[l->n].key = xstrdup(key);
    l->kv[l->n].val = val;
    l->n++;
}

static void flatten(KVList *l, const char *path, const cJSON *v) {
    char sub[1024];
    if (cJSON_IsObject(v) && v->child) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            snprintf(sub, sizeof sub, "%s.%s", path, e->string);
            flatten(l, sub, e);
        }
    } else if (cJSON_IsArray(v) && v->child) {
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i++);
            flatten(l, sub, e);
        }
    } else {
        kv_add(l, path, value_text(v));
    }
}

static const char *kv_get(const KVList *l, const char *key) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->kv[i].key, key)) return l->kv[i].val;
    return NULL;
}

static void kv_free(KVList *l) {
    for (int i = 0; i < l->n; i++) { free(l->kv[i].key); free(l->kv[i].val); }
    free(l->kv);
}

/* The index of step s in a run's metrics, -1 when absent. */
static int step_index(const RunInfo *ri, double s) {
    int lo = 0, hi = ri->n - 1;
    while (lo <= hi) {   /* steps ascend; fall back to a scan if they do not */
        int mid = (lo + hi) / 2;
        if (ri->step[mid] == s) return mid;
        if (ri->step[mid] < s) lo = mid + 1; else hi = mid - 1;
    }
    for (int i = 0; i < ri->n; i++)
        if (ri->step[i] == s) return i;
    return -1;
}

static int runs_compare(int argc, char **argv) {
    Args a;
    int p = parse_args("compare", argc, argv, 0, COMPARE_USAGE, &a);
    if (p) { free(a.pos); return p == 1 ? 0 : 2; }
    if (a.npos < 2) { free(a.pos); return usage_error("compare", "%s", "needs two runs or more"); }
    Records *r = open_or_say(&a);
    if (!r) { free(a.pos); return 1; }
    int n = a.npos;
    RunInfo *runs = calloc((size_t)n, sizeof *runs);
    KVList *flat = calloc((size_t)n, sizeof *flat);
    char err[1024];
    int rc = 0, loaded = 0;
    if (!runs || !flat) { fprintf(stderr, "rlvr runs: out of memory\n"); rc = 1; goto done; }
    for (; loaded < n; loaded++)
        if (runs_load(r, a.pos[loaded], &runs[loaded], err, sizeof err)) {
            fprintf(stderr, "rlvr runs: %s\n", err);
            rc = 1;
            goto done;
        }

    /* Settings that differ. */
    static const char *const top[] = { "curriculum", "seed", "cli_config", "settings" };
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(runs[i].config, top[k]);
            if (v && !cJSON_IsNull(v)) flatten(&flat[i], top[k], v);   /* null = absent */
        }
    {
        Table t;
        table_init(&t, n + 1, NULL);
        table_cell(&t, 0, 0, "SETTING");
        for (int i = 0; i < n; i++) table_cell(&t, 0, i + 1, "%s", runs[i].id);
        int row = 1;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < flat[i].n; k++) {
                const char *key = flat[i].kv[k].key;
                int seen = 0;
                for (int j = 0; j < i && !seen; j++) seen = kv_get(&flat[j], key) != NULL;
                if (seen) continue;
                int differ = 0;
                const char *v0 = kv_get(&flat[0], key);
                for (int j = 1; j < n && !differ; j++) {
                    const char *vj = kv_get(&flat[j], key);
                    differ = !v0 || !vj || strcmp(v0, vj) != 0;
                }
                if (!differ) continue;
                table_cell(&t, row, 0, "%s", key);
                for (int j = 0; j < n; j++) {
                    const char *vj = kv_get(&flat[j], key);
                    table_cell(&t, row, j + 1, "%s", vj ? vj : "-");
                }
                row++;
            }
        printf("settings that differ\n");
        if (row == 1) { printf("  (none)\n"); table_free(&t); }
        else table_print(&t, "  ");
    }

    /* Headline numbers of each run. */
    {
        static const int right[6] = { 0, 0, 1, 1, 1, 1 };
        Table t;
        table_init(&t, 6, right);
        const char *head[6] = { "RUN", "STATUS", "STEPS", "LAST REWARD", "BEST PASS@1", "LAST PASS@1" };
        for (int c = 0; c < 6; c++) table_cell(&t, 0, c, "%s", head[c]);
        for (int i = 0; i < n; i++) {
            char b[64];
            long steps = run_steps(&runs[i]);
            table_cell(&t, i + 1, 0, "%s", runs[i].id);
            table_cell(&t, i + 1, 1, "%s", runs[i].status[0] ? runs[i].status : "-");
            if (steps >= 0) table_cell(&t, i + 1, 2, "%ld", steps); else table_cell(&t, i + 1, 2, "-");
            table_cell(&t, i + 1, 3, "%s", fmt_num(b, sizeof b, runs_num(runs[i].summary, "last_reward"), "%.3f"));
            table_cell(&t, i + 1, 4, "%s", fmt_num(b, sizeof b, runs_num(runs[i].summary, "best_eval_pass_at_1"), "%.3f"));
            table_cell(&t, i + 1, 5, "%s", fmt_num(b, sizeof b, runs_num(runs[i].summary, "last_eval_pass_at_1"), "%.3f"));
        }
        printf("\nsummary\n");
        table_print(&t, "  ");
    }

    /* Metrics at the steps every run evaluated, else at the last step all reached. */
    {
        int ncol = 1 + 2 * n;
        int *right = calloc((size_t)ncol, sizeof *right);
        if (!right) { fprintf(stderr, "rlvr runs: out of memory\n"); rc = 1; goto done; }
        for (int c = 0; c < ncol; c++) right[c] = 1;
        Table t;
        table_init(&t, ncol, right);
        table_cell(&t, 0, 0, "STEP");
        for (int i = 0; i < n; i++) {
            table_cell(&t, 0, 1 + 2 * i, "%s pass@1", runs[i].id);
            table_cell(&t, 0, 2 + 2 * i, "%s reward", runs[i].id);
        }
        int row = 1;
        const RunInfo *r0 = &runs[0];
        for (int k = 0; k < r0->n; k++) {
            if (!isfinite(r0->pass1[k])) continue;
            double s = r0->step[k];
            int all = 1;
            for (int i = 1; i < n && all; i++) {
                int j = step_index(&runs[i], s);
                all = j >= 0 && isfinite(runs[i].pass1[j]);
            }
            if (!all) continue;
            table_cell(&t, row, 0, "%.0f", s);
            for (int i = 0; i < n; i++) {
                char b[64];
                int j = step_index(&runs[i], s);
                table_cell(&t, row, 1 + 2 * i, "%s", fmt_num(b, sizeof b, runs[i].pass1[j], "%.3f"));
                table_cell(&t, row, 2 + 2 * i, "%s", fmt_num(b, sizeof b, runs[i].reward[j], "%.3f"));
            }
            row++;
        }
        if (row > 1) {
            printf("\nheld-out pass@1 and reward at the steps every run evaluated\n");
        } else {
            double last = NAN;
            for (int k = r0->n - 1; k >= 0 && !isfinite(last); k--) {
                int all = 1;
                for (int i = 1; i < n && all; i++) all = step_index(&runs[i], r0->step[k]) >= 0;
                if (all) last = r0->step[k];
            }
            if (isfinite(last)) {
                table_cell(&t, row, 0, "%.0f", last);
                for (int i = 0; i < n; i++) {
                    char b[64];
                    int j = step_index(&runs[i], last);
                    table_cell(&t, row, 1 + 2 * i, "%s", fmt_num(b, sizeof b, runs[i].pass1[j], "%.3f"));
                    table_cell(&t, row, 2 + 2 * i, "%s", fmt_num(b, sizeof b, runs[i].reward[j], "%.3f"));
                }
                row++;
                printf("\nno step where every run was evaluated; the last step all runs reached\n");
            }
        }
        if (row > 1) table_print(&t, "  ");
        else {
            printf("\nno step that every run reached\n");
            table_free(&t);
        }
        free(right);
    }
done:
    if (flat) for (int i = 0; i < n; i++) kv_free(&flat[i]);
    free(flat);
    if (runs) for (int i = 0; i < loaded; i++) runs_info_free(&runs[i]);
    free(runs);
    free(a.pos);
    records_close(r);
    return rc;
}

/* ---------------------------------------------------------------- plot */

static int runs_plot(int argc, char **argv) {
    Args a;
    int p = parse_args("plot", argc, argv, OPT_OUT | OPT_SMOOTH, PLOT_USAGE, &a);
    if (p) { free(a.pos); return p == 1 ? 0 : 2; }
    if (a.npos < 1) { free(a.pos); return usage_error("plot", "%s", "which runs? (rlvr runs list shows them)"); }
    if (!a.out) { free(a.pos); return usage_error("plot", "%s", "-o FILE.svg is required"); }
    Records *r = open_or_say(&a);
    if (!r) { free(a.pos); return 1; }
    int n = a.npos, loaded = 0, rc = 0;
    RunInfo *runs = calloc((size_t)n, sizeof *runs);
    char *svg[REPORT_NCHARTS] = { 0 };
    char err[1024];
    if (!runs) { fprintf(stderr, "rlvr runs: out of memory\n"); rc = 1; goto done; }
    for (; loaded < n; loaded++)
        if (runs_load(r, a.pos[loaded], &runs[loaded], err, sizeof err)) {
            fprintf(stderr, "rlvr runs: %s\n", err);
            rc = 1;
            goto done;
        }
    double smooth = a.smooth_given ? a.smooth : 0.8;
    size_t total = 512;
    for (int c = 0; c < REPORT_NCHARTS; c++) {
        if (!(svg[c] = runs_chart_svg(runs, n, c, smooth))) { fprintf(stderr, "rlvr runs: out of memory\n"); rc = 1; goto done; }
        total += strlen(svg[c]) + 64;
    }
    /* Two by two: each chart a nested <svg> placed with x= and y=. */
    char *doc = malloc(total), *q = doc;
    if (!doc) { fprintf(stderr, "rlvr runs: out of memory\n"); rc = 1; goto done; }
    q += sprintf(q, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1280\" height=\"720\" "
                    "viewBox=\"0 0 1280 720\">\n<title>rlvr runs</title>\n"
                    "<rect x=\"0\" y=\"0\" width=\"1280\" height=\"720\" fill=\"#ffffff\"/>\n");
    for (int c = 0; c < REPORT_NCHARTS; c++) {
        const char *body = svg[c];
        if (strncmp(body, "<svg", 4) != 0) { free(doc); fprintf(stderr, "rlvr runs: unexpected chart output\n"); rc = 1; goto done; }
        q += sprintf(q, "<svg x=\"%d\" y=\"%d\"", (c % 2) * 640, (c / 2) * 360);
        size_t len = strlen(body + 4);
        memcpy(q, body + 4, len);
        q += len;
        if (q[-1] != '\n') *q++ = '\n';
    }
    q += sprintf(q, "</svg>\n");
    AtomicFile af;
    int wrc = atomic_open(&af, a.out, err, sizeof err);
    if (!wrc) {
        atomic_write(&af, doc, (size_t)(q - doc));
        wrc = atomic_commit(&af, err, sizeof err);
    }
    if (wrc) {
        fprintf(stderr, "rlvr runs: %s\n", err);
        rc = 1;
    } else {
        printf("%s\n", a.out);
    }
    free(doc);
done:
    for (int c = 0; c < REPORT_NCHARTS; c++) free(svg[c]);
    if (runs) for (int i = 0; i < loaded; i++) runs_info_free(&runs[i]);
    free(runs);
    free(a.pos);
    records_close(r);
    return rc;
}

/* ---------------------------------------------------------------- report */

static int runs_report(int argc, char **argv) {
    Args a;
    int p = parse_args("report", argc, argv, OPT_OUT, REPORT_USAGE, &a);
    if (p) { free(a.pos); return p == 1 ? 0 : 2; }
    if (a.npos) { const char *x = a.pos[0]; free(a.pos); return usage_error("report", "unexpected argument '%s'", x); }
    free(a.pos);
    if (!a.out) return usage_error("report", "%s", "-o DIR is required");
    Records *r = open_or_say(&a);
    if (!r) return 1;
    RunInfo *runs = NULL;
    int n = 0, rc = 0;
    char err[1024];
    if (runs_load_all(r, &runs, &n, err, sizeof err) || runs_write_report(a.out, runs, n, err, sizeof err)) {
        fprintf(stderr, "rlvr runs: %s\n", err);
        rc = 1;
    } else {
        printf("%s/index.html\n", a.out);
    }
    runs_free_all(runs, n);
    records_close(r);
    return rc;
}

int cmd_runs(int argc, char **argv) {
    if (argc < 1) {
        fprintf(stderr, "rlvr runs: which command? (list, show, compare, plot, report; rlvr runs --help)\n");
        return 2;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) { fputs(RUNS_USAGE, stdout); return 0; }
    if (!strcmp(sub, "list")) return runs_list(argc - 1, argv + 1);
    if (!strcmp(sub, "show")) return runs_show(argc - 1, argv + 1);
    if (!strcmp(sub, "compare")) return runs_compare(argc - 1, argv + 1);
    if (!strcmp(sub, "plot")) return runs_plot(argc - 1, argv + 1);
    if (!strcmp(sub, "report")) return runs_report(argc - 1, argv + 1);
    fprintf(stderr, "rlvr runs: unknown command '%s' (list, show, compare, plot, report; rlvr runs --help)\n", sub);
    return 2;
}
