/* evaluate: how well a policy solves a set of tasks.
 *
 * pass@1 greedy (temperature 0, one completion per task); with k > 0 also k sampled
 * completions per task at the given temperature: pass@1 sampled (the mean success rate),
 * unbiased pass@k (Chen et al., 2021, from the n = k samples) and maj@k (majority vote
 * over the samples' final answers, as the verifier's detail reports them in "answer";
 * samples without one do not vote; a tie goes to the answer seen first). A task is
 * solved when its verifier gives reward 1. Each task is scored by its own verifier. */
#ifndef RLVR_EVALUATE_H
#define RLVR_EVALUATE_H
#include "policy/sampler.h"
#include "policy/tokenizer.h"
#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <stdint.h>

typedef struct {
    int n, k;
    double pass1_greedy;     /* fraction of tasks */
    double pass1_sampled, pass_at_k, maj_at_k;   /* k > 0 only */
    double mean_len;         /* greedy completion tokens */
    int solved_greedy;
} EvalResult;

typedef struct {
    int calculator, max_new_tokens, k, threads;
    double temperature;      /* for the k samples */
    uint64_t seed;
    unsigned char *solved;   /* optional, (n): set to 1 where the greedy completion solved the task */
} EvalConfig;

/* verifiers[i] scores tasks[i]. On success fills res. */
int evaluate_tasks(Sampler *s, const Tokenizer *tok, const Task *const *tasks, const Verifier *const *verifiers,
                   int n, const EvalConfig *cfg, EvalResult *res, char *err, size_t errlen);

#endif
