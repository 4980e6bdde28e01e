/* plot: line charts of training curves as SVG (for the HTML report) and as text (for a
 * terminal), with nothing beyond libc and libm. Pure functions: no global state, safe to
 * call from several threads at once. */
#ifndef RLVR_PLOT_H
#define RLVR_PLOT_H

/* One curve: n points (x[i], y[i]). A NaN or infinite y (or x) is a gap: the line breaks
 * there. x NULL means x[i] = i. label NULL is "". */
typedef struct { const char *label; const double *x; const double *y; int n; } PlotSeries;

/* title/xlabel/ylabel: NULL or "" for none (units go in the label text, as given).
 * smooth: 0..1, the weight of the past in an exponential moving average (0 = raw only;
 *   with smoothing the SVG draws the raw curve faint behind the smoothed one, the text
 *   chart draws the smoothed one).
 * width, height: pixels for SVG (default 640 x 360), characters of plot area for text
 *   (default 60 x 15) when <= 0.
 * y_from_zero: the y axis includes 0. */
typedef struct {
    const char *title, *xlabel, *ylabel;
    double smooth;
    int width, height;
    int y_from_zero;
} PlotOptions;

/* An SVG line chart as a malloc'd, NUL-terminated string: title, axis labels, "nice"
 * ticks (1/2/5 x 10^k) with gridlines, one colour per series from a fixed
 * colour-blind-safe palette (Okabe-Ito; past its 7 colours the cycle repeats with dash
 * patterns), a legend, XML-escaped text. Each series is one <path class="series"> whose
 * "d" has one M/L command per finite point (plus a <path class="raw"> when smoothing);
 * isolated points also get a <circle>. NULL only when out of memory. o NULL = defaults. */
char *plot_svg(const PlotSeries *s, int n, const PlotOptions *o);

/* The same chart as text (malloc'd, UTF-8, lines ending in '\n'): an optional title and
 * y-label line, then o->height rows of `<y value> <axis char><width cells>` (the top row
 * labelled with the axis maximum, the bottom row with the minimum), the x axis and its
 * range, the x label, and one legend line per series: "  <marker> <label>". Cells hold
 * Unicode braille dots (U+2800..U+28FF, 2 x 4 dots per cell) or, when ascii != 0, the
 * series' marker character (series 0 '*', then + o x # @ % & = ~); in braille mode each
 * series' marker is placed at its last point so the curves can be told apart.
 * NULL only when out of memory. */
char *plot_text(const PlotSeries *s, int n, const PlotOptions *o, int ascii);

/* The colour plot_svg gives series k ("#RRGGBB", static), e.g. for a swatch in a table. */
const char *plot_series_color(int k);

#endif
