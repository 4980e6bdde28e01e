/* model: the decoder-only transformer policy.
 *
 * Token embedding tied to the output head, rotary position embeddings (interleaved
 * pairs, as llama2.c), pre-norm RMSNorm, multi-head causal self-attention, a SwiGLU
 * (or GELU) MLP, final RMSNorm. No biases. Shapes in comments use
 *   B batch, T sequence length, C d_model, NH heads, hs = C/NH, F MLP width, V vocab,
 *   L layers, N = B*T rows.
 *
 * The forward pass takes targets and per-token weights w and a denominator D and
 * computes logp[b,t] = log softmax(logits[b,t])[target] and
 *   loss = -sum_{b,t} w[b,t] * logp[b,t] / D.
 * SFT passes a 0/1 mask with D = number of ones; the RL trainer passes advantages;
 * the model never knows which. The backward pass takes the same weights.
 *
 * Memory follows llm.c: parameters, gradients and activations each live in one
 * allocation with named views. Activations are sized for the largest B*T seen and
 * only re-allocated if a bigger batch arrives. */
#ifndef RLVR_MODEL_H
#define RLVR_MODEL_H
#include <stddef.h>
#include <stdint.h>

typedef enum { MLP_SWIGLU = 0, MLP_GELU = 1 } MlpKind;

typedef struct {
    int vocab;      /* V */
    int d_model;    /* C */
    int n_layer;    /* L */
    int n_head;     /* NH */
    int max_seq;    /* the context length: T <= max_seq */
    int mlp_hidden; /* F */
    MlpKind mlp;
} ModelConfig;

/* Fill cfg from a preset name ("tiny", "small", "base") and a vocabulary size.
 * Returns 0, or -1 for an unknown name. */
int  model_config_preset(ModelConfig *cfg, const char *name, int vocab, int max_seq);
/* Check every field and the relations between them; fills err and returns -1 if wrong. */
int  model_config_validate(const ModelConfig *cfg, char *err, size_t errlen);
/* The config as a JSON object string (malloc'd), and back. */
char *model_config_to_json(const ModelConfig *cfg);
int  model_config_from_json(ModelConfig *cfg, const char *json, char *err, size_t errlen);
const char *model_mlp_name(MlpKind k);
/* Parameter count of a (validated) config, without allocating anything. */
size_t model_config_num_params(const ModelConfig *cfg);

#define NUM_PARAM_TENSORS 8
typedef struct {
    float *wte;       /* (V, C)      embedding and tied output head */
    float *rms1_w;    /* (L, C) */
    float *qkv_w;     /* (L, 3C, C)  rows: q, k, v */
    float *attproj_w; /* (L, C, C) */
    float *rms2_w;    /* (L, C) */
    float *fc_w;      /* (L, 2F, C)  swiglu rows: gate, up;  (L, F, C) for gelu */
    float *fcproj_w;  /* (L, C, F) */
    float *rmsf_w;    /* (C) */
} ParamTensors;

extern const char *const model_param_names[NUM_PARAM_TENSORS];

typedef struct {
    float *encoded;   /* (B, T, C)     embeddings, the residual stream's start */
    float *ln1;       /* (L, B, T, C) */
    float *ln1_rstd;  /* (L, B, T) */
    float *qkv;       /* (L, B, T, 3C) q and k after RoPE */
    float *att;       /* (L, B, NH, T, T) attention probabilities */
    float *atty;      /* (L, B, T, C)  attention output before the projection */
    float *res2;      /* (L, B, T, C)  residual after attention */
    float *ln2;       /* (L, B, T, C) */
    float *ln2_rstd;  /* (L, B, T) */
    float *fch;       /* (L, B, T, 2F) MLP pre-activation (F for gelu) */
    float *fch_act;   /* (L, B, T, F) */
    float *res3;      /* (L, B, T, C)  residual after the MLP: the layer's output */
    float *lnf;       /* (B, T, C) */
    float *lnf_rstd;  /* (B, T) */
    float *logits;    /* (B, T, V) */
    float *logprobs;  /* (B, T) */
    float *lse;       /* (B, T)        log-sum-exp of each logits row, for backward */
} Activations;

/* Backward scratch: one layer's worth, reused for every layer. */
typedef struct {
    float *dres;      /* (B, T, C) gradient of the residual stream */
    float *dln;       /* (B, T, C) */
    float *dqkv;      /* (B, T, 3C) */
    float *datt;      /* (B, NH, T, T) */
    float *datty;     /* (B, T, C) */
    float *dfch;      /* (B, T, 2F) */
    float *dfch_act;  /* (B, T, F) */
    float *dlogits;   /* (B, T, V) */
} GradScratch;

typedef struct {
    ModelConfig cfg;
    size_t param_sizes[NUM_PARAM_TENSORS];
    size_t num_params;
    float *params_memory;
    ParamTensors params;
    float *grads_memory;
    ParamTensors grads;
    float *rope_cos, *rope_sin; /* (max_seq, hs/2) */
    /* activations and backward scratch: capacities in floats, grown on demand */
    size_t acts_cap, scratch_cap;
    float *acts_memory;
    Activations acts;
    float *scratch_memory;
    GradScratch scratch;
    int B, T;                   /* shape of the last forward */
    const int *targets;         /* remembered by forward for backward */
    double loss;
} Model;

/* Allocate a model for cfg (validated first). Parameters start at zero: call model_init. */
int  model_create(Model *m, const ModelConfig *cfg, char *err, size_t errlen);
void model_free(Model *m);
/* The initialisation: matrices uniform with std ~0.02, norm weights 1 +- 0.1, all drawn
 * in order from one splitmix64 stream (the PyTorch fixture does the same). */
void model_init(Model *m, uint64_t seed);
/* Tensor i's view inside a blob laid out like the parameters (grads, AdamW moments). */
float *model_tensor(const Model *m, float *blob, int i);
/* 1 if AdamW applies weight decay to tensor i: matmul weights only, not norms or wte. */
int  model_param_decays(int i);

/* inputs, targets: (B, T) token ids; weights: (B, T) or NULL (all ones). denom > 0.
 * Fills acts (logits, logprobs) and returns the loss in m->loss. Returns -1 on bad
 * shapes or ids (err says which), 0 on success. targets may be NULL: no loss. */
int  model_forward(Model *m, const int *inputs, const int *targets, const float *weights,
                   float denom, int B, int T, char *err, size_t errlen);
void model_zero_grad(Model *m);
/* Accumulates d loss / d params into m->grads for the last forward's batch. */
void model_backward(Model *m, const int *inputs, const float *weights, float denom);

/* Floating-point operations of one forward+backward on (B, T), matmuls and attention. */
double model_flops_per_step(const ModelConfig *cfg, int B, int T);

#endif
