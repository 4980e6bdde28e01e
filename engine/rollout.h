/* rollout: tasks in, scored completions out. Shared by the RL trainer and evaluation.
 *
 * A task's prompt is encoded as  prompt <|sep|>  and the policy writes until
 * <|endoftext|> (the format SFT teaches). G completions per task are sampled in one
 * batch (sequence i of task t is stream (stream_base, (task0 + t)*G + i), so a completion
 * does not depend on the batch it is in, and a data-parallel rank sampling tasks
 * task0 .. of a step's list draws what one process sampling the whole list would), optionally with the calculator: when a completion ends
 * inside "<<EXPR=", arith_eval's exact value and ">>" are appended as tool tokens, which
 * carry no log-probability and no loss. Every completion is then scored by the weighted
 * verifiers in parallel (results in a fixed order); the reward is their weighted mean. */
#ifndef RLVR_ROLLOUT_H
#define RLVR_ROLLOUT_H
#include "policy/sampler.h"
#include "policy/tokenizer.h"
#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <cJSON.h>
#include <stdint.h>

#define ROLLOUT_MAX_VERIFIERS 16

typedef struct {
    const Verifier *v;
    double weight;
} WeightedVerifier;

typedef struct {
    int n_tasks, group;       /* n = n_tasks * group sequences, task-major */
    int n;
    int **prompt;             /* (n) prompt tokens, <|sep|> included (rows of one task share) */
    int *prompt_len;
    Completion *comp;         /* (n) */
    double *reward;           /* (n) weighted mean over the verifiers */
    double *vreward;          /* (n, n_verifiers) */
    int n_verifiers;
    char (*status)[32];       /* (n) the first verifier's status */
    cJSON **detail;           /* (n) the first verifier's detail (owned) */
    const char **vname;       /* verifier names, for metrics */
} Rollout;

/* The calculator, as a sampler tool hook; user is the Tokenizer. */
int  calculator_tool(void *user, int seq, const char *text, size_t len, int *out, int cap);

/* Encode a prompt as  prompt <|sep|>  into a malloc'd array (*len tokens). Fails when it
 * does not leave room for max_new tokens in a context of max_seq. */
int  rollout_encode_prompt(const Tokenizer *tok, const char *prompt, int max_seq, int max_new, int **out,
                           int *len, char *err, size_t errlen);

/* Sample G completions for each of n_tasks tasks (numbered task0 .. in the caller's
 * list, for their random streams). */
int  rollout_generate(Rollout *r, Sampler *s, const Tokenizer *tok, const SamplerConfig *cfg,
                      const Task *const *tasks, int n_tasks, int G, int calculator, uint64_t stream_base,
                      int task0, char *err, size_t errlen);
/* Score every completion with the weighted verifiers vs (nv of them), or, when vs is
 * NULL, each task with its own verifier per_task[t] (evaluation sets mix tasks).
 * threads <= 0: all. */
int  rollout_verify(Rollout *r, const Task *const *tasks, const WeightedVerifier *vs, int nv,
                    const Verifier *const *per_task, int threads, char *err, size_t errlen);
void rollout_free(Rollout *r);

/* Completion tokens sampled by the policy (tool tokens excluded) over the rollout. */
long rollout_policy_tokens(const Rollout *r);

#endif
