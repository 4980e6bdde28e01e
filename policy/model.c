#include "policy/model.h"
#include "policy/kernels.h"
#include "policy/rng.h"
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const model_param_names[NUM_PARAM_TENSORS] = {
    "wte", "rms1_w", "qkv_w", "attproj_w", "rms2_w", "fc_w", "fcproj_w", "rmsf_w" };

/* ---------------------------------------------------------------- config */

/* SwiGLU's width is 8C/3 (the parameter count of a 4C GELU MLP) rounded up to a
 * multiple of 64 so the matmuls see friendly sizes. */
static int swiglu_width(int C) { int f = (8 * C + 2) / 3; return (f + 63) / 64 * 64; }

int model_config_preset(ModelConfig *cfg, const char *name, int vocab, int max_seq) {
    static const struct { const char *name; int C, L, NH; } presets[] = {
        { "tiny", 128, 4, 4 }, { "small", 256, 6, 8 }, { "base", 512, 8, 8 } };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) != 0) continue;
        cfg->vocab = vocab;
        cfg->d_model = presets[i].C;
        cfg->n_layer = presets[i].L;
        cfg->n_head = presets[i].NH;
        cfg->max_seq = max_seq;
        cfg->mlp = MLP_SWIGLU;
        cfg->mlp_hidden = swiglu_width(presets[i].C);
        return 0;
    }
    return -1;
}

const char *model_mlp_name(MlpKind k) { return k == MLP_GELU ? "gelu" : "swiglu"; }

int model_config_validate(const ModelConfig *c, char *err, size_t errlen) {
    /* Limits keep every size below 2^31 per dimension and the model below ~4G params:
     * a corrupt config must fail here, not in malloc or an index overflow. */
#define CHECK(cond, ...) do { if (!(cond)) { snprintf(err, errlen, __VA_ARGS__); return -1; } } while (0)
    CHECK(c->vocab >= 2 && c->vocab <= (1 << 24), "model config: vocab %d out of range [2, 16777216]", c->vocab);
    CHECK(c->d_model >= 2 && c->d_model <= 65536, "model config: d_model %d out of range [2, 65536]", c->d_model);
    CHECK(c->n_layer >= 1 && c->n_layer <= 1024, "model config: n_layer %d out of range [1, 1024]", c->n_layer);
    CHECK(c->n_head >= 1 && c->n_head <= c->d_model, "model config: n_head %d out of range [1, d_model]", c->n_head);
    CHECK(c->d_model % c->n_head == 0, "model config: d_model %d is not a multiple of n_head %d", c->d_model, c->n_head);
    CHECK((c->d_model / c->n_head) % 2 == 0, "model config: head size %d must be even for rotary embeddings", c->d_model / c->n_head);
    CHECK(c->max_seq >= 1 && c->max_seq <= 65536, "model config: max_seq %d out of range [1, 65536]", c->max_seq);
    CHECK(c->mlp_hidden >= 1 && c->mlp_hidden <= 262144, "model config: mlp_hidden %d out of range [1, 262144]", c->mlp_hidden);
    CHECK(c->mlp == MLP_SWIGLU || c->mlp == MLP_GELU, "model config: unknown mlp kind %d", (int)c->mlp);
    double params = (double)c->vocab * c->d_model +
                    (double)c->n_layer * c->d_model * (4.0 * c->d_model + 3.0 * c->mlp_hidden + 2.0);
    CHECK(params < 4e9, "model config: %.3g parameters is more than this build supports", params);
#undef CHECK
    return 0;
}

char *model_config_to_json(const ModelConfig *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "vocab", c->vocab);
    cJSON_AddNumberToObject(o, "d_model", c->d_model);
    cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(o, "n_head", c->n_head);
    cJSON_AddNumberToObject(o, "max_seq", c->max_seq);
    cJSON_AddNumberToObject(o, "mlp_hidden", c->mlp_hidden);
    cJSON_AddStringToObject(o, "mlp", model_mlp_name(c->mlp));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int json_int_field(const cJSON *o, const char *key, int *out, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < -2147483648.0 || v->valuedouble > 2147483647.0) {
        snprintf(err, errlen, "model config: field \"%s\" is missing or not an integer", key);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

int model_config_from_json(ModelConfig *c, const char *json, char *err, size_t errlen) {
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        snprintf(err, errlen, "model config: not a JSON object");
        cJSON_Delete(o);
        return -1;
    }
    int rc = 0;
    rc |= json_int_field(o, "vocab", &c->vocab, err, errlen);
    if (!rc) rc |= json_int_field(o, "d_model", &c->d_model, err, errlen);
    if (!rc) rc |= json_int_field(o, "n_layer", &c->n_layer, err, errlen);
    if (!rc) rc |= json_int_field(o, "n_head", &c->n_head, err, errlen);
    if (!rc) rc |= json_int_field(o, "max_seq", &c->max_seq, err, errlen);
    if (!rc) rc |= json_int_field(o, "mlp_hidden", &c->mlp_hidden, err, errlen);
    if (!rc) {
        const cJSON *mlp = cJSON_GetObjectItemCaseSensitive(o, "mlp");
        if (cJSON_IsString(mlp) && strcmp(mlp->valuestring, "swiglu") == 0) c->mlp = MLP_SWIGLU;
        else if (cJSON_IsString(mlp) && strcmp(mlp->valuestring, "gelu") == 0) c->mlp = MLP_GELU;
        else { snprintf(err, errlen, "model config: field \"mlp\" must be \"swiglu\" or \"gelu\""); rc = -1; }
    }
    cJSON_Delete(o);
    if (rc) return -1;
    return model_config_validate(c, err, errlen);
}

/* ---------------------------------------------------------------- parameters */

static int fc_rows(const ModelConfig *c) { return c->mlp == MLP_SWIGLU ? 2 * c->mlp_hidden : c->mlp_hidden; }

static void param_sizes(const ModelConfig *c, size_t s[NUM_PARAM_TENSORS]) {
    size_t V = c->vocab, C = c->d_model, L = c->n_layer, F = c->mlp_hidden, F2 = fc_rows(c);
    s[0] = V * C;
    s[1] = L * C;
    s[2] = L * 3 * C * C;
    s[3] = L * C * C;
    s[4] = L * C;
    s[5] = L * F2 * C;
    s[6] = L * C * F;
    s[7] = C;
}

static void point_tensors(ParamTensors *t, float *blob, const size_t s[NUM_PARAM_TENSORS]) {
    float **views[NUM_PARAM_TENSORS] = { &t->wte, &t->rms1_w, &t->qkv_w, &t->attproj_w,
                                         &t->rms2_w, &t->fc_w, &t->fcproj_w, &t->rmsf_w };
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) { *views[i] = blob; blob += s[i]; }
}

size_t model_config_num_params(const ModelConfig *cfg) {
    size_t s[NUM_PARAM_TENSORS], n = 0;
    param_sizes(cfg, s);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) n += s[i];
    return n;
}

float *model_tensor(const Model *m, float *blob, int i) {
    for (int j = 0; j < i; j++) blob += m->param_sizes[j];
    return blob;
}

int model_param_decays(int i) { return i == 2 || i == 3 || i == 5 || i == 6; }

static int is_norm(int i) { return i == 1 || i == 4 || i == 7; }

int model_create(Model *m, const ModelConfig *cfg, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    if (model_config_validate(cfg, err, errlen)) return -1;
    m->cfg = *cfg;
    param_sizes(cfg, m->param_sizes);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) m->num_params += m->param_sizes[i];
    int half = cfg->d_model / cfg->n_head / 2;
    m->params_memory = calloc(m->num_params, sizeof(float));
    m->grads_memory = calloc(m->num_params, sizeof(float));
    m->rope_cos = malloc((size_t)cfg->max_seq * half * sizeof(float));
    m->rope_sin = malloc((size_t)cfg->max_seq * half * sizeof(float));
    if (!m->params_memory || !m->grads_memory || !m->rope_cos || !m->rope_sin) {
        snprintf(err, errlen, "model: out of memory for %zu parameters", m->num_params);
        model_free(m);
        return -1;
    }
    point_tensors(&m->params, m->params_memory, m->param_sizes);
    point_tensors(&m->grads, m->grads_memory, m->param_sizes);
    /* RoPE tables in double, rounded once: the same angles the reference computes. */
    int hs = cfg->d_model / cfg->n_head;
    for (int t = 0; t < cfg->max_seq; t++)
        for (int i = 0; i < half; i++) {
            double freq = pow(10000.0, -2.0 * i / hs), a = t * freq;
            m->rope_cos[(size_t)t * half + i] = (float)cos(a);
            m->rope_sin[(size_t)t * half + i] = (float)sin(a);
        }
    return 0;
}

void model_free(Model *m) {
    free(m->params_memory);
    free(m->grads_memory);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->acts_memory);
    free(m->scratch_memory);
    memset(m, 0, sizeof *m);
}

void model_init(Model *m, uint64_t seed) {
    /* Uniform in +-0.035 has std 0.02, the GPT-2 scale. Exactly reproducible: the
     * value is formed in double from 24 random bits and rounded to float once. */
    Rng r;
    rng_seed(&r, seed);
    float *p = m->params_memory;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        for (size_t j = 0; j < m->param_sizes[i]; j++) {
            double u = (double)(rng_next(&r) >> 40) * (1.0 / 16777216.0);
            *p++ = is_norm(i) ? (float)(1.0 + (2.0 * u - 1.0) * 0.1)
                              : (float)((2.0 * u - 1.0) * 0.035);
        }
}

/* ---------------------------------------------------------------- activations */

static size_t acts_layout(const ModelConfig *c, int B, int T, Activations *a, float *blob) {
    size_t N = (size_t)B * T, C = c->d_model, L = c->n_layer, NH = c->n_head;
    size_t F = c->mlp_hidden, F2 = fc_rows(c), V = c->vocab;
    size_t sizes[] = { N * C, L * N * C, L * N, L * N * 3 * C, L * B * NH * T * T, L * N * C,
                       L * N * C, L * N * C, L * N, L * N * F2, L * N * F, L * N * C,
                       N * C, N, N * V, N, N };
    float **views[] = { &a->encoded, &a->ln1, &a->ln1_rstd, &a->qkv, &a->att, &a->atty,
                        &a->res2, &a->ln2, &a->ln2_rstd, &a->fch, &a->fch_act, &a->res3,
                        &a->lnf, &a->lnf_rstd, &a->logits, &a->logprobs, &a->lse };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (blob) *views[i] = blob + total;
        total += sizes[i];
    }
    return total;
}

static size_t scratch_layout(const ModelConfig *c, int B, int T, GradScratch *g, float *blob) {
    size_t N = (size_t)B * T, C = c->d_model, NH = c->n_head;
    size_t F = c->mlp_hidden, F2 = fc_rows(c), V = c->vocab;
    size_t sizes[] = { N * C, N * C, N * 3 * C, B * NH * T * T, N * C, N * F2, N * F, N * V };
    float **views[] = { &g->dres, &g->dln, &g->dqkv, &g->datt, &g->datty, &g->dfch,
                        &g->dfch_act, &g->dlogits };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (blob) *views[i] = blob + total;
        total += sizes[i];
    }
    return total;
}

/* Make room for (B, T) and point the views. Allocation happens on the first call and
 * again only when a larger batch arrives. */
static int grow(float **mem, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    free(*mem);
    *mem = malloc(need * sizeof(float));
    *cap = *mem ? need : 0;
    return *mem ? 0 : -1;
}

static int ensure_acts(Model *m, int B, int T, char *err, size_t errlen) {
    size_t need = acts_layout(&m->cfg, B, T, &m->acts, NULL);
    size_t need_s = scratch_layout(&m->cfg, B, T, &m->scratch, NULL);
    if (grow(&m->acts_memory, &m->acts_cap, need) || grow(&m->scratch_memory, &m->scratch_cap, need_s)) {
        snprintf(err, errlen, "model: out of memory for activations of batch %dx%d", B, T);
        return -1;
    }
    acts_layout(&m->cfg, B, T, &m->acts, m->acts_memory);
    scratch_layout(&m->cfg, B, T, &m->scratch, m->scratch_memory);
    return 0;
}

/* ---------------------------------------------------------------- forward */

int model_forward(Model *m, const int *inputs, const int *targets, const float *weights,
                  float denom, int B, int T, char *err, size_t errlen) {
    const ModelConfig *c = &m->cfg;
    if (B < 1 || T < 1 || T > c->max_seq) {
        snprintf(err, errlen, "model_forward: batch %dx%d does not fit the context of %d", B, T, c->max_seq);
        return -1;
    }
    int N = B * T, C = c->d_model, NH = c->n_head, F = c->mlp_hidden, F2 = fc_rows(c), V = c->vocab;
    for (int i = 0; i < N; i++)
        if (inputs[i] < 0 || inputs[i] >= V || (targets && (targets[i] < 0 || targets[i] >= V))) {
            snprintf(err, errlen, "model_forward: token id %d at position %d is outside the vocabulary of %d",
                     (inputs[i] < 0 || inputs[i] >= V) ? inputs[i] : targets[i], i, V);
            return -1;
        }
    if (targets && !(denom > 0.0f)) {
        snprintf(err, errlen, "model_forward: loss denominator must be positive, got %g", denom);
        return -1;
    }
    if (ensure_acts(m, B, T, err, errlen)) return -1;
    m->B = B;
    m->T = T;
    m->targets = targets;
    const ParamTensors *p = &m->params;
    Activations *a = &m->acts;

    encoder_forward(a->encoded, inputs, p->wte, N, C);
    for (int l = 0; l < c->n_layer; l++) {
        size_t nc = (size_t)N * C;
        const float *x = l == 0 ? a->encoded : a->res3 + (l - 1) * nc;
        float *ln1 = a->ln1 + l * nc, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        float *qkv = a->qkv + 3 * l * nc, *att = a->att + (size_t)l * B * NH * T * T;
        float *atty = a->atty + l * nc, *res2 = a->res2 + l * nc;
        float *ln2 = a->ln2 + l * nc, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        float *fch = a->fch + (size_t)l * N * F2, *fch_act = a->fch_act + (size_t)l * N * F;
        float *res3 = a->res3 + l * nc;

        rmsnorm_forward(ln1, ln1_rstd, x, p->rms1_w + l * C, N, C);
        matmul_forward(qkv, ln1, p->qkv_w + (size_t)l * 3 * C * C, N, C, 3 * C);
        rope_forward(qkv, m->rope_cos, m->rope_sin, B, T, C, NH);
        attention_forward(atty, att, qkv, B, T, C, NH);
        matmul_forward(res2, atty, p->attproj_w + (size_t)l * C * C, N, C, C);
        residual_forward(res2, res2, x, nc);
        rmsnorm_forward(ln2, ln2_rstd, res2, p->rms2_w + l * C, N, C);
        matmul_forward(fch, ln2, p->fc_w + (size_t)l * F2 * C, N, C, F2);
        if (c->mlp == MLP_SWIGLU) swiglu_forward(fch_act, fch, N, F);
        else gelu_forward(fch_act, fch, N, F);
        matmul_forward(res3, fch_act, p->fcproj_w + (size_t)l * C * F, N, F, C);
        residual_forward(res3, res3, res2, nc);
    }
    const float *last = a->res3 + (size_t)(c->n_layer - 1) * N * C;
    rmsnorm_forward(a->lnf, a->lnf_rstd, last, p->rmsf_w, N, C);
    matmul_forward(a->logits, a->lnf, p->wte, N, C, V);
    m->loss = targets ? logprob_loss_forward(a->logprobs, a->lse, a->logits, targets, weights, denom, N, V) : 0.0;
    return 0;
}

/* ---------------------------------------------------------------- backward */

void model_zero_grad(Model *m) { memset(m->grads_memory, 0, m->num_params * sizeof(float)); }

void model_backward(Model *m, const int *inputs, const float *weights, float denom) {
    const ModelConfig *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->d_model, NH = c->n_head;
    int F = c->mlp_hidden, F2 = fc_rows(c), V = c->vocab;
    size_t nc = (size_t)N * C;
    const ParamTensors *p = &m->params;
    ParamTensors *g = &m->grads;
    const Activations *a = &m->acts;
    GradScratch *s = &m->scratch;

    logprob_loss_backward(s->dlogits, a->logits, a->lse, m->targets, weights, denom, N, V);
    matmul_backward(s->dln, g->wte, s->dlogits, a->lnf, p->wte, N, C, V, 0);
    memset(s->dres, 0, nc * sizeof(float));
    const float *last = a->res3 + (size_t)(c->n_layer - 1) * nc;
    rmsnorm_backward(s->dres, g->rmsf_w, s->dln, last, p->rmsf_w, a->lnf_rstd, N, C);

    /* s->dres holds d loss / d (layer l's output); each branch's backward adds its
     * share into it, leaving d loss / d (layer l's input). */
    for (int l = c->n_layer - 1; l >= 0; l--) {
        const float *x = l == 0 ? a->encoded : a->res3 + (l - 1) * nc;
        const float *ln1 = a->ln1 + l * nc, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        const float *qkv = a->qkv + 3 * l * nc, *att = a->att + (size_t)l * B * NH * T * T;
        const float *atty = a->atty + l * nc, *res2 = a->res2 + l * nc;
        const float *ln2 = a->ln2 + l * nc, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        const float *fch = a->fch + (size_t)l * N * F2, *fch_act = a->fch_act + (size_t)l * N * F;

        /* MLP branch: res3 = res2 + fcproj(act(fc(rmsnorm(res2)))) */
        matmul_backward(s->dfch_act, g->fcproj_w + (size_t)l * C * F, s->dres, fch_act,
                        p->fcproj_w + (size_t)l * C * F, N, F, C, 0);
        if (c->mlp == MLP_SWIGLU) swiglu_backward(s->dfch, s->dfch_act, fch, N, F);
        else gelu_backward(s->dfch, s->dfch_act, fch, N, F);
        matmul_backward(s->dln, g->fc_w + (size_t)l * F2 * C, s->dfch, ln2,
                        p->fc_w + (size_t)l * F2 * C, N, C, F2, 0);
        rmsnorm_backward(s->dres, g->rms2_w + l * C, s->dln, res2, p->rms2_w + l * C, ln2_rstd, N, C);

        /* attention branch: res2 = x + attproj(attention(rope(qkv(rmsnorm(x))))) */
        matmul_backward(s->datty, g->attproj_w + (size_t)l * C * C, s->dres, atty,
                        p->attproj_w + (size_t)l * C * C, N, C, C, 0);
        attention_backward(s->dqkv, s->datt, s->datty, qkv, att, B, T, C, NH);
        rope_backward(s->dqkv, m->rope_cos, m->rope_sin, B, T, C, NH);
        matmul_backward(s->dln, g->qkv_w + (size_t)l * 3 * C * C, s->dqkv, ln1,
                        p->qkv_w + (size_t)l * 3 * C * C, N, C, 3 * C, 0);
        rmsnorm_backward(s->dres, g->rms1_w + l * C, s->dln, x, p->rms1_w + l * C, ln1_rstd, N, C);
    }
    encoder_backward(g->wte, s->dres, inputs, N, C);
}

double model_flops_per_step(const ModelConfig *c, int B, int T) {
    /* Training = 3x forward (backward does two matmuls per forward one). Forward per
     * token: 2 flops per matmul weight, plus causal attention (q k^T and P v over the
     * T/2 earlier positions on average): 2 * 2 * (T/2) * C per layer. */
    double C = c->d_model, F = c->mlp_hidden, F2 = fc_rows(c), V = c->vocab, L = c->n_layer;
    double matmul = L * (3 * C * C + C * C + F2 * C + F * C) + V * C;
    double fwd_per_token = 2.0 * matmul + L * 2.0 * T * C;
    return 3.0 * fwd_per_token * B * T;
}
