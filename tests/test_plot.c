/* test_plot: the SVG and text charts and the HTML report of runs.
 * `test_plot --write-report DIR` writes the synthetic two-run report to DIR/index.html
 * and exits (tests/report_browser.sh loads it in a headless browser). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/plot.h"
#include "engine/report.h"
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static int count_substr(const char *s, const char *sub) {
    int n = 0;
    size_t l = strlen(sub);
    for (const char *p = strstr(s, sub); p; p = strstr(p + l, sub)) n++;
    return n;
}

/* A small XML checker: every tag closes in order, attribute values are quoted, text has
 * no bare '<' and every '&' starts an entity. Returns NULL when fine, else a reason. */
static const char *xml_check(const char *s) {
    static __thread char why[160];
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = s;
    while (*p) {
        if (*p == '&') {
            const char *q = p + 1;
            if (*q == '#') { q++; while (*q >= '0' && *q <= '9') q++; }
            else while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')) q++;
            if (q == p + 1 || *q != ';') { snprintf(why, sizeof why, "bare '&' at %td", p - s); return why; }
            p = q + 1;
            continue;
        }
        if (*p == '>') { snprintf(why, sizeof why, "bare '>' at %td", p - s); return why; }
        if (*p != '<') { p++; continue; }
        if (p[1] == '?' || p[1] == '!') { p = strchr(p, '>'); if (!p) return "unterminated <? or <!"; p++; continue; }
        int closing = p[1] == '/';
        const char *q = p + 1 + closing;
        char name[32];
        int nl = 0;
        while (*q && (isalnum((unsigned char)*q) || *q == ':' || *q == '-' || *q == '_') && nl < 31) name[nl++] = *q++;
        name[nl] = 0;
        if (nl == 0) { snprintf(why, sizeof why, "bad tag name at %td", p - s); return why; }
        /* attributes: name="value" pairs */
        int self = 0;
        for (;;) {
            while (*q == ' ' || *q == '\n' || *q == '\t') q++;
            if (*q == '>') { q++; break; }
            if (q[0] == '/' && q[1] == '>') { self = 1; q += 2; break; }
            if (closing || !*q) { snprintf(why, sizeof why, "bad end of tag <%s> at %td", name, q - s); return why; }
            while (*q && *q != '=' && *q != '>' && *q != ' ') q++;
            if (*q != '=' || q[1] != '"') { snprintf(why, sizeof why, "unquoted attribute in <%s> at %td", name, q - s); return why; }
            q += 2;
            while (*q && *q != '"') { if (*q == '<') return "'<' in an attribute"; q++; }
            if (!*q) return "unterminated attribute";
            q++;
        }
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name)) {
                snprintf(why, sizeof why, "</%s> closes <%s>", name, depth ? stack[depth - 1] : "(nothing)");
                return why;
            }
            depth--;
        } else if (!self) {
            if (depth == 0) roots++;
            if (depth == 64) return "too deep";
            snprintf(stack[depth++], 32, "%s", name);
        } else if (depth == 0) {
            roots++;
        }
        p = q;
    }
    if (depth) { snprintf(why, sizeof why, "<%s> never closed", stack[depth - 1]); return why; }
    if (roots != 1) return "not exactly one root element";
    return NULL;
}

static void assert_wellformed(const char *svg) {
    assert_non_null(svg);
    const char *why = xml_check(svg);
    if (why) fail_msg("SVG not well-formed: %s", why);
    assert_true(strncmp(svg, "<svg", 4) == 0);
}

/* The "d" attributes of <path class="CLS" ...>, in order; returns how many (<= max). */
static int path_ds(const char *svg, const char *cls, char **out, int max) {
    char key[64];
    snprintf(key, sizeof key, "<path class=\"%s\"", cls);
    int n = 0;
    for (const char *p = strstr(svg, key); p; p = strstr(p + 1, key)) {
        const char *d = strstr(p, " d=\""), *end = strstr(p, "/>");
        assert_non_null(d);
        assert_true(d < end);
        d += 4;
        const char *e = strchr(d, '"');
        if (n < max) out[n] = strndup(d, (size_t)(e - d));
        n++;
    }
    return n;
}

/* Points (M/L commands) in a path's d, and how many start a subpath. */
static int path_points(const char *d, int *moves) {
    int n = 0, m = 0;
    for (const char *p = d; *p; p++) {
        if (*p == 'M') { n++; m++; }
        else if (*p == 'L') n++;
    }
    if (moves) *moves = m;
    return n;
}

/* The numbers of the tick labels of one axis ("ytick" or "xtick"). */
static int ticks_of(const char *svg, const char *cls, double *t, int max) {
    char key[64];
    snprintf(key, sizeof key, "class=\"%s\"", cls);
    int n = 0;
    for (const char *p = strstr(svg, key); p && n < max; p = strstr(p + 1, key)) {
        const char *v = strchr(p, '>');
        assert_non_null(v);
        char *end;
        t[n++] = strtod(v + 1, &end);
        if (strncmp(end, "</text>", 7)) fail_msg("tick label not a number: %.20s", v + 1);
    }
    return n;
}

/* Ticks are evenly spaced by 1, 2 or 5 x 10^k, sit on multiples of it, and cover [lo, hi]. */
static void assert_nice_ticks(const double *t, int n, double lo, double hi) {
    assert_true(n >= 2);
    double step = t[1] - t[0];
    assert_true(step > 0);
    double mag = pow(10, floor(log10(step) + 1e-9));
    double m = step / mag;
    if (!(fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6))
        fail_msg("tick step %.17g is not 1/2/5 x 10^k", step);
    for (int i = 1; i < n; i++)
        if (fabs((t[i] - t[i - 1]) - step) > step * 1e-6) fail_msg("uneven ticks: %g %g %g", t[0], t[1], t[i]);
    for (int i = 0; i < n; i++) {
        double q = t[i] / step;
        if (fabs(q - round(q)) > 1e-6 * fmax(1, fabs(q))) fail_msg("tick %.17g is not a multiple of %g", t[i], step);
    }
    if (!(t[0] <= lo + fabs(lo) * 1e-12 && t[n - 1] >= hi - fabs(hi) * 1e-12))
        fail_msg("ticks [%g, %g] do not cover the data [%g, %g]", t[0], t[n - 1], lo, hi);
    if (n > 12) fail_msg("%d ticks: too many", n);
}

/* Lines of s (copied into lines[], at most max). */
static int split_lines(const char *s, char lines[][4096], int max) {
    int n = 0;
    while (*s && n < max) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l > 4095) l = 4095;
        memcpy(lines[n], s, l);
        lines[n][l] = 0;
        n++;
        s += l + (e ? 1 : 0);
    }
    return n;
}

static int utf8_count(const char *s) {
    int n = 0;
    for (; *s; s++) if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* ---------------------------------------------------------------- SVG */

/* The checker itself catches what it is meant to. */
static void test_xml_checker(void **state) {
    (void)state;
    assert_null(xml_check("<svg a=\"1\"><g><text>a &amp; b &#39;</text></g><rect/></svg>"));
    assert_non_null(xml_check("<svg><g></svg>"));
    assert_non_null(xml_check("<svg><g></g>"));
    assert_non_null(xml_check("<svg><text>a & b</text></svg>"));
    assert_non_null(xml_check("<svg><text>a < b</text></svg>"));
    assert_non_null(xml_check("<svg><text>a > b</text></svg>"));
    assert_non_null(xml_check("<svg a=1></svg>"));
    assert_non_null(xml_check("<svg></svg><svg></svg>"));
    assert_int_equal(path_points("M1 2 L3 4 L5 6 M7 8", NULL), 4);
    double t[3] = { 0, 0.5, 1 };
    assert_nice_ticks(t, 3, 0, 0.9);
}

static void test_svg_structure(void **state) {
    (void)state;
    double x[50], a[50], b[50], c[50];
    for (int i = 0; i < 50; i++) { x[i] = 10 * i; a[i] = sin(i * 0.2); b[i] = 0.5 + 0.01 * i; c[i] = -0.3; }
    PlotSeries s[3] = { { "alpha <run>", x, a, 50 }, { "beta & co", x, b, 50 }, { "gamma", x, c, 30 } };
    PlotOptions o = { .title = "Reward \"<&>\"", .xlabel = "step", .ylabel = "reward (0-1)", .width = 700, .height = 400 };
    char *svg = plot_svg(s, 3, &o);
    assert_wellformed(svg);
    assert_non_null(strstr(svg, "width=\"700\" height=\"400\""));
    /* Text, escaped: the title, axis labels, legend labels. */
    assert_non_null(strstr(svg, "Reward &quot;&lt;&amp;&gt;&quot;"));
    assert_non_null(strstr(svg, ">step</text>"));
    assert_non_null(strstr(svg, ">reward (0-1)</text>"));
    assert_non_null(strstr(svg, "class=\"legend-label\""));
    assert_non_null(strstr(svg, ">alpha &lt;run&gt;</text>"));
    assert_non_null(strstr(svg, ">beta &amp; co</text>"));
    assert_non_null(strstr(svg, ">gamma</text>"));
    assert_null(strstr(svg, "<run>"));
    assert_null(strstr(svg, "beta & co"));
    /* One path per series, with a point per value, in three colours. */
    char *d[8];
    int np = path_ds(svg, "series", d, 8);
    assert_int_equal(np, 3);
    assert_int_equal(count_substr(svg, "<path"), 3);
    assert_int_equal(count_substr(svg, "<polyline"), 0);
    int moves;
    assert_int_equal(path_points(d[0], &moves), 50); assert_int_equal(moves, 1);
    assert_int_equal(path_points(d[1], &moves), 50); assert_int_equal(moves, 1);
    assert_int_equal(path_points(d[2], &moves), 30); assert_int_equal(moves, 1);
    for (int i = 0; i < np; i++) free(d[i]);
    assert_non_null(strstr(svg, plot_series_color(0)));
    assert_non_null(strstr(svg, plot_series_color(1)));
    assert_non_null(strstr(svg, plot_series_color(2)));
    assert_string_not_equal(plot_series_color(0), plot_series_color(1));
    /* Gridlines, and ticks covering both axes. */
    assert_non_null(strstr(svg, "class=\"grid\""));
    double t[40];
    int nt = ticks_of(svg, "ytick", t, 40);
    assert_nice_ticks(t, nt, -1, 0.99);
    nt = ticks_of(svg, "xtick", t, 40);
    assert_nice_ticks(t, nt, 0, 490);
    free(svg);
}

static void test_svg_smoothing_and_gaps(void **state) {
    (void)state;
    double x[40], y[40];
    for (int i = 0; i < 40; i++) { x[i] = i; y[i] = (i % 2) ? 1.0 : 0.0; }
    y[10] = y[11] = NAN;   /* a gap of two: 10 + 28 points in two runs */
    y[25] = NAN;           /* another: three subpaths */
    y[39] = NAN;
    PlotSeries s = { "r", x, y, 40 };
    PlotOptions o = { .title = "t", .smooth = 0.9 };
    char *svg = plot_svg(&s, 1, &o);
    assert_wellformed(svg);
    char *raw[2], *sm[2];
    assert_int_equal(path_ds(svg, "raw", raw, 2), 1);
    assert_int_equal(path_ds(svg, "series", sm, 2), 1);
    int moves;
    assert_int_equal(path_points(raw[0], &moves), 36); assert_int_equal(moves, 3);
    assert_int_equal(path_points(sm[0], &moves), 36); assert_int_equal(moves, 3);
    assert_non_null(strstr(svg, "stroke-opacity"));   /* the raw curve is faint */
    assert_string_not_equal(raw[0], sm[0]);           /* and the smoothed one differs */
    free(raw[0]); free(sm[0]);
    free(svg);

    /* Without smoothing there is no raw path. */
    o.smooth = 0;
    svg = plot_svg(&s, 1, &o);
    assert_wellformed(svg);
    assert_int_equal(count_substr(svg, "class=\"raw\""), 0);
    assert_int_equal(count_substr(svg, "class=\"series\""), 1);
    free(svg);
}

static void check_range(double lo, double hi, int from_zero) {
    double x[2] = { 0, 1 }, y[2] = { lo, hi };
    PlotSeries s = { "s", x, y, 2 };
    PlotOptions o = { .y_from_zero = from_zero };
    char *svg = plot_svg(&s, 1, &o);
    assert_wellformed(svg);
    double t[40];
    int nt = ticks_of(svg, "ytick", t, 40);
    assert_nice_ticks(t, nt, from_zero ? fmin(lo, 0) : lo, from_zero ? fmax(hi, 0) : hi);
    free(svg);
}

static void test_ticks_nice(void **state) {
    (void)state;
    check_range(0.13, 0.87, 0);
    check_range(0.13, 0.87, 1);
    check_range(-3.2, 1000, 0);
    check_range(1e9, 1e9 + 7, 0);
    check_range(1e-7, 3e-7, 0);
    check_range(-1e-3, -1e-4, 0);
    check_range(123456789, 987654321, 0);
    check_range(2.5e12, 7.5e13, 0);
    check_range(0, 1, 0);
    check_range(37, 1234, 1);
    /* Labels stay short: no "0.30000000000000004", no 20-digit integers. */
    double x[2] = { 0, 1 }, y[2] = { 0.1, 0.7 };
    PlotSeries s = { "s", x, y, 2 };
    char *svg = plot_svg(&s, 1, NULL);
    assert_non_null(strstr(svg, ">0.3</text>"));
    assert_null(strstr(svg, "0000000"));
    free(svg);
    double big[2] = { 1e15, 9e15 };
    s.y = big;
    svg = plot_svg(&s, 1, NULL);
    assert_non_null(strstr(svg, "e15</text>"));
    assert_null(strstr(svg, "000000000"));
    free(svg);
}

static void test_svg_edge_cases(void **state) {
    (void)state;
    char *svg;
    PlotOptions o = { .title = "edge", .xlabel = "step", .ylabel = "y", .smooth = 0.5 };
    /* No series at all, and series with nothing in them. */
    svg = plot_svg(NULL, 0, &o);
    assert_wellformed(svg);
    assert_non_null(strstr(svg, "no data"));
    free(svg);
    double nanv[3] = { NAN, NAN, NAN }, one = 0.42, x1 = 5, huge[3] = { -1e300, 0, 1e300 };
    double tiny[3] = { 1e-300, 2e-300, 3e-300 }, inf[3] = { INFINITY, 1, -INFINITY }, cst[4] = { 3, 3, 3, 3 };
    PlotSeries s[] = { { "empty", NULL, NULL, 0 }, { NULL, NULL, nanv, 3 } };
    svg = plot_svg(s, 2, &o);
    assert_wellformed(svg);
    assert_non_null(strstr(svg, "no data"));
    assert_int_equal(count_substr(svg, "class=\"series\""), 2);
    free(svg);
    /* A single point: drawn as a dot; constant y; NULL options. */
    PlotSeries p1 = { "one", &x1, &one, 1 };
    svg = plot_svg(&p1, 1, &o);
    assert_wellformed(svg);
    assert_int_equal(count_substr(svg, "<circle"), 2);   /* raw and smoothed */
    double t[40];
    int nt = ticks_of(svg, "ytick", t, 40);
    assert_nice_ticks(t, nt, 0.42, 0.42);
    free(svg);
    PlotSeries pc = { "const", NULL, cst, 4 };
    svg = plot_svg(&pc, 1, NULL);
    assert_wellformed(svg);
    nt = ticks_of(svg, "ytick", t, 40);
    assert_nice_ticks(t, nt, 3, 3);
    assert_true(t[0] < 3 && t[nt - 1] > 3);
    free(svg);
    /* Huge, tiny and infinite values. */
    PlotSeries ph = { "huge", NULL, huge, 3 }, pt = { "tiny", NULL, tiny, 3 }, pi = { "inf", NULL, inf, 3 };
    svg = plot_svg(&ph, 1, &o);
    assert_wellformed(svg);
    assert_null(strstr(svg, "nan")); assert_null(strstr(svg, "inf"));
    free(svg);
    svg = plot_svg(&pt, 1, &o);
    assert_wellformed(svg);
    assert_null(strstr(svg, "nan"));
    nt = ticks_of(svg, "ytick", t, 40);
    assert_nice_ticks(t, nt, 1e-300, 3e-300);
    free(svg);
    svg = plot_svg(&pi, 1, &o);
    assert_wellformed(svg);
    assert_null(strstr(svg, "nan")); assert_null(strstr(svg, "inf\""));
    free(svg);
    /* Hostile labels: control characters and invalid UTF-8 still make valid XML. */
    PlotSeries bad = { "a\x01\x1f\xff\xfe<b>\xc3\xa9", NULL, cst, 4 };
    PlotOptions ob = { .title = "\x02\xc0\xaf" };
    svg = plot_svg(&bad, 1, &ob);
    assert_wellformed(svg);
    assert_null(strstr(svg, "\x01")); assert_null(strstr(svg, "\xff"));
    assert_non_null(strstr(svg, "\xc3\xa9"));
    free(svg);
    /* Tiny and absurd sizes. */
    PlotOptions os = { .width = 1, .height = 1 };
    svg = plot_svg(&pc, 1, &os);
    assert_wellformed(svg);
    free(svg);
}

static void test_svg_many_series(void **state) {
    (void)state;
    enum { N = 30, P = 20 };
    double x[P], y[N][P];
    PlotSeries s[N];
    char labels[N][16];
    for (int i = 0; i < P; i++) x[i] = i;
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < P; i++) y[k][i] = k + 0.1 * i;
        snprintf(labels[k], sizeof labels[k], "run-%02d", k);
        s[k] = (PlotSeries){ labels[k], x, y[k], P };
    }
    PlotOptions o = { .title = "many", .height = 900 };
    char *svg = plot_svg(s, N, &o);
    assert_wellformed(svg);
    assert_int_equal(count_substr(svg, "class=\"series\""), N);
    /* The palette cycles with a dash pattern: the first 28 series have distinct styles. */
    char *style[N];
    const char *p = svg;
    for (int k = 0; k < N; k++) {
        p = strstr(p, "<path class=\"series\"");
        assert_non_null(p);
        const char *e = strstr(p, " d=\"");
        style[k] = strndup(p, (size_t)(e - p));
        p = e;
    }
    for (int a = 0; a < 28; a++)
        for (int b = a + 1; b < 28; b++)
            if (!strcmp(style[a], style[b])) fail_msg("series %d and %d look the same", a, b);
    for (int k = 0; k < N; k++) free(style[k]);
    assert_string_equal(plot_series_color(0), plot_series_color(7));
    free(svg);
    /* A short chart cannot list 30 labels: the rest are counted. */
    o.height = 200;
    svg = plot_svg(s, N, &o);
    assert_wellformed(svg);
    assert_non_null(strstr(svg, " more</text>"));
    free(svg);
}

/* ---------------------------------------------------------------- text */

static char lines[256][4096];

/* A text chart: `height` rows of `width` cells right of the y axis, the x axis under them
 * (its corner in the axis column) with `width` dashes, and `nseries` legend lines last. */
static void check_text(const char *txt, int width, int height, int ascii, int nseries) {
    int nl = split_lines(txt, lines, 256);
    const char *corner = ascii ? "+-" : "\xE2\x94\x94";   /* └ */
    int ax = -1;
    for (int i = 0; i < nl && ax < 0; i++) {
        const char *c = strstr(lines[i], corner);
        if (c && strspn(lines[i], " ") == (size_t)(c - lines[i])) ax = i;
    }
    if (ax < 0) fail_msg("no x axis in:\n%s", txt);
    size_t col = strspn(lines[ax], " ");
    assert_int_equal(count_substr(lines[ax], ascii ? "-" : "\xE2\x94\x80"), width);
    if (ax < height) fail_msg("only %d lines above the x axis, want %d rows", ax, height);
    for (int r = ax - height; r <= ax; r++) {
        const char *row = lines[r];
        int is_row = strlen(row) > col &&
                     (ascii ? (row[col] == '|' || row[col] == '+')
                            : (!strncmp(row + col, "\xE2\x94\xA4", 3) || !strncmp(row + col, "\xE2\x94\x82", 3)));
        if (r == ax) break;
        if (!is_row) fail_msg("line %d is not a plot row: [%s]", r, row);
        const char *cells = row + col + (ascii ? 1 : 3);
        if (utf8_count(cells) != width) fail_msg("row has %d cells, want %d: [%s]", utf8_count(cells), width, row);
        for (const unsigned char *c = (const unsigned char *)cells; *c;) {
            if (!ascii && *c == 0xE2 && c[1] >= 0xA0 && c[1] <= 0xA3) { c += 3; continue; }   /* U+2800..U+28FF */
            assert_true(*c >= 0x20 && *c < 0x7F);
            c++;
        }
    }
    if (ax - height - 1 >= 0) {   /* exactly `height` rows: the line above is no row */
        const char *row = lines[ax - height - 1];
        assert_false(strlen(row) > col && (ascii ? (row[col] == '|' || row[col] == '+')
                                                 : !strncmp(row + col, "\xE2\x94", 2)));
    }
    assert_true(nl >= ax + 2 + nseries);
    for (int k = 0; k < nseries; k++) assert_true(strncmp(lines[nl - nseries + k], "  ", 2) == 0);
}

static void test_text_chart(void **state) {
    (void)state;
    double x[100], a[100], b[100];
    for (int i = 0; i < 100; i++) { x[i] = i; a[i] = sin(i * 0.1); b[i] = i < 50 ? NAN : 0.01 * i; }
    PlotSeries s[2] = { { "sine", x, a, 100 }, { "ramp", x, b, 100 } };
    PlotOptions o = { .title = "Chart", .xlabel = "step", .ylabel = "value", .width = 50, .height = 12 };
    char *txt = plot_text(s, 2, &o, 0);
    assert_non_null(txt);
    check_text(txt, 50, 12, 0, 2);
    assert_true(strncmp(txt, "Chart\nvalue\n", 12) == 0);
    assert_non_null(strstr(txt, "  * sine\n"));
    assert_non_null(strstr(txt, "  + ramp\n"));
    assert_non_null(strstr(txt, "step"));
    assert_non_null(strstr(txt, "\xE2\xA0"));   /* some braille */
    /* y axis: max on the first row, min on the last */
    int nl = split_lines(txt, lines, 256);
    assert_true(nl > 14);
    assert_non_null(strstr(lines[2], "1"));
    assert_non_null(strstr(lines[13], "-1"));
    free(txt);

    txt = plot_text(s, 2, &o, 1);
    assert_non_null(txt);
    check_text(txt, 50, 12, 1, 2);
    assert_true(count_substr(txt, "*") > 20);
    assert_true(count_substr(txt, "+") > 20);
    free(txt);

    /* Other sizes, smoothing, defaults. */
    o.width = 7; o.height = 3; o.smooth = 0.8;
    txt = plot_text(s, 2, &o, 0);
    check_text(txt, 7, 3, 0, 2);
    free(txt);
    txt = plot_text(s, 1, NULL, 1);
    check_text(txt, 60, 15, 1, 1);
    free(txt);
}

static void test_text_edge_cases(void **state) {
    (void)state;
    PlotOptions o = { .width = 30, .height = 6 };
    char *txt = plot_text(NULL, 0, &o, 0);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "(no data)"));
    check_text(txt, 30, 6, 0, 0);
    free(txt);
    double one = 7, cst[3] = { 2, 2, 2 }, huge[2] = { -1e308, 1e308 }, nanv[2] = { NAN, NAN };
    PlotSeries cases[][1] = { { { "one", NULL, &one, 1 } }, { { "const", NULL, cst, 3 } },
                              { { "huge", NULL, huge, 2 } }, { { "allgap", NULL, nanv, 2 } },
                              { { "\x01\xff", NULL, NULL, 5 } } };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int ascii = 0; ascii < 2; ascii++) {
            txt = plot_text(cases[c], 1, &o, ascii);
            assert_non_null(txt);
            check_text(txt, 30, 6, ascii, 1);
            assert_null(strstr(txt, "nan"));
            assert_null(strstr(txt, "\x01"));
            free(txt);
        }
    /* A single point sits in the plot; a constant lies between min and max labels. */
    PlotSeries p = { "one", NULL, &one, 1 };
    txt = plot_text(&p, 1, &o, 1);
    assert_int_equal(count_substr(txt, "*"), 2);   /* the point and the legend */
    free(txt);
}

/* Pure functions: the same charts from 8 threads at once as from one. */
static void test_threads(void **state) {
    (void)state;
    double x[300], y[3][300];
    for (int i = 0; i < 300; i++) { x[i] = i; y[0][i] = sin(i * 0.05); y[1][i] = i % 17 ? cos(i * 0.03) : NAN; y[2][i] = 1e-5 * i; }
    PlotSeries s[3] = { { "a", x, y[0], 300 }, { "b", x, y[1], 300 }, { "c", x, y[2], 300 } };
    PlotOptions o = { .title = "threads", .smooth = 0.7, .y_from_zero = 1 };
    char *svg = plot_svg(s, 3, &o), *txt = plot_text(s, 3, &o, 0);
    int bad = 0;
    #pragma omp parallel for num_threads(8) reduction(+:bad)
    for (int k = 0; k < 64; k++) {
        char *a = plot_svg(s, 3, &o), *b = plot_text(s, 3, &o, 0);
        if (!a || !b || strcmp(a, svg) || strcmp(b, txt)) bad++;
        free(a);
        free(b);
    }
    assert_int_equal(bad, 0);
    free(svg);
    free(txt);
}

/* ---------------------------------------------------------------- report */

#define DEMO_STEPS 240

typedef struct {
    double step[DEMO_STEPS], reward[2][DEMO_STEPS], pass1[2][DEMO_STEPS], kl[2][DEMO_STEPS], len[2][DEMO_STEPS];
    ReportRun runs[2];
} Demo;

/* Two synthetic runs: SFT for the first steps (no reward), then RL with a rising, noisy
 * reward; held-out pass@1 every 20 steps; the second run is shorter and still running. */
static void demo_runs(Demo *d) {
    uint32_t seed = 12345;
    for (int i = 0; i < DEMO_STEPS; i++) d->step[i] = i + 1;
    for (int r = 0; r < 2; r++) {
        int sft = r ? 40 : 60;
        for (int i = 0; i < DEMO_STEPS; i++) {
            seed = seed * 1664525u + 1013904223u;
            double noise = ((seed >> 8) / 16777216.0 - 0.5) * 0.25;
            int rl = i >= sft, t = i - sft;
            d->reward[r][i] = rl ? fmin(1, fmax(0, 0.25 + (r ? 0.45 : 0.6) * (1 - exp(-t / 60.0)) + noise)) : NAN;
            d->pass1[r][i] = (i + 1) % 20 == 0 ? 0.2 + (r ? 0.3 : 0.45) * (1 - exp(-(i + 1) / 100.0)) : NAN;
            d->kl[r][i] = rl ? 0.002 * t * (r ? 1.4 : 1.0) / (1 + t / 80.0) : NAN;
            d->len[r][i] = 60 - 25 * (1 - exp(-i / 70.0)) + noise * 20 + r * 8;
        }
    }
    d->runs[0] = (ReportRun){ .id = "gsm_synth-20250101-120000-4242", .curriculum = "gsm_synth", .status = "finished",
                              .stage = "rl-3step", .source_commit = "0861b0f1a2b3", .dirty = 0, .steps = DEMO_STEPS,
                              .last_reward = d->reward[0][DEMO_STEPS - 1], .best_pass1 = 0.612,
                              .sft_pass1 = 0.384, .rl_pass1 = 0.603, .step = d->step, .n = DEMO_STEPS,
                              .reward = d->reward[0], .pass1 = d->pass1[0], .kl = d->kl[0], .length = d->len[0] };
    d->runs[1] = (ReportRun){ .id = "arith-20250102-083000-99", .curriculum = "arith <v2> & co", .status = "running",
                              .stage = "rl", .source_commit = "9a1e669c0ffe", .dirty = 1, .steps = 180,
                              .last_reward = d->reward[1][179], .best_pass1 = 0.455, .sft_pass1 = 0.301,
                              .rl_pass1 = NAN, .step = d->step, .n = 180,
                              .reward = d->reward[1], .pass1 = d->pass1[1], .kl = d->kl[1], .length = d->len[1] };
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    s[n] = 0;
    fclose(f);
    return s;
}

static void test_report(void **state) {
    (void)state;
    char tmpl[] = "/tmp/test_plot_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char dir[512], path[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/a/b", tmpl);   /* created with mkdir -p */
    static Demo d;
    demo_runs(&d);
    assert_int_equal(report_write(dir, d.runs, 2, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = read_all(path);
    assert_non_null(html);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "gsm_synth-20250101-120000-4242"));
    assert_non_null(strstr(html, "arith-20250102-083000-99"));
    assert_non_null(strstr(html, "arith &lt;v2&gt; &amp; co"));
    assert_null(strstr(html, "<v2>"));
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"60\">"));
    assert_non_null(strstr(html, "generated at"));
    assert_non_null(strstr(html, "0861b0f1a2b3"));
    assert_non_null(strstr(html, "dirty"));
    assert_non_null(strstr(html, "61.2%"));
    assert_int_equal(count_substr(html, "<svg"), 4);
    assert_int_equal(count_substr(html, "</svg>"), 4);
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "nan"));
    /* Every chart is well-formed SVG with both runs; pass@1's eval points are joined. */
    const char *p = html;
    for (int c = 0; c < 4; c++) {
        const char *a = strstr(p, "<svg"), *b = strstr(a, "</svg>") + 6;
        char *svg = strndup(a, (size_t)(b - a));
        assert_wellformed(svg);
        char *ds[4];
        int np = path_ds(svg, "series", ds, 4);
        assert_int_equal(np, 2);
        int moves;
        if (c == 1) {
            assert_int_equal(path_points(ds[0], &moves), DEMO_STEPS / 20); assert_int_equal(moves, 1);
            assert_int_equal(path_points(ds[1], &moves), 9); assert_int_equal(moves, 1);
        }
        if (c == 0) assert_int_equal(count_substr(svg, "class=\"raw\""), 2);   /* reward is smoothed */
        for (int i = 0; i < np; i++) free(ds[i]);
        free(svg);
        p = b;
    }
    free(html);
    /* Rewritten in place, no temp files left; no runs is a page too. */
    assert_int_equal(report_write(dir, NULL, 0, err, sizeof err), 0);
    html = read_all(path);
    assert_non_null(strstr(html, "No runs yet"));
    assert_int_equal(count_substr(html, "<svg"), 4);
    free(html);
    DIR *dd = opendir(dir);
    int files = 0;
    for (struct dirent *e; (e = readdir(dd));) if (e->d_name[0] != '.' || strncmp(e->d_name, ".index", 6) == 0) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) files++;
    }
    closedir(dd);
    assert_int_equal(files, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* A directory that cannot be made is an error with a message. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/index.html/x", dir);
    err[0] = 0;
    assert_int_equal(report_write(bad, d.runs, 2, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    unlink(path);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--write-report") == 0) {
        if (argc != 3) { fprintf(stderr, "usage: %s --write-report DIR\n", argv[0]); return 2; }
        static Demo d;
        demo_runs(&d);
        char err[512];
        if (report_write(argv[2], d.runs, 2, err, sizeof err)) { fprintf(stderr, "test_plot: %s\n", err); return 1; }
        printf("%s/index.html\n", argv[2]);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_checker),
        cmocka_unit_test(test_svg_structure),
        cmocka_unit_test(test_svg_smoothing_and_gaps),
        cmocka_unit_test(test_ticks_nice),
        cmocka_unit_test(test_svg_edge_cases),
        cmocka_unit_test(test_svg_many_series),
        cmocka_unit_test(test_text_chart),
        cmocka_unit_test(test_text_edge_cases),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
