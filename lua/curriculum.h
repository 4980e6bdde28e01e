/* curriculum: what the policy learns, in what order, and how it is scored, from a Lua
 * script.
 *
 * A curriculum script returns rlvr.curriculum{ name, stages = {...}, eval = {...},
 * defaults = {...} }. Each stage has a mode ("sft" or "rl"), task sources with mixing
 * weights (a Lua `generate` function or a `jsonl` file), the verifiers that score it
 * (rl stages), optional overrides of the trainer's settings, and an end: `steps = N`, or
 * `promote = { window = W, threshold = x, min_steps = a, max_steps = b }` (the stage
 * ends once the mean reward of the last W completions reaches x). The eval set is drawn
 * once, at load, from its own sources with its own seed; training draws never return
 * a task whose prompt is in it. rlvr.curriculum and rlvr.stage check their table when
 * the script runs, so a mistake is reported as "file:line: stages[2].promote.window must
 * be a positive integer".
 *
 * Determinism: which source a draw uses comes from a splitmix64 stream of the
 * curriculum's own, and generators draw from the Lua state's seeded math.random /
 * rlvr.random. Both states, the stage, its counters, the JSONL read positions and the
 * rolling reward window are the curriculum's state: curriculum_save writes them as JSON
 * and curriculum_restore puts them back, so a resumed run draws the tasks it would have
 * drawn. Generators must therefore keep no state of their own between calls.
 *
 * A Curriculum belongs to one thread (its Lua state is not shared). */
#ifndef RLVR_CURRICULUM_H
#define RLVR_CURRICULUM_H
#include "lua/host.h"
#include "tasks/task.h"
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { STAGE_SFT, STAGE_RL } StageMode;

typedef struct {
    char *name;     /* a built-in or registered verifier name, or a .lua path */
    double weight;  /* > 0; a stage's reward is the weighted mean of its verifiers */
} StageVerifier;

typedef struct {
    char *label;    /* "generate" or the JSONL path, for display */
    double weight;
} SourceInfo;

typedef struct {
    char *name;
    StageMode mode;
    SourceInfo *sources;
    int n_sources;
    StageVerifier *verifiers;
    int n_verifiers;
    cJSON *overrides;     /* object: the trainer settings this stage changes */
    long steps;           /* a fixed length; 0 when the stage ends by promotion */
    int window;           /* promotion: completions in the rolling window (0: none) */
    double threshold;     /* promotion: mean reward over the window to reach */
    long min_steps;       /* promotion: not before this many steps */
    long max_steps;       /* promotion: end anyway after this many steps (0: no cap) */
} Stage;

typedef struct Curriculum Curriculum;

/* Load, run and validate the script; draws the eval set. seed drives the training
 * stream (the eval set uses its own `eval.seed`). lim may be NULL. Returns NULL with err
 * ("file:line: message" for mistakes in the script). */
Curriculum *curriculum_load(const char *path, uint64_t seed, const LuaHostLimits *lim,
                            char *err, size_t errlen);
void curriculum_free(Curriculum *c);

const char  *curriculum_name(const Curriculum *c);
const char  *curriculum_path(const Curriculum *c);
int          curriculum_n_stages(const Curriculum *c);
const Stage *curriculum_stage(const Curriculum *c, int i);
/* The `defaults` table (trainer settings for every stage), an object, never NULL. */
const cJSON *curriculum_defaults(const Curriculum *c);

/* The held-out set, drawn at load. */
int          curriculum_n_eval(const Curriculum *c);
const Task  *curriculum_eval_task(const Curriculum *c, int i);

/* ---- progress through the stages */
int   curriculum_stage_index(const Curriculum *c);  /* == n_stages when finished */
long  curriculum_stage_step(const Curriculum *c);   /* steps done in the current stage */
long  curriculum_total_steps(const Curriculum *c);
/* Mean reward over the rolling window (NaN when the window holds nothing) and how many
 * completions it holds. */
double curriculum_window_mean(const Curriculum *c, int *count);

/* Draw the next training task of the current stage into out (task_free it). Fails with
 * err naming the script and line when a generator fails or returns a bad task. */
int  curriculum_draw(Curriculum *c, Task *out, char *err, size_t errlen);
/* Draw from one source of one stage without touching the training stream (for
 * `rlvr curriculum check`): the draw uses its own seed. */
int  curriculum_sample(Curriculum *c, int stage, int source, uint64_t seed, Task *out,
                       char *err, size_t errlen);
/* Add completions' rewards to the rolling window. */
void curriculum_record(Curriculum *c, const double *rewards, int n);
/* Count one optimisation step; when the stage's end is reached, move to the next stage.
 * Returns 0 (same stage), 1 (a new stage began) or 2 (the last stage ended). */
int  curriculum_end_step(Curriculum *c);

/* Go to a stage's start (its step count and window reset; the task stream goes on).
 * For controls such as `rlvr bench learn`, which continue an earlier stage. -1 if no
 * such stage. */
int  curriculum_goto_stage(Curriculum *c, int stage);

/* The state (stage, counters, RNG states, JSONL positions, window) as a JSON object
 * (NULL if out of memory), and back. restore checks it against this curriculum (same
 * name, stage count and source counts) and fails with err otherwise. */
cJSON *curriculum_save(const Curriculum *c);
int    curriculum_restore(Curriculum *c, const cJSON *state, char *err, size_t errlen);

#endif
