/* rlvr export --llama2c: an rlvr checkpoint as karpathy/llama2.c's legacy model file
 * (and tokenizer.bin). The layout follows run.c's checkpoint reader and export.py's
 * legacy_export; see engine/export.h. */
#include "engine/export.h"
#include "engine/commands.h"
#include "policy/atomicfile.h"
#include "policy/checkpoint.h"
#include "policy/tokenizer.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the model file */

/* run.c computes tensor offsets and KV-cache sizes in int: refuse a model whose
 * products would overflow there rather than hand it a file it misreads. */
static int check_run_c_limits(const ModelConfig *c, const char *out, char *err, size_t errlen) {
    double C = c->d_model, F = c->mlp_hidden, L = c->n_layer, V = c->vocab, S = c->max_seq;
    double worst = fmax(fmax(V * C, L * C * C), fmax(L * C * F, L * S * C));
    if (worst > INT_MAX) {
        snprintf(err, errlen, "%s: model too large for llama2.c (run.c's int offsets reach %.3g > %d)",
                 out, worst, INT_MAX);
        return -1;
    }
    return 0;
}

/* count floats from offset first of each layer's block of per_layer floats, layer after
 * layer: how q, k, v come out of qkv_w and gate, up out of fc_w. */
static void write_layer_rows(AtomicFile *o, const float *base, int L, size_t per_layer,
                             size_t first, size_t count) {
    for (int l = 0; l < L; l++) atomic_write(o, base + (size_t)l * per_layer + first, count * sizeof(float));
}

int llama2c_write_model(const Model *m, const char *out, char *err, size_t errlen) {
    const ModelConfig *c = &m->cfg;
    if (c->mlp != MLP_SWIGLU) {
        snprintf(err, errlen, "%s: the checkpoint's MLP is %s; llama2.c has only SwiGLU", out, model_mlp_name(c->mlp));
        return -1;
    }
    if (check_run_c_limits(c, out, err, errlen)) return -1;
    size_t C = (size_t)c->d_model, F = (size_t)c->mlp_hidden, L = (size_t)c->n_layer;
    size_t half = C / (size_t)c->n_head / 2;
    /* vocab_size positive: the classifier is the embedding (run.c's shared_weights). */
    int32_t hdr[LLAMA2C_HEADER_INTS] = { c->d_model, c->mlp_hidden, c->n_layer, c->n_head,
                                         c->n_head, c->vocab, c->max_seq };
    const ParamTensors *p = &m->params;
    AtomicFile o;
    if (atomic_open(&o, out, err, errlen)) return -1;
    atomic_write(&o, hdr, sizeof hdr);
    atomic_write(&o, p->wte, (size_t)c->vocab * C * sizeof(float));
    atomic_write(&o, p->rms1_w, L * C * sizeof(float));
    for (size_t part = 0; part < 3; part++)   /* wq, wk, wv: the q, k, v rows of qkv_w */
        write_layer_rows(&o, p->qkv_w, c->n_layer, 3 * C * C, part * C * C, C * C);
    atomic_write(&o, p->attproj_w, L * C * C * sizeof(float));
    atomic_write(&o, p->rms2_w, L * C * sizeof(float));
    write_layer_rows(&o, p->fc_w, c->n_layer, 2 * F * C, 0, F * C);      /* w1: gate */
    atomic_write(&o, p->fcproj_w, L * C * F * sizeof(float));               /* w2 */
    write_layer_rows(&o, p->fc_w, c->n_layer, 2 * F * C, F * C, F * C);  /* w3: up */
    atomic_write(&o, p->rmsf_w, C * sizeof(float));
    /* freq_cis_real/imag: current run.c recomputes RoPE and skips them, older run.c
     * reads them; ours are the tables the model itself uses, the same angles. */
    atomic_write(&o, m->rope_cos, (size_t)c->max_seq * half * sizeof(float));
    atomic_write(&o, m->rope_sin, (size_t)c->max_seq * half * sizeof(float));
    return atomic_commit(&o, err, errlen);
}

/* ---------------------------------------------------------------- the tokenizer */

/* run.c reads vocab_size pieces whatever the tokenizer holds; ids past ours (a model
 * vocab rounded up) get names no text encodes to. */
static int placeholder_piece(int id, char *buf, size_t len) {
    return snprintf(buf, len, "<|unused_%d|>", id);
}

static const unsigned char *piece_of(const Tokenizer *t, int id, char *buf, size_t buflen, size_t *len) {
    if (id < t->vocab_size) return tokenizer_token_bytes(t, id, len);
    *len = (size_t)placeholder_piece(id, buf, buflen);
    return (const unsigned char *)buf;
}

int llama2c_write_tokenizer(const Tokenizer *t, int vocab, const char *path, char *err, size_t errlen) {
    if (t->vocab_size > vocab) {
        snprintf(err, errlen, "%s: the tokenizer has %d tokens, more than the model's vocab %d", path, t->vocab_size, vocab);
        return -1;
    }
    /* run.c sizes its merge buffer from max_token_length: it must be the true maximum. */
    char buf[32];
    size_t len, max_len = 0;
    for (int id = 0; id < vocab; id++) {
        piece_of(t, id, buf, sizeof buf, &len);
        /* run.c reads each piece with fread(p, len, 1), which fails for len 0. */
        if (len == 0) { snprintf(err, errlen, "%s: token %d has no bytes", path, id); return -1; }
        if (len > max_len) max_len = len;
    }
    AtomicFile o;
    if (atomic_open(&o, path, err, errlen)) return -1;
    int32_t max_len32 = (int32_t)max_len;
    atomic_write(&o, &max_len32, sizeof max_len32);
    for (int id = 0; id < vocab; id++) {
        const unsigned char *p = piece_of(t, id, buf, sizeof buf, &len);
        /* run.c merges the adjacent pair whose joined piece scores highest: -id ranks
         * earlier merges first, as our BPE does. Bytes are raw single-byte pieces, not
         * sentencepiece's "<0xHH>", since run.c looks prompt bytes up by value. */
        float score = -(float)id;
        int32_t len32 = (int32_t)len;
        atomic_write(&o, &score, sizeof score);
        atomic_write(&o, &len32, sizeof len32);
        atomic_write(&o, p, len);
    }
    return atomic_commit(&o, err, errlen);
}

int llama2c_tokenizer_path(const char *out, char *buf, size_t len) {
    size_t n = strlen(out);
    if (n >= 4 && strcmp(out + n - 4, ".bin") == 0) n -= 4;
    int w = snprintf(buf, len, "%.*s.tokenizer.bin", (int)n, out);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* ---------------------------------------------------------------- checkpoint -> files */

/* The checkpoint's tokenizer: 0 loaded into *t, 1 there is none (note says so), -1 it is
 * damaged or does not fit the model (err). */
static int checkpoint_tokenizer(const char *ckpt, const char *extra_json, int vocab, Tokenizer *t,
                                char *note, size_t notelen, char *err, size_t errlen) {
    cJSON *extra = extra_json ? cJSON_Parse(extra_json) : NULL;
    const cJSON *tok = extra ? cJSON_GetObjectItemCaseSensitive(extra, "tokenizer") : NULL;
    if (!tok) {
        snprintf(note, notelen, "%s carries no tokenizer; wrote the model only (run.c needs one: -z FILE)", ckpt);
        cJSON_Delete(extra);
        return 1;
    }
    char *json = cJSON_PrintUnformatted(tok), origin[PATH_MAX + 16];
    cJSON_Delete(extra);
    if (!json) { snprintf(err, errlen, "%s: out of memory reading the tokenizer", ckpt); return -1; }
    snprintf(origin, sizeof origin, "%s: tokenizer", ckpt);
    int rc = tokenizer_from_json(t, json, origin, err, errlen);
    free(json);
    if (rc) return -1;
    if (t->vocab_size > vocab) {
        snprintf(err, errlen, "%s: the tokenizer has %d tokens, more than the model's vocab %d", ckpt, t->vocab_size, vocab);
        tokenizer_free(t);
        return -1;
    }
    return 0;
}

int export_llama2c_info(const char *ckpt, const char *out, Llama2cExportInfo *info,
                        char *err, size_t errlen) {
    Llama2cExportInfo local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    Model m;
    CheckpointMeta meta;
    if (checkpoint_load(ckpt, &m, NULL, &meta, err, errlen)) return -1;
    int rc = -1, have_tok = 1;
    Tokenizer t;
    memset(&t, 0, sizeof t);
    if (m.cfg.mlp != MLP_SWIGLU) {
        snprintf(err, errlen, "%s: the checkpoint's MLP is %s; llama2.c has only SwiGLU", ckpt, model_mlp_name(m.cfg.mlp));
        goto done;
    }
    /* Read the tokenizer before writing anything: a damaged one fails the export
     * without leaving a model file behind. */
    have_tok = checkpoint_tokenizer(ckpt, meta.extra_json, m.cfg.vocab, &t,
                                    info->note, sizeof info->note, err, errlen);
    if (have_tok < 0) goto done;
    if (have_tok == 0 && llama2c_tokenizer_path(out, info->tokenizer_path, sizeof info->tokenizer_path)) {
        snprintf(err, errlen, "%s: path too long for the tokenizer beside it", out);
        goto done;
    }
    if (llama2c_write_model(&m, out, err, errlen)) goto done;
    if (have_tok == 0) {
        if (llama2c_write_tokenizer(&t, m.cfg.vocab, info->tokenizer_path, err, errlen)) goto done;
        info->wrote_tokenizer = 1;
    }
    rc = 0;
done:
    if (have_tok == 0) tokenizer_free(&t);
    free(meta.extra_json);
    model_free(&m);
    return rc;
}

int export_llama2c(const char *ckpt, const char *out, char *err, size_t errlen) {
    return export_llama2c_info(ckpt, out, NULL, err, errlen);
}

/* ---------------------------------------------------------------- rlvr export */

static const char *EXPORT_USAGE =
    "usage: rlvr export --llama2c CKPT OUT.bin\n"
    "\n"
    "Writes the policy in CKPT as karpathy/llama2.c's legacy (version 0) model file,\n"
    "which run.c reads: ./run OUT.bin -z OUT.tokenizer.bin. If CKPT carries a tokenizer\n"
    "it is written beside the model as OUT.tokenizer.bin (llama2.c's tokenizer.bin\n"
    "format); otherwise a note on stderr says so. Only SwiGLU checkpoints\n"
    "can be exported (llama2.c has no GELU). Prints one JSON line describing the files.\n";

static void print_result(const char *ckpt, const char *out, const Llama2cExportInfo *info) {
    int32_t hdr[LLAMA2C_HEADER_INTS] = { 0 };
    FILE *f = fopen(out, "rb");
    if (f) {
        if (fread(hdr, sizeof hdr, 1, f) != 1) memset(hdr, 0, sizeof hdr);
        fclose(f);
    }
    static const char *names[LLAMA2C_HEADER_INTS] = { "dim", "hidden_dim", "n_layers", "n_heads",
                                                      "n_kv_heads", "vocab_size", "seq_len" };
    cJSON *j = cJSON_CreateObject();
    if (!j) return;
    cJSON_AddStringToObject(j, "checkpoint", ckpt);
    cJSON_AddStringToObject(j, "model", out);
    if (info->wrote_tokenizer) cJSON_AddStringToObject(j, "tokenizer", info->tokenizer_path);
    else cJSON_AddNullToObject(j, "tokenizer");
    for (int i = 0; i < LLAMA2C_HEADER_INTS; i++) cJSON_AddNumberToObject(j, names[i], hdr[i]);
    char *s = cJSON_PrintUnformatted(j);
    if (s) puts(s);
    free(s);
    cJSON_Delete(j);
}

int cmd_export(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { fputs(EXPORT_USAGE, stdout); return 0; }
    if (argc != 3 || strcmp(argv[0], "--llama2c") != 0) {
        fprintf(stderr, "rlvr export: expected --llama2c CKPT OUT.bin (rlvr export --help)\n");
        return 2;
    }
    char err[1024];
    Llama2cExportInfo info;
    if (export_llama2c_info(argv[1], argv[2], &info, err, sizeof err)) {
        fprintf(stderr, "rlvr export: %s\n", err);
        return 1;
    }
    if (!info.wrote_tokenizer) fprintf(stderr, "rlvr export: note: %s\n", info.note);
    print_result(argv[1], argv[2], &info);
    return 0;
}
