/* sampler: batched generation with log-probabilities, stop conditions and a tool hook.
 *
 * B prompts of different lengths are prefilled together, then decoded together, one
 * forward pass per step with a row per unfinished sequence (policy/decode.h). Each
 * sequence draws from its own random stream, derived from the seed and the caller's
 * stream id for it, so its completion does not depend on which other sequences share
 * its batch (except through floating-point rounding in the shared matmuls).
 *
 * For every token it records two log-probabilities: under the distribution it was
 * sampled from (temperature, top-k, top-p applied) and under the unmodified policy
 * (temperature 1, full vocabulary): the RL trainer needs the latter as the "old policy".
 *
 * The tool hook sees a sequence's completion text after each sampled token and may
 * return tokens to append. Those go through the model like sampled ones (so the KV cache
 * stays right) but are marked as tool tokens with no log-probabilities: training must
 * never count them as the policy's choices. The sampler does not know what the tool is. */
#ifndef RLVR_SAMPLER_H
#define RLVR_SAMPLER_H
#include "policy/decode.h"
#include "policy/rng.h"
#include "policy/tokenizer.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float temperature;   /* <= 0: greedy (argmax, lowest id on ties) */
    int top_k;           /* <= 0: off */
    float top_p;         /* >= 1: off */
    int max_new_tokens;  /* sampled and tool tokens together */
    int stop_token;      /* ends a sequence when sampled (usually end of text); -1: none */
    const char *const *stop_strings; /* end a sequence once its text contains one */
    int n_stop_strings;
    uint64_t seed;
} SamplerConfig;

typedef enum { FINISH_STOP_TOKEN, FINISH_STOP_STRING, FINISH_LENGTH, FINISH_CONTEXT } FinishReason;
const char *sampler_finish_name(FinishReason f);

typedef struct {
    int n;               /* completion tokens, stop token included */
    int *tokens;
    float *logp_sample;  /* log-prob under the sampling distribution; 0 for tool tokens */
    float *logp_policy;  /* log-prob under the unmodified policy; 0 for tool tokens */
    unsigned char *is_tool;
    int n_tool;
    char *text;          /* the completion decoded, NUL-terminated; ends before a stop */
    size_t text_len;     /* string or stop token */
    FinishReason finish;
} Completion;

void completion_free(Completion *c);

/* Tool hook: given sequence `seq`'s completion text so far, write up to `cap` tokens to
 * append into out and return how many (0: none). Called after each sampled token. */
typedef int (*SamplerToolFn)(void *user, int seq, const char *text, size_t len, int *out, int cap);
/* Streaming: called, in sequence order, for each token as it is added. */
typedef void (*SamplerTokenFn)(void *user, int seq, int token, int is_tool);

typedef struct {
    Decoder dec;
    int max_batch;
    float *logits;   /* (max_batch, V) */
    float *probs;    /* (max_batch, V) */
    int *order;      /* (max_batch, V) for top-k / top-p */
} Sampler;

int  sampler_create(Sampler *s, const Model *m, int max_batch, char *err, size_t errlen);
void sampler_free(Sampler *s);

/* Generate one completion per prompt. prompts[b] has prompt_lens[b] tokens, 1 to the
 * context length (a full context still yields one token: the last position's choice); stream_ids[b] keys sequence b's random stream (NULL: b). out[b] is
 * filled (free with completion_free). tool and on_token may be NULL; tok may be NULL
 * (benchmarks), and then there is no text, so no stop strings and no tool. */
int  sampler_generate(Sampler *s, const Tokenizer *tok, const SamplerConfig *cfg,
                      const int *const *prompts, const int *prompt_lens, const uint64_t *stream_ids,
                      int B, Completion *out, SamplerToolFn tool, SamplerTokenFn on_token, void *user,
                      char *err, size_t errlen);

/* One token from a logits row (V) with the config's temperature/top-k/top-p and rng;
 * writes both log-probabilities. probs and order are V-sized scratch. Exposed for tests. */
int  sampler_pick(const float *logits, int V, const SamplerConfig *cfg, Rng *rng,
                  float *probs, int *order, float *logp_sample, float *logp_policy);

#endif
