#include "engine/progress.h"
#include "engine/dist.h"
#include "engine/util.h"
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void progress_start(Progress *p, const char *label, long total) {
    p->label = label;
    p->total = total > 0 ? total : 0;   /* 0: unbounded (no ETA; plain lines every 20) */
    p->t0 = util_now();
    p->last_draw = 0.0;
    p->tty = isatty(2);
    p->drawn = 0;
    p->next_plain = p->total / 20 > 0 ? p->total / 20 : p->total ? 1 : 20;
    p->quiet = dist_rank() != 0;
}

static void format_secs(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) snprintf(buf, n, "?");
    else if (s < 90) snprintf(buf, n, "%.0fs", s);
    else if (s < 5400) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

void progress_update(Progress *p, long done, const char *fmt, ...) {
    if (p->quiet) return;
    double now = util_now(), el = now - p->t0;
    int plain_due = !p->tty && (done >= p->next_plain || done == p->total);
    if (p->tty ? (now - p->last_draw < 0.1 && done != p->total) : !plain_due) return;
    char fields[256], eta[32], elapsed[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    format_secs(elapsed, sizeof elapsed, el);
    format_secs(eta, sizeof eta, done > 0 && p->total ? el / done * (p->total - done) : -1);
    char count[64];
    if (p->total) snprintf(count, sizeof count, "%ld/%ld", done, p->total);
    else snprintf(count, sizeof count, "%ld", done);
    const char *eta_label = p->total ? ", ETA " : "";
    if (!p->total) eta[0] = 0;
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s %s  %s  %s elapsed%s%s", p->label, count, fields, elapsed, eta_label, eta);
        p->drawn = 1;
        p->last_draw = now;
    } else {
        fprintf(stderr, "%s %s  %s  %s elapsed%s%s\n", p->label, count, fields, elapsed, eta_label, eta);
        while (p->next_plain <= done) p->next_plain += p->total / 20 > 0 ? p->total / 20 : p->total ? 1 : 20;
    }
    fflush(stderr);
}

void progress_note(Progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    if (p->tty && p->drawn) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "%s: ", p->label);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    p->drawn = 0;
    p->last_draw = 0.0; /* redraw the live line right away */
}

void progress_done(Progress *p) {
    if (p->tty && p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}
