#include "policy/decode.h"
#include "policy/kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int decoder_create(Decoder *d, const Model *m, int slots, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    const ModelConfig *c = &m->cfg;
    if (slots < 1) { snprintf(err, errlen, "decoder: need at least one sequence slot"); return -1; }
    size_t n = (size_t)c->n_layer * slots * c->max_seq * c->d_model;
    d->model = m;
    d->slots = slots;
    d->key_cache = malloc(n * sizeof(float));
    d->value_cache = malloc(n * sizeof(float));
    if (!d->key_cache || !d->value_cache) {
        snprintf(err, errlen, "decoder: out of memory for a KV cache of %d sequences x %d positions", slots, c->max_seq);
        decoder_free(d);
        return -1;
    }
    return 0;
}

void decoder_free(Decoder *d) {
    free(d->key_cache);
    free(d->value_cache);
    free(d->scratch);
    memset(d, 0, sizeof *d);
}

/* Scratch for R rows: x, ln, qkv, atty, tmp, fch, fch_act, attention scores, rstd. */
static int ensure_rows(Decoder *d, int R) {
    if (R <= d->row_cap) return 0;
    const ModelConfig *c = &d->model->cfg;
    size_t C = c->d_model, F = c->mlp_hidden, F2 = c->mlp == MLP_SWIGLU ? 2 * F : F;
    size_t per_row = C + C + 3 * C + C + C + F2 + F + (size_t)c->n_head * c->max_seq + 1;
    float *s = malloc((size_t)R * per_row * sizeof(float));
    if (!s) return -1;
    free(d->scratch);
    d->scratch = s;
    d->row_cap = R;
    d->x = s;          s += (size_t)R * C;
    d->ln = s;         s += (size_t)R * C;
    d->qkv = s;        s += (size_t)R * 3 * C;
    d->atty = s;       s += (size_t)R * C;
    d->tmp = s;        s += (size_t)R * C;
    d->fch = s;        s += (size_t)R * F2;
    d->fch_act = s;    s += (size_t)R * F;
    d->att = s;        /* scores (R, NH, max_seq), then rstd (R) */
    return 0;
}

int decoder_forward(Decoder *d, const int *tokens, const int *pos, const int *slot, int R,
                    const unsigned char *want_logits, float *logits, char *err, size_t errlen) {
    const Model *m = d->model;
    const ModelConfig *c = &m->cfg;
    const ParamTensors *p = &m->params;
    int C = c->d_model, NH = c->n_head, F = c->mlp_hidden, V = c->vocab, T = c->max_seq;
    int F2 = c->mlp == MLP_SWIGLU ? 2 * F : F;
    for (int r = 0; r < R; r++) {
        if (tokens[r] < 0 || tokens[r] >= V || pos[r] < 0 || pos[r] >= T || slot[r] < 0 || slot[r] >= d->slots) {
            snprintf(err, errlen, "decoder: row %d has token %d at position %d of slot %d (vocab %d, context %d, %d slots)",
                     r, tokens[r], pos[r], slot[r], V, T, d->slots);
            return -1;
        }
    }
    if (ensure_rows(d, R)) { snprintf(err, errlen, "decoder: out of memory for %d rows", R); return -1; }
    float *rstd = d->att + (size_t)R * NH * T;
    size_t layer_cache = (size_t)d->slots * T * C;

    encoder_forward(d->x, tokens, p->wte, R, C);
    for (int l = 0; l < c->n_layer; l++) {
        float *kc = d->key_cache + l * layer_cache, *vc = d->value_cache + l * layer_cache;
        rmsnorm_forward(d->ln, rstd, d->x, p->rms1_w + (size_t)l * C, R, C);
        matmul_forward(d->qkv, d->ln, p->qkv_w + (size_t)l * 3 * C * C, R, C, 3 * C);
        rope_rows_forward(d->qkv, pos, m->rope_cos, m->rope_sin, R, C, NH);
        /* every row's key and value go into the cache before any row attends */
        int hs = C / NH;
        for (int r = 0; r < R; r++)
            for (int h = 0; h < NH; h++) {
                size_t head = ((size_t)slot[r] * NH + h) * T * hs;
                const float *k = d->qkv + (size_t)r * 3 * C + C + h * hs;
                for (int i = 0; i < hs; i++) kc[head + (size_t)i * T + pos[r]] = k[i];
                memcpy(vc + head + (size_t)pos[r] * hs, k + C, (size_t)hs * sizeof(float));
            }
        attention_cached_forward(d->atty, d->att, d->qkv, kc, vc, pos, slot, R, C, NH, T);
        matmul_forward(d->tmp, d->atty, p->attproj_w + (size_t)l * C * C, R, C, C);
        residual_forward(d->x, d->x, d->tmp, (size_t)R * C);
        rmsnorm_forward(d->ln, rstd, d->x, p->rms2_w + (size_t)l * C, R, C);
        matmul_forward(d->fch, d->ln, p->fc_w + (size_t)l * F2 * C, R, C, F2);
        if (c->mlp == MLP_SWIGLU) swiglu_forward(d->fch_act, d->fch, R, F);
        else gelu_forward(d->fch_act, d->fch, R, F);
        matmul_forward(d->tmp, d->fch_act, p->fcproj_w + (size_t)l * C * F, R, F, C);
        residual_forward(d->x, d->x, d->tmp, (size_t)R * C);
    }
    /* The classifier is the biggest matmul at small batch: run it only on wanted rows,
     * gathered to the front of x. */
    int n = 0;
    for (int r = 0; r < R; r++) {
        if (want_logits && !want_logits[r]) continue;
        if (n != r) memcpy(d->x + (size_t)n * C, d->x + (size_t)r * C, (size_t)C * sizeof(float));
        n++;
    }
    if (n == 0) return 0;
    rmsnorm_forward(d->ln, rstd, d->x, p->rmsf_w, n, C);
    matmul_forward(logits, d->ln, p->wte, n, C, V);
    return 0;
}
