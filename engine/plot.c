/* plot: SVG and text line charts. See plot.h. */
#include "engine/plot.h"
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- a growing string */

typedef struct { char *p; size_t len, cap; int oom; } Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void buf_put(Buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3)))
static void buf_printf(Buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) { buf_put(b, tmp, (size_t)n); return; }
    if (buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static char *buf_finish(Buf *b) {
    if (b->oom) { free(b->p); return NULL; }
    if (!b->p && buf_reserve(b, 0)) return NULL;
    if (b->len == 0) b->p[0] = 0;
    return b->p;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static int utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Text for XML: the five special characters escaped, control characters (not allowed in
 * XML 1.0) and invalid UTF-8 replaced, at most max_chars characters (then an ellipsis). */
static void buf_xml(Buf *b, const char *s, int max_chars) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    int chars = 0;
    while (*p) {
        if (max_chars > 0 && chars == max_chars - 1 && utf8_len(p) && p[utf8_len(p)]) {
            buf_puts(b, "\xE2\x80\xA6");   /* … */
            return;
        }
        int n = utf8_len(p);
        chars++;
        if (n == 0) { buf_puts(b, "\xEF\xBF\xBD"); p++; continue; }
        switch (*p) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default:
            if (*p < 0x20 && *p != '\t') buf_puts(b, " ");
            else buf_put(b, (const char *)p, (size_t)n);
        }
        p += n;
    }
}

/* The same for a terminal: control characters and invalid UTF-8 become '?'. */
static void buf_plain(Buf *b, const char *s) {
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = utf8_len(p);
        if (n == 0 || *p < 0x20 || *p == 0x7F) { buf_puts(b, "?"); p += n ? n : 1; continue; }
        buf_put(b, (const char *)p, (size_t)n);
        p += n;
    }
}

static int utf8_chars(const char *s) {
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        if ((*p & 0xC0) != 0x80) n++;
    return n;
}

/* ---------------------------------------------------------------- data and axes */

static double px_of(const PlotSeries *s, int i) { return s->x ? s->x[i] : (double)i; }

static int point_ok(const PlotSeries *s, int i) {
    return s->y && isfinite(s->y[i]) && isfinite(px_of(s, i));
}

/* The values drawn for series s: raw, or its moving average (gaps stay gaps and do not
 * reset the average). malloc'd; NULL when out of memory. */
static double *series_values(const PlotSeries *s, double smooth) {
    int n = s->n > 0 ? s->n : 0;
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!v) return NULL;
    int have = 0;
    double ema = 0;
    for (int i = 0; i < n; i++) {
        if (!point_ok(s, i)) { v[i] = NAN; continue; }
        double y = s->y[i];
        if (smooth <= 0) { v[i] = y; continue; }
        ema = have ? smooth * ema + (1 - smooth) * y : y;
        have = 1;
        v[i] = ema;
    }
    return v;
}

#define MAX_TICKS 32

typedef struct {
    double lo, hi;           /* the axis range (covers the data) */
    double step;             /* 0 when the range could not be made nice */
    int nt;
    double t[MAX_TICKS];
    int fixed_dec;           /* >= 0: "%.*f" with this many decimals; -1: "%.*g" */
    int sig;                 /* significant digits for %g */
} Axis;

static double nice_step(double raw) {
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Axis over [lo, hi] (lo > hi: no data) with about `target` ticks at multiples of a
 * 1/2/5 x 10^k step, the ends rounded out to ticks. */
static void axis_make(Axis *a, double lo, double hi, int target, int from_zero) {
    memset(a, 0, sizeof *a);
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    if (from_zero) { if (lo > 0) lo = 0; if (hi < 0) hi = 0; }
    if (hi - lo <= fmax(fabs(lo), fabs(hi)) * 1e-12) {   /* constant (or nearly) */
        if (lo == 0 && hi == 0) { lo = from_zero ? 0 : -1; hi = 1; }
        else {
            double d = fmax(fabs(lo), fabs(hi)) * 0.1;
            if (!from_zero || lo < 0) lo -= d;
            if (!from_zero || hi > 0) hi += d;
        }
    }
    a->lo = lo;
    a->hi = hi;
    double range = hi - lo;
    if (!isfinite(range) || !isfinite(range / target) || range / target == 0) {
        a->nt = 2;
        a->t[0] = lo;
        a->t[1] = hi;
        a->fixed_dec = -1;
        a->sig = 4;
        return;
    }
    double step = nice_step(range / target);
    double tlo = floor(lo / step) * step, thi = ceil(hi / step) * step;
    int nt = (int)lround((thi - tlo) / step) + 1;
    while (nt > MAX_TICKS) {   /* cannot happen with target <= 10, but stay bounded */
        step = nice_step(step * 1.5);
        tlo = floor(lo / step) * step;
        thi = ceil(hi / step) * step;
        nt = (int)lround((thi - tlo) / step) + 1;
    }
    if (!isfinite(tlo) || !isfinite(thi)) { tlo = lo; thi = hi; }
    a->lo = tlo;
    a->hi = thi;
    a->step = step;
    a->nt = nt;
    for (int i = 0; i < nt; i++) {
        double t = tlo + i * step;
        if (fabs(t) < step * 1e-9) t = 0;
        a->t[i] = t;
    }
    double maxabs = fmax(fabs(tlo), fabs(thi));
    if (step >= 1e-4 && maxabs < 1e7) {
        a->fixed_dec = (int)ceil(-log10(step) - 1e-9);
        if (a->fixed_dec < 0) a->fixed_dec = 0;
    } else {
        a->fixed_dec = -1;
        int sig = (int)floor(log10(maxabs)) - (int)floor(log10(step)) + 1;
        a->sig = sig < 1 ? 1 : sig > 15 ? 15 : sig;
    }
}

/* v as the axis writes it: "0.25", "1200", "1.5e-6", "3e8". */
static void axis_fmt(const Axis *a, double v, char *out, size_t n) {
    if (a->step > 0 && fabs(v) < a->step * 1e-9) v = 0;
    if (v == 0) { snprintf(out, n, "0"); return; }
    if (a->fixed_dec >= 0) { snprintf(out, n, "%.*f", a->fixed_dec, v); return; }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*g", a->sig, v);
    /* "1.5e-06" -> "1.5e-6", "3e+08" -> "3e8" */
    char *e = strchr(tmp, 'e');
    if (e) {
        char mant[64], *q = e + 1;
        size_t ml = (size_t)(e - tmp);
        memcpy(mant, tmp, ml);
        mant[ml] = 0;
        int neg = *q == '-';
        if (*q == '+' || *q == '-') q++;
        while (*q == '0' && q[1]) q++;
        snprintf(out, n, "%se%s%s", mant, neg ? "-" : "", q);
    } else {
        snprintf(out, n, "%s", tmp);
    }
}

/* Position of v on an axis, 0..1 (overflow-safe for huge ranges). */
static double axis_frac(const Axis *a, double v) {
    double den = a->hi * 0.5 - a->lo * 0.5;
    if (!(den > 0)) return 0.5;
    return (v * 0.5 - a->lo * 0.5) / den;
}

typedef struct {
    int n;
    double **vals;           /* drawn (maybe smoothed) values per series */
    double xlo, xhi, ylo, yhi;
    long points;
} Data;

static void data_free(Data *d) {
    if (d->vals) for (int i = 0; i < d->n; i++) free(d->vals[i]);
    free(d->vals);
}

static int data_make(Data *d, const PlotSeries *s, int n, double smooth) {
    memset(d, 0, sizeof *d);
    d->xlo = d->ylo = INFINITY;
    d->xhi = d->yhi = -INFINITY;
    d->n = n;
    d->vals = calloc((size_t)(n ? n : 1), sizeof(double *));
    if (!d->vals) return -1;
    for (int k = 0; k < n; k++) {
        d->vals[k] = series_values(&s[k], smooth);
        if (!d->vals[k]) return -1;
        for (int i = 0; i < s[k].n; i++) {
            if (!point_ok(&s[k], i)) continue;
            double x = px_of(&s[k], i), y = s[k].y[i];   /* the raw range covers both curves */
            d->xlo = fmin(d->xlo, x); d->xhi = fmax(d->xhi, x);
            d->ylo = fmin(d->ylo, y); d->yhi = fmax(d->yhi, y);
            d->points++;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- SVG */

/* Okabe & Ito's colour-blind-safe palette (its yellow left out: too faint on white). */
static const char *const PALETTE[] = { "#0072B2", "#E69F00", "#009E73", "#D55E00",
                                       "#CC79A7", "#56B4E9", "#000000" };
#define NPALETTE ((int)(sizeof PALETTE / sizeof PALETTE[0]))
static const char *const DASHES[] = { "", "7 3", "2 3", "9 3 2 3" };
#define NDASHES ((int)(sizeof DASHES / sizeof DASHES[0]))

const char *plot_series_color(int k) { return PALETTE[(k < 0 ? 0 : k) % NPALETTE]; }

static void svg_style(Buf *b, int k) {
    buf_printf(b, " stroke=\"%s\"", PALETTE[k % NPALETTE]);
    const char *dash = DASHES[(k / NPALETTE) % NDASHES];
    if (*dash) buf_printf(b, " stroke-dasharray=\"%s\"", dash);
}

/* One <path> with an M/L command per finite point of v; isolated points also get a circle. */
static void svg_series_path(Buf *b, const PlotSeries *s, const double *v, int k, const char *cls,
                            double opacity, double width, const Axis *ax, const Axis *ay,
                            double x0, double y0, double pw, double ph) {
    buf_printf(b, "<path class=\"%s\" fill=\"none\"", cls);
    svg_style(b, k);
    buf_printf(b, " stroke-width=\"%.1f\" stroke-linejoin=\"round\" stroke-linecap=\"round\"", width);
    if (opacity < 1) buf_printf(b, " stroke-opacity=\"%.2f\"", opacity);
    buf_puts(b, " d=\"");
    int prev = 0;
    for (int i = 0; i < s->n; i++) {
        if (!isfinite(v[i])) { prev = 0; continue; }
        double X = x0 + axis_frac(ax, px_of(s, i)) * pw;
        double Y = y0 + ph - axis_frac(ay, v[i]) * ph;
        buf_printf(b, "%s%.1f %.1f", prev ? " L" : (i ? " M" : "M"), X, Y);
        prev = 1;
    }
    buf_puts(b, "\"/>\n");
    for (int i = 0; i < s->n; i++) {
        if (!isfinite(v[i])) continue;
        int left = i > 0 && isfinite(v[i - 1]), right = i + 1 < s->n && isfinite(v[i + 1]);
        if (left || right) continue;
        double X = x0 + axis_frac(ax, px_of(s, i)) * pw;
        double Y = y0 + ph - axis_frac(ay, v[i]) * ph;
        buf_printf(b, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"",
                   X, Y, width + 0.8, PALETTE[k % NPALETTE]);
        if (opacity < 1) buf_printf(b, " fill-opacity=\"%.2f\"", opacity);
        buf_puts(b, "/>\n");
    }
}

char *plot_svg(const PlotSeries *s, int n, const PlotOptions *o) {
    PlotOptions def = { 0 };
    if (!o) o = &def;
    if (!s || n < 0) n = 0;
    double smooth = isfinite(o->smooth) ? fmin(fmax(o->smooth, 0), 0.999) : 0;
    int W = o->width > 0 ? o->width : 640, H = o->height > 0 ? o->height : 360;
    if (W < 200) W = 200;
    if (H < 120) H = 120;
    Buf b = { 0 };
    Data d;
    if (data_make(&d, s, n, smooth)) { data_free(&d); free(b.p); return NULL; }
    int has_title = o->title && *o->title, has_x = o->xlabel && *o->xlabel, has_y = o->ylabel && *o->ylabel;

    /* The legend goes right of the plot when its labels are short, else in rows under it. */
    int maxlab = 0;
    for (int k = 0; k < n; k++) { int c = utf8_chars(s[k].label); if (c > maxlab) maxlab = c; }
    int legend_w = n > 0 ? 34 + 7 * maxlab : 0;
    int below = legend_w > W / 4;
    int legend_chars = below ? (W - 80 - 34) / 7 : (W / 4 - 34) / 7;
    if (legend_chars < 4) legend_chars = 4;
    if (below || n == 0) legend_w = 0;

    double mt = has_title ? 34 : 12, mb = has_x ? 46 : 30, mr = 14 + legend_w;
    /* Rows of the legend below: entries left to right, wrapping, at most a quarter of H. */
    double *lxs = NULL;
    int *lrow = NULL, legend_rows = 0, legend_shown = n;
    if (below) {
        lxs = malloc(sizeof(double) * (size_t)n);
        lrow = malloc(sizeof(int) * (size_t)n);
        if (!lxs || !lrow) { free(lxs); free(lrow); data_free(&d); return NULL; }
        int max_rows = (H / 4) / 18;
        if (max_rows < 1) max_rows = 1;
        double avail = W - 40, x = 0;
        int row = 0;
        for (int k = 0; k < n; k++) {
            int c = utf8_chars(s[k].label);
            double ew = 30 + 7 * (c < legend_chars ? c : legend_chars) + 16;
            if (x > 0 && x + ew > avail) { row++; x = 0; }
            if (row >= max_rows) { legend_shown = k; break; }
            lxs[k] = x;
            lrow[k] = row;
            x += ew;
        }
        /* what does not fit: the last entry that does gives its place to "+k more" */
        if (legend_shown < n) legend_shown--;
        legend_rows = lrow[legend_shown < n ? legend_shown : n - 1] + 1;
        mb += 18 * legend_rows + 4;
    }
    double ph = H - mt - mb;
    if (ph < 20) ph = 20;
    int ty = (int)(ph / 55); ty = ty < 3 ? 3 : ty > 8 ? 8 : ty;
    Axis ay, ax;
    axis_make(&ay, d.ylo, d.yhi, ty, o->y_from_zero);
    char lab[80];
    int ylab_w = 1;
    for (int i = 0; i < ay.nt; i++) {
        axis_fmt(&ay, ay.t[i], lab, sizeof lab);
        int c = (int)strlen(lab);
        if (c > ylab_w) ylab_w = c;
    }
    double ml = 14 + 7 * ylab_w + (has_y ? 20 : 0);
    double pw = W - ml - mr;
    if (pw < 40) pw = 40;
    int tx = (int)(pw / 90); tx = tx < 2 ? 2 : tx > 10 ? 10 : tx;
    axis_make(&ax, d.xlo, d.xhi, tx, 0);
    double x0 = ml, y0 = mt;

    buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n",
               W, H, W, H);
    if (has_title) { buf_puts(&b, "<title>"); buf_xml(&b, o->title, 0); buf_puts(&b, "</title>\n"); }
    buf_printf(&b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
    if (has_title) {
        buf_printf(&b, "<text class=\"title\" x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
                   "font-weight=\"bold\">", x0 + pw / 2);
        buf_xml(&b, o->title, 0);
        buf_puts(&b, "</text>\n");
    }
    /* Gridlines and tick labels. */
    buf_puts(&b, "<g class=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0; i < ay.nt; i++) {
        double Y = y0 + ph - axis_frac(&ay, ay.t[i]) * ph;
        buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, Y, x0 + pw, Y);
    }
    for (int i = 0; i < ax.nt; i++) {
        double X = x0 + axis_frac(&ax, ax.t[i]) * pw;
        buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", X, y0, X, y0 + ph);
    }
    buf_puts(&b, "</g>\n<g class=\"ticks\" fill=\"#333333\">\n");
    for (int i = 0; i < ay.nt; i++) {
        double Y = y0 + ph - axis_frac(&ay, ay.t[i]) * ph;
        axis_fmt(&ay, ay.t[i], lab, sizeof lab);
        buf_printf(&b, "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                   x0 - 6, Y + 4, lab);
    }
    for (int i = 0; i < ax.nt; i++) {
        double X = x0 + axis_frac(&ax, ax.t[i]) * pw;
        axis_fmt(&ax, ax.t[i], lab, sizeof lab);
        buf_printf(&b, "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                   X, y0 + ph + 17, lab);
    }
    buf_puts(&b, "</g>\n");
    buf_printf(&b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#555555\" stroke-width=\"1\"/>\n", x0, y0, pw, ph);
    if (has_x) {
        buf_printf(&b, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x0 + pw / 2, y0 + ph + 36);
        buf_xml(&b, o->xlabel, 0);
        buf_puts(&b, "</text>\n");
    }
    if (has_y) {
        double X = 16, Y = y0 + ph / 2;
        buf_printf(&b, "<text class=\"ylabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                   "transform=\"rotate(-90 %.1f %.1f)\">", X, Y, X, Y);
        buf_xml(&b, o->ylabel, 0);
        buf_puts(&b, "</text>\n");
    }
    if (d.points == 0) {
        buf_printf(&b, "<text class=\"nodata\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#777777\">"
                   "no data</text>\n", x0 + pw / 2, y0 + ph / 2);
    }
    /* Series: the raw curves (faint, when smoothing) under the drawn ones. */
    for (int k = 0; k < n; k++) {
        buf_printf(&b, "<g class=\"series-group\" data-series=\"%d\">\n<title>", k);
        buf_xml(&b, s[k].label, 0);
        buf_puts(&b, "</title>\n");
        if (smooth > 0) {
            double *raw = series_values(&s[k], 0);
            if (!raw) { b.oom = 1; break; }
            svg_series_path(&b, &s[k], raw, k, "raw", 0.25, 1.2, &ax, &ay, x0, y0, pw, ph);
            free(raw);
        }
        svg_series_path(&b, &s[k], d.vals[k], k, "series", 1, 1.8, &ax, &ay, x0, y0, pw, ph);
        buf_puts(&b, "</g>\n");
    }
    /* Legend: right of the plot or in rows under it; what does not fit is counted. */
    if (n > 0 && below) {
        double base = y0 + ph + (has_x ? 46 : 30) + 8;
        buf_puts(&b, "<g class=\"legend\">\n");
        for (int k = 0; k <= legend_shown && k < n; k++) {
            double lx = 20 + lxs[k], ly = base + 18 * lrow[k];
            if (k == legend_shown) {
                buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555555\">+%d more</text>\n", lx, ly + 4, n - k);
                break;
            }
            buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.5\"",
                       lx, ly, lx + 22, ly);
            svg_style(&b, k);
            buf_printf(&b, "/>\n<text class=\"legend-label\" x=\"%.1f\" y=\"%.1f\">", lx + 28, ly + 4);
            buf_xml(&b, s[k].label, legend_chars);
            buf_puts(&b, "</text>\n");
        }
        buf_puts(&b, "</g>\n");
    } else if (n > 0) {
        double lx = x0 + pw + 14, ly = y0 + 8;
        int fit = (int)((ph - 4) / 18);
        if (fit < 1) fit = 1;
        buf_puts(&b, "<g class=\"legend\">\n");
        for (int k = 0; k < n; k++) {
            if (k == fit - 1 && n > fit) {
                buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555555\">+%d more</text>\n", lx, ly + 4, n - k);
                break;
            }
            buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.5\"",
                       lx, ly, lx + 22, ly);
            svg_style(&b, k);
            buf_printf(&b, "/>\n<text class=\"legend-label\" x=\"%.1f\" y=\"%.1f\">", lx + 28, ly + 4);
            buf_xml(&b, s[k].label, legend_chars);
            buf_puts(&b, "</text>\n");
            ly += 18;
        }
        buf_puts(&b, "</g>\n");
    }
    free(lxs);
    free(lrow);
    buf_puts(&b, "</svg>\n");
    data_free(&d);
    return buf_finish(&b);
}

/* ---------------------------------------------------------------- text */

static const char MARKERS[] = "*+ox#@%&=~";
#define NMARKERS ((int)(sizeof MARKERS - 1))

typedef struct {
    int W, H, gw, gh, ascii;
    unsigned char *bits;     /* braille dots per cell */
    char *mark;              /* a marker character per cell, 0 for none */
} Grid;

static void grid_dot(Grid *g, int gx, int gy, char marker) {
    if (gx < 0 || gy < 0 || gx >= g->gw || gy >= g->gh) return;
    if (g->ascii) { g->mark[gy * g->W + gx] = marker; return; }
    static const unsigned char bit[2][4] = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };
    g->bits[(gy / 4) * g->W + gx / 2] |= bit[gx % 2][gy % 4];
}

static void grid_line(Grid *g, int xa, int ya, int xb, int yb, char marker) {
    int dx = abs(xb - xa), dy = -abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1, e = dx + dy;
    for (;;) {
        grid_dot(g, xa, ya, marker);
        if (xa == xb && ya == yb) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; xa += sx; }
        if (e2 <= dx) { e += dx; ya += sy; }
    }
}

static void buf_repeat(Buf *b, const char *s, int n) { for (int i = 0; i < n; i++) buf_puts(b, s); }

char *plot_text(const PlotSeries *s, int n, const PlotOptions *o, int ascii) {
    PlotOptions def = { 0 };
    if (!o) o = &def;
    if (!s || n < 0) n = 0;
    double smooth = isfinite(o->smooth) ? fmin(fmax(o->smooth, 0), 0.999) : 0;
    Grid g = { 0 };
    g.W = o->width > 0 ? o->width : 60;
    g.H = o->height > 0 ? o->height : 15;
    if (g.W > 2000) g.W = 2000;
    if (g.H > 1000) g.H = 1000;
    g.ascii = ascii != 0;
    g.gw = g.W * (g.ascii ? 1 : 2);
    g.gh = g.H * (g.ascii ? 1 : 4);
    g.bits = calloc((size_t)g.W * (size_t)g.H, 1);
    g.mark = calloc((size_t)g.W * (size_t)g.H, 1);
    Buf b = { 0 };
    Data d;
    if (!g.bits || !g.mark || data_make(&d, s, n, smooth)) {
        if (g.bits && g.mark) data_free(&d);
        free(g.bits); free(g.mark);
        return NULL;
    }
    Axis ax, ay;
    axis_make(&ax, d.xlo, d.xhi, 4, 0);
    axis_make(&ay, d.ylo, d.yhi, 4, o->y_from_zero);

    for (int k = 0; k < n; k++) {
        char m = MARKERS[k % NMARKERS];
        int have = 0, px = 0, py = 0, lastx = -1, lasty = -1;
        for (int i = 0; i < s[k].n; i++) {
            double v = d.vals[k][i];
            if (!isfinite(v)) { have = 0; continue; }
            int gx = (int)lround(axis_frac(&ax, px_of(&s[k], i)) * (g.gw - 1));
            int gy = (int)lround((1 - axis_frac(&ay, v)) * (g.gh - 1));
            if (have) grid_line(&g, px, py, gx, gy, m);
            else grid_dot(&g, gx, gy, m);
            have = 1; px = gx; py = gy;
            lastx = gx; lasty = gy;
        }
        if (!g.ascii && lastx >= 0) g.mark[(lasty / 4) * g.W + lastx / 2] = m;
    }

    if (o->title && *o->title) { buf_plain(&b, o->title); buf_puts(&b, "\n"); }
    if (o->ylabel && *o->ylabel) { buf_plain(&b, o->ylabel); buf_puts(&b, "\n"); }
    char top[80], bot[80];
    axis_fmt(&ay, ay.hi, top, sizeof top);
    axis_fmt(&ay, ay.lo, bot, sizeof bot);
    int lw = (int)strlen(top) > (int)strlen(bot) ? (int)strlen(top) : (int)strlen(bot);
    const char *nodata = "(no data)";
    int nd_len = (int)strlen(nodata), nd_row = g.H / 2, nd_col = (g.W - nd_len) / 2;
    if (nd_col < 0) nd_col = 0;
    for (int r = 0; r < g.H; r++) {
        const char *lab = r == 0 ? top : r == g.H - 1 ? bot : "";
        buf_printf(&b, "%*s ", lw, lab);
        buf_puts(&b, g.ascii ? (r == 0 || r == g.H - 1 ? "+" : "|")
                             : (r == 0 || r == g.H - 1 ? "\xE2\x94\xA4" : "\xE2\x94\x82"));   /* ┤ │ */
        for (int c = 0; c < g.W; c++) {
            int idx = r * g.W + c;
            if (d.points == 0 && r == nd_row && c >= nd_col && c - nd_col < nd_len) {
                char ch[2] = { nodata[c - nd_col], 0 };
                buf_puts(&b, ch);
            } else if (g.mark[idx]) {
                char ch[2] = { g.mark[idx], 0 };
                buf_puts(&b, ch);
            } else if (!g.ascii && g.bits[idx]) {
                unsigned cp = 0x2800u + g.bits[idx];
                char u[4] = { (char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
                              (char)(0x80 | (cp & 0x3F)), 0 };
                buf_puts(&b, u);
            } else {
                buf_puts(&b, " ");
            }
        }
        buf_puts(&b, "\n");
    }
    buf_printf(&b, "%*s ", lw, "");
    buf_puts(&b, g.ascii ? "+" : "\xE2\x94\x94");   /* └ */
    buf_repeat(&b, g.ascii ? "-" : "\xE2\x94\x80", g.W);   /* ─ */
    buf_puts(&b, "\n");
    char xl[80], xr[80];
    axis_fmt(&ax, ax.lo, xl, sizeof xl);
    axis_fmt(&ax, ax.hi, xr, sizeof xr);
    int gap = g.W + 1 - (int)strlen(xl) - (int)strlen(xr);
    buf_printf(&b, "%*s %s%*s%s\n", lw, "", xl, gap > 1 ? gap : 1, "", xr);
    if (o->xlabel && *o->xlabel) {
        int c = utf8_chars(o->xlabel), pad = lw + 1 + (g.W + 1 - c) / 2;
        buf_printf(&b, "%*s", pad > 0 ? pad : 0, "");
        buf_plain(&b, o->xlabel);
        buf_puts(&b, "\n");
    }
    for (int k = 0; k < n; k++) {
        buf_printf(&b, "  %c ", MARKERS[k % NMARKERS]);
        buf_plain(&b, s[k].label);
        buf_puts(&b, "\n");
    }
    data_free(&d);
    free(g.bits);
    free(g.mark);
    return buf_finish(&b);
}
