/* progress: the live status line of long commands.
 *
 * On a terminal (stderr is a TTY) one line is redrawn in place at most ten times a
 * second: label, step/total, the caller's fields, elapsed time and ETA. Otherwise (logs,
 * CI) a plain line is printed every 5% of the work, so logs stay short and readable.
 * Notes (evaluations, checkpoints) always get a line of their own. A total of 0 means
 * unbounded work (a stage that ends by promotion): a count, no ETA, plain lines every 20.
 * In a data-parallel job only rank 0 shows progress (the others would repeat it). */
#ifndef RLVR_PROGRESS_H
#define RLVR_PROGRESS_H

typedef struct {
    const char *label;
    long total, next_plain;
    double t0, last_draw;
    int tty, drawn;
    int quiet;         /* not rank 0 */
} Progress;

void progress_start(Progress *p, const char *label, long total);
void progress_update(Progress *p, long done, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void progress_note(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_done(Progress *p);

#endif
