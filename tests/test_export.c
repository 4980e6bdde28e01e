/* test_export: `rlvr export --llama2c` writes a file llama2.c's run.c computes our
 * model from.
 *
 * Two kinds of evidence. The file is read back and every header field and tensor is
 * compared with the model's parameters bit for bit. And a small single-token forward
 * written here the way run.c computes it (RMSNorm, matmuls, RoPE on interleaved pairs
 * with angles from powf, attention over a KV cache, SwiGLU, classifier = embedding),
 * reading nothing but the exported file, must give model_forward's logits within 1e-4
 * of their scale. The weights are scaled up so that attention is far from uniform and
 * the MLP matters, and the same forward with RoPE on split halves or with w1 and w3
 * swapped must miss by far more: the comparison can tell a wrong layout apart. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/commands.h"
#include "engine/export.h"
#include "policy/checkpoint.h"
#include "policy/tokenizer.h"
#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/test_util.h"

static char g_dir[64]; /* the test's mkdtemp directory */

/* ---------------------------------------------------------------- fixtures */

static ModelConfig small_config(MlpKind mlp) {
    ModelConfig c = { .vocab = 64, .d_model = 32, .n_layer = 2, .n_head = 2, .max_seq = 16,
                      .mlp_hidden = mlp == MLP_SWIGLU ? 96 : 128, .mlp = mlp };
    return c;
}

static void scale(float *x, size_t n, float s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* model_init's std 0.02 makes attention nearly uniform and the MLP nearly silent, where
 * a wrong RoPE or a swapped gate would hardly move the logits; these scales give
 * attention scores and gate pre-activations of order 1. */
static void make_model(Model *m, const ModelConfig *c) {
    char err[256];
    assert_int_equal(model_create(m, c, err, sizeof err), 0);
    model_init(m, 4242);
    size_t C = (size_t)c->d_model, F = (size_t)c->mlp_hidden, L = (size_t)c->n_layer;
    size_t fc_rows = c->mlp == MLP_SWIGLU ? 2 * F : F;
    scale(m->params.wte, (size_t)c->vocab * C, 20.0f);
    scale(m->params.qkv_w, L * 3 * C * C, 12.0f);
    scale(m->params.attproj_w, L * C * C, 10.0f);
    scale(m->params.fc_w, L * fc_rows * C, 10.0f);
    scale(m->params.fcproj_w, L * C * F, 10.0f);
}

static void path_in_dir(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", g_dir, name);
}

static void save_checkpoint(const Model *m, const char *name, const char *extra_json) {
    char path[256], err[512];
    path_in_dir(path, sizeof path, name);
    CheckpointMeta meta = { .step = 3, .rng_state = 1, .extra_json = (char *)extra_json };
    if (checkpoint_save(path, m, NULL, &meta, err, sizeof err)) fail_msg("%s", err);
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int files_in_dir(void) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- the file, as run.c maps it */

typedef struct {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
} L2Config;

typedef struct {
    L2Config cfg;
    const float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final;
    const float *freq_real, *freq_imag;
    size_t floats; /* tensor floats the layout accounts for */
} L2Model;

/* Lay out the tensors after the header in run.c's order; the file's size must match. */
static void l2_map(L2Model *w, const unsigned char *buf, size_t size) {
    assert_true(size >= sizeof(L2Config));
    memcpy(&w->cfg, buf, sizeof w->cfg);
    const L2Config *p = &w->cfg;
    size_t C = (size_t)p->dim, F = (size_t)p->hidden_dim, L = (size_t)p->n_layers;
    size_t hs = C / (size_t)p->n_heads, V = (size_t)p->vocab_size, S = (size_t)p->seq_len;
    assert_true(((uintptr_t)buf & 3) == 0);
    const float *f = (const float *)(const void *)(buf + sizeof(L2Config)), *f0 = f;
    w->emb = f;        f += V * C;
    w->rms_att = f;    f += L * C;
    w->wq = f;         f += L * C * C;
    w->wk = f;         f += L * C * C;
    w->wv = f;         f += L * C * C;
    w->wo = f;         f += L * C * C;
    w->rms_ffn = f;    f += L * C;
    w->w1 = f;         f += L * F * C;
    w->w2 = f;         f += L * C * F;
    w->w3 = f;         f += L * F * C;
    w->rms_final = f;  f += C;
    w->freq_real = f;  f += S * hs / 2;
    w->freq_imag = f;  f += S * hs / 2;
    w->floats = (size_t)(f - f0);
    /* No classifier after the tables: positive vocab_size says it is the embedding. */
    assert_int_equal(size, sizeof(L2Config) + w->floats * sizeof(float));
}

/* ---------------------------------------------------------------- a run.c-style forward */

enum { ROPE_INTERLEAVED, ROPE_HALVES };

typedef struct {
    const L2Model *w;
    int rope;          /* ROPE_HALVES: the GPT-NeoX convention, to show it is caught */
    int swap_w1_w3;    /* gate and up exchanged, to show it is caught */
    float *x, *xb, *xb2, *hb, *hb2, *q, *k, *v, *att, *logits, *kcache, *vcache;
} L2State;

static float *l2_alloc(size_t n) {
    float *p = calloc(n, sizeof(float));
    assert_non_null(p);
    return p;
}

static void l2_state(L2State *s, const L2Model *w, int rope, int swap) {
    const L2Config *p = &w->cfg;
    size_t C = (size_t)p->dim, F = (size_t)p->hidden_dim, cache = (size_t)p->n_layers * p->seq_len * C;
    s->w = w; s->rope = rope; s->swap_w1_w3 = swap;
    s->x = l2_alloc(C); s->xb = l2_alloc(C); s->xb2 = l2_alloc(C);
    s->hb = l2_alloc(F); s->hb2 = l2_alloc(F);
    s->q = l2_alloc(C); s->k = l2_alloc(C); s->v = l2_alloc(C);
    s->att = l2_alloc((size_t)p->n_heads * p->seq_len);
    s->logits = l2_alloc((size_t)p->vocab_size);
    s->kcache = l2_alloc(cache); s->vcache = l2_alloc(cache);
}

static void l2_state_free(L2State *s) {
    float *all[] = { s->x, s->xb, s->xb2, s->hb, s->hb2, s->q, s->k, s->v, s->att, s->logits, s->kcache, s->vcache };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

static void l2_rmsnorm(float *o, const float *x, const float *g, int n) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float r = 1.0f / sqrtf(ss / n + 1e-5f);
    for (int i = 0; i < n; i++) o[i] = g[i] * (r * x[i]);
}

/* out (d) = W (d, n) x (n) */
static void l2_matmul(float *out, const float *x, const float *W, int n, int d) {
    for (int i = 0; i < d; i++) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++) acc += W[(size_t)i * n + j] * x[j];
        out[i] = acc;
    }
}

static void l2_softmax(float *x, int n) {
    float mx = x[0], sum = 0.0f;
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

static void rotate(float *a, float *b, float c, float s) {
    float x = *a, y = *b;
    *a = x * c - y * s;
    *b = x * s + y * c;
}

/* Angles as current run.c computes them: freq = 10000^(-j/hs) for the pair at even
 * offset j inside the head, in float. */
static void l2_rope(const L2State *s, int pos) {
    int C = s->w->cfg.dim, hs = C / s->w->cfg.n_heads;
    for (int h = 0; h < C / hs; h++)
        for (int j = 0; j < hs; j += 2) {
            float freq = 1.0f / powf(10000.0f, j / (float)hs), a = pos * freq;
            float c = cosf(a), sn = sinf(a);
            int i0 = h * hs + j, i1 = i0 + 1;
            if (s->rope == ROPE_HALVES) { i0 = h * hs + j / 2; i1 = i0 + hs / 2; }
            rotate(&s->q[i0], &s->q[i1], c, sn);
            rotate(&s->k[i0], &s->k[i1], c, sn);
        }
}

static void l2_attention(L2State *s, int l, int pos) {
    const L2Config *p = &s->w->cfg;
    int C = p->dim, hs = C / p->n_heads;
    const float *kc = s->kcache + (size_t)l * p->seq_len * C, *vc = s->vcache + (size_t)l * p->seq_len * C;
    for (int h = 0; h < p->n_heads; h++) {
        float *att = s->att + (size_t)h * p->seq_len, *out = s->xb + h * hs;
        const float *q = s->q + h * hs;
        for (int t = 0; t <= pos; t++) {
            float dot = 0.0f;
            for (int i = 0; i < hs; i++) dot += q[i] * kc[(size_t)t * C + h * hs + i];
            att[t] = dot / sqrtf((float)hs);
        }
        l2_softmax(att, pos + 1);
        memset(out, 0, (size_t)hs * sizeof(float));
        for (int t = 0; t <= pos; t++)
            for (int i = 0; i < hs; i++) out[i] += att[t] * vc[(size_t)t * C + h * hs + i];
    }
}

static void l2_forward(L2State *s, int token, int pos) {
    const L2Model *w = s->w;
    const L2Config *p = &w->cfg;
    int C = p->dim, F = p->hidden_dim;
    size_t CC = (size_t)C * C, CF = (size_t)C * F;
    memcpy(s->x, w->emb + (size_t)token * C, (size_t)C * sizeof(float));
    for (int l = 0; l < p->n_layers; l++) {
        l2_rmsnorm(s->xb, s->x, w->rms_att + (size_t)l * C, C);
        l2_matmul(s->q, s->xb, w->wq + l * CC, C, C);
        l2_matmul(s->k, s->xb, w->wk + l * CC, C, C);
        l2_matmul(s->v, s->xb, w->wv + l * CC, C, C);
        l2_rope(s, pos);
        size_t row = ((size_t)l * p->seq_len + pos) * C;
        memcpy(s->kcache + row, s->k, (size_t)C * sizeof(float));
        memcpy(s->vcache + row, s->v, (size_t)C * sizeof(float));
        l2_attention(s, l, pos);
        l2_matmul(s->xb2, s->xb, w->wo + l * CC, C, C);
        for (int i = 0; i < C; i++) s->x[i] += s->xb2[i];

        l2_rmsnorm(s->xb, s->x, w->rms_ffn + (size_t)l * C, C);
        const float *gate = s->swap_w1_w3 ? w->w3 : w->w1, *up = s->swap_w1_w3 ? w->w1 : w->w3;
        l2_matmul(s->hb, s->xb, gate + l * CF, C, F);
        l2_matmul(s->hb2, s->xb, up + l * CF, C, F);
        for (int i = 0; i < F; i++) s->hb[i] = s->hb[i] / (1.0f + expf(-s->hb[i])) * s->hb2[i];
        l2_matmul(s->xb, s->hb, w->w2 + l * CF, F, C);
        for (int i = 0; i < C; i++) s->x[i] += s->xb[i];
    }
    l2_rmsnorm(s->x, s->x, w->rms_final, C);
    l2_matmul(s->logits, s->x, w->emb, C, p->vocab_size);
}

/* Worst |a - b| over the largest |b|: the project's tensor comparison. */
static double rel_err(const float *a, const float *b, size_t n) {
    double worst = 0.0, big = 0.0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        big = fmax(big, fabs((double)b[i]));
    }
    return worst / big;
}

/* Export the standard model, feed T tokens through the run.c-style forward one at a
 * time, and return the worst relative error against model_forward's logits. */
static double runc_vs_model(int rope, int swap) {
    ModelConfig c = small_config(MLP_SWIGLU);
    Model m;
    make_model(&m, &c);
    save_checkpoint(&m, "fwd.ckpt", NULL);
    char ckpt[256], out[256], err[512];
    path_in_dir(ckpt, sizeof ckpt, "fwd.ckpt");
    path_in_dir(out, sizeof out, "fwd.bin");
    if (export_llama2c(ckpt, out, err, sizeof err)) fail_msg("%s", err);
    size_t size;
    unsigned char *buf = read_all(out, &size);
    L2Model w;
    l2_map(&w, buf, size);

    enum { T = 16 };
    int tokens[T];
    for (int t = 0; t < T; t++) tokens[t] = (t * 37 + 11) % c.vocab;
    if (model_forward(&m, tokens, NULL, NULL, 1.0f, 1, T, err, sizeof err)) fail_msg("%s", err);
    L2State s;
    l2_state(&s, &w, rope, swap);
    double worst = 0.0;
    for (int t = 0; t < T; t++) {
        l2_forward(&s, tokens[t], t);
        worst = fmax(worst, rel_err(s.logits, m.acts.logits + (size_t)t * c.vocab, (size_t)c.vocab));
    }
    l2_state_free(&s);
    free(buf);
    model_free(&m);
    return worst;
}

/* ---------------------------------------------------------------- tests */

static void test_header_and_tensors_are_exact(void **state) {
    (void)state;
    ModelConfig c = small_config(MLP_SWIGLU);
    Model m;
    make_model(&m, &c);
    save_checkpoint(&m, "exact.ckpt", NULL);
    char ckpt[256], out[256], err[512];
    path_in_dir(ckpt, sizeof ckpt, "exact.ckpt");
    path_in_dir(out, sizeof out, "exact.bin");
    int before = files_in_dir();
    Llama2cExportInfo info;
    if (export_llama2c_info(ckpt, out, &info, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(info.wrote_tokenizer, 0);
    assert_non_null(strstr(info.note, "no tokenizer"));
    assert_int_equal(files_in_dir(), before + 1); /* the model, no temporary left over */

    size_t size;
    unsigned char *buf = read_all(out, &size);
    L2Model w;
    l2_map(&w, buf, size);
    const L2Config *p = &w.cfg;
    assert_int_equal(p->dim, 32);
    assert_int_equal(p->hidden_dim, 96);
    assert_int_equal(p->n_layers, 2);
    assert_int_equal(p->n_heads, 2);
    assert_int_equal(p->n_kv_heads, 2);
    assert_int_equal(p->vocab_size, 64); /* positive: classifier shared with the embedding */
    assert_int_equal(p->seq_len, 16);

    size_t C = 32, F = 96, L = 2, V = 64, CC = C * C, FC = F * C, half = 8;
    const ParamTensors *t = &m.params;
    assert_memory_equal(w.emb, t->wte, V * C * sizeof(float));
    assert_memory_equal(w.rms_att, t->rms1_w, L * C * sizeof(float));
    for (size_t l = 0; l < L; l++) {
        const float *qkv = t->qkv_w + l * 3 * CC, *fc = t->fc_w + l * 2 * FC;
        assert_memory_equal(w.wq + l * CC, qkv, CC * sizeof(float));
        assert_memory_equal(w.wk + l * CC, qkv + CC, CC * sizeof(float));
        assert_memory_equal(w.wv + l * CC, qkv + 2 * CC, CC * sizeof(float));
        assert_memory_equal(w.w1 + l * FC, fc, FC * sizeof(float));
        assert_memory_equal(w.w3 + l * FC, fc + FC, FC * sizeof(float));
    }
    assert_memory_equal(w.wo, t->attproj_w, L * CC * sizeof(float));
    assert_memory_equal(w.rms_ffn, t->rms2_w, L * C * sizeof(float));
    assert_memory_equal(w.w2, t->fcproj_w, L * C * F * sizeof(float));
    assert_memory_equal(w.rms_final, t->rmsf_w, C * sizeof(float));
    assert_memory_equal(w.freq_real, m.rope_cos, 16 * half * sizeof(float));
    assert_memory_equal(w.freq_imag, m.rope_sin, 16 * half * sizeof(float));
    /* ... and those are the angles run.c computes itself: pos * 10000^(-2i/hs). */
    for (int pos = 0; pos < 16; pos++)
        for (int i = 0; i < (int)half; i++) {
            float a = pos * (1.0f / powf(10000.0f, 2 * i / 16.0f));
            assert_true(fabsf(w.freq_real[pos * half + i] - cosf(a)) < 1e-5f);
            assert_true(fabsf(w.freq_imag[pos * half + i] - sinf(a)) < 1e-5f);
        }
    free(buf);
    model_free(&m);
}

static void test_runc_forward_matches_model(void **state) {
    (void)state;
    double e = runc_vs_model(ROPE_INTERLEAVED, 0);
    printf("  run.c-style forward vs model_forward: worst relative logit error %.3g\n", e);
    assert_true(e <= 1e-4);
}

static void test_wrong_layouts_are_caught(void **state) {
    (void)state;
    double halves = runc_vs_model(ROPE_HALVES, 0), swapped = runc_vs_model(ROPE_INTERLEAVED, 1);
    printf("  RoPE on halves: %.3g, w1/w3 swapped: %.3g (each must exceed 1e-2)\n", halves, swapped);
    assert_true(halves > 1e-2);
    assert_true(swapped > 1e-2);
}

static void test_gelu_is_refused(void **state) {
    (void)state;
    ModelConfig c = small_config(MLP_GELU);
    Model m;
    make_model(&m, &c);
    save_checkpoint(&m, "gelu.ckpt", NULL);
    model_free(&m);
    char ckpt[256], out[256], err[512] = "";
    path_in_dir(ckpt, sizeof ckpt, "gelu.ckpt");
    path_in_dir(out, sizeof out, "gelu.bin");
    assert_int_equal(export_llama2c(ckpt, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "gelu.ckpt"));
    assert_non_null(strstr(err, "gelu"));
    assert_non_null(strstr(err, "SwiGLU"));
    assert_false(file_exists(out));
}

static void test_missing_checkpoint_is_named(void **state) {
    (void)state;
    char ckpt[256], out[256], err[512] = "";
    path_in_dir(ckpt, sizeof ckpt, "no-such.ckpt");
    path_in_dir(out, sizeof out, "none.bin");
    assert_int_equal(export_llama2c(ckpt, out, err, sizeof err), -1);
    assert_non_null(strstr(err, ckpt));
    assert_false(file_exists(out));
}

/* A corpus with enough repetition for a few dozen merges. */
static const char *CORPUS =
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
    "clips in May. How many clips did Natalia sell altogether in April and May? "
    "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether.";

static char *tokenizer_extra(const Tokenizer *t) {
    char *tj = tokenizer_to_json(t);
    assert_non_null(tj);
    size_t n = strlen(tj) + 32;
    char *extra = malloc(n);
    assert_non_null(extra);
    snprintf(extra, n, "{\"tokenizer\":%s}", tj);
    free(tj);
    return extra;
}

static void test_tokenizer_is_written(void **state) {
    (void)state;
    char err[512];
    Tokenizer tok;
    size_t clen = strlen(CORPUS);
    if (tokenizer_train(&tok, &CORPUS, &clen, 1, 300, err, sizeof err)) fail_msg("%s", err);
    ModelConfig c = small_config(MLP_SWIGLU);
    c.vocab = 320; /* more ids than the tokenizer: the rest get placeholders */
    assert_true(tok.vocab_size <= c.vocab && tok.vocab_size > TOKENIZER_FIRST_MERGE);
    Model m;
    make_model(&m, &c);
    char *extra = tokenizer_extra(&tok);
    save_checkpoint(&m, "tok.ckpt", extra);
    free(extra);
    model_free(&m);

    char ckpt[256], out[256], tpath[256];
    path_in_dir(ckpt, sizeof ckpt, "tok.ckpt");
    path_in_dir(out, sizeof out, "tok.bin");
    path_in_dir(tpath, sizeof tpath, "tok.tokenizer.bin");
    Llama2cExportInfo info;
    if (export_llama2c_info(ckpt, out, &info, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(info.wrote_tokenizer, 1);
    assert_string_equal(info.tokenizer_path, tpath);

    /* max_token_length, then per id: score -id, length, bytes. */
    size_t size, off = 4;
    unsigned char *b = read_all(tpath, &size);
    int32_t max_len, longest = 0;
    memcpy(&max_len, b, 4);
    for (int id = 0; id < c.vocab; id++) {
        float score;
        int32_t len;
        assert_true(off + 8 <= size);
        memcpy(&score, b + off, 4);
        memcpy(&len, b + off + 4, 4);
        off += 8;
        assert_true(score == -(float)id);
        assert_true(len >= 1 && off + (size_t)len <= size);
        size_t want_len;
        char name[32];
        const unsigned char *want = tokenizer_token_bytes(&tok, id, &want_len);
        if (id >= tok.vocab_size) {
            want_len = (size_t)snprintf(name, sizeof name, "<|unused_%d|>", id);
            want = (const unsigned char *)name;
        }
        assert_int_equal(len, want_len);
        assert_memory_equal(b + off, want, want_len);
        off += (size_t)len;
        longest = len > longest ? len : longest;
    }
    assert_int_equal(off, size);
    assert_int_equal(max_len, longest);
    free(b);
    tokenizer_free(&tok);
}

static void test_damaged_tokenizer_fails_before_writing(void **state) {
    (void)state;
    ModelConfig c = small_config(MLP_SWIGLU);
    Model m;
    make_model(&m, &c);
    save_checkpoint(&m, "badtok.ckpt", "{\"tokenizer\":{\"format\":\"nope\"}}");
    model_free(&m);
    char ckpt[256], out[256], err[512] = "";
    path_in_dir(ckpt, sizeof ckpt, "badtok.ckpt");
    path_in_dir(out, sizeof out, "badtok.bin");
    assert_int_equal(export_llama2c(ckpt, out, err, sizeof err), -1);
    assert_non_null(strstr(err, "badtok.ckpt: tokenizer"));
    assert_false(file_exists(out));
}

static void test_command_exit_codes(void **state) {
    (void)state;
    char ckpt[256], out[256];
    ModelConfig c = small_config(MLP_SWIGLU);
    Model m;
    make_model(&m, &c);
    save_checkpoint(&m, "cli.ckpt", NULL);
    model_free(&m);
    path_in_dir(ckpt, sizeof ckpt, "cli.ckpt");
    path_in_dir(out, sizeof out, "cli.bin");
    char *help[] = { "--help" }, *none[] = { NULL }, *wrong[] = { "--gguf", ckpt, out };
    char *missing[] = { "--llama2c", "/nonexistent/x.ckpt", out }, *ok[] = { "--llama2c", ckpt, out };
    assert_int_equal(cmd_export(1, help), 0);
    assert_int_equal(cmd_export(0, none), 2);
    assert_int_equal(cmd_export(3, wrong), 2);
    assert_int_equal(cmd_export(3, missing), 1);
    assert_int_equal(cmd_export(3, ok), 0);
    assert_true(file_exists(out));
}

/* ---------------------------------------------------------------- main */

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-export-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return test_dir_remove(g_dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_tensors_are_exact),
        cmocka_unit_test(test_runc_forward_matches_model),
        cmocka_unit_test(test_wrong_layouts_are_caught),
        cmocka_unit_test(test_gelu_is_refused),
        cmocka_unit_test(test_missing_checkpoint_is_named),
        cmocka_unit_test(test_tokenizer_is_written),
        cmocka_unit_test(test_damaged_tokenizer_fails_before_writing),
        cmocka_unit_test(test_command_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
