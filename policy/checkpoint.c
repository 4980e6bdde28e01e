#include "policy/checkpoint.h"
#include "policy/atomicfile.h"
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = { 'R', 'L', 'V', 'R', 'C', 'K', 'P', 'T' };
#define PREFIX_BYTES 16 /* magic, version, header length */
#define MAX_HEADER (1u << 24)

/* ---------------------------------------------------------------- save */

/* Writes through an atomic file, keeping the CRC of everything written. */
typedef struct { AtomicFile af; uLong crc; } Writer;

static void wr(Writer *w, const void *p, size_t n) {
    /* zlib's crc32 takes a uInt length: feed it in chunks below 4 GiB. */
    const unsigned char *b = p;
    for (size_t off = 0; off < n;) {
        size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
        w->crc = crc32(w->crc, b + off, (uInt)k);
        off += k;
    }
    atomic_write(&w->af, p, n);
}

static void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static char *header_json(const Model *m, const AdamW *opt, const CheckpointMeta *meta) {
    cJSON *h = cJSON_CreateObject();
    char *cfg = model_config_to_json(&m->cfg), rng[24];
    if (!h || !cfg) { cJSON_Delete(h); free(cfg); return NULL; }
    cJSON_AddItemToObject(h, "model", cJSON_Parse(cfg));
    free(cfg);
    cJSON_AddNumberToObject(h, "num_params", (double)m->num_params);
    cJSON_AddNumberToObject(h, "step", meta ? (double)meta->step : 0);
    snprintf(rng, sizeof rng, "%016" PRIx64, meta ? meta->rng_state : 0);
    cJSON_AddStringToObject(h, "rng_state", rng);
    if (opt && opt->n) {
        cJSON *a = cJSON_AddObjectToObject(h, "adamw");
        cJSON_AddNumberToObject(a, "step", (double)opt->step);
        cJSON_AddNumberToObject(a, "lr", opt->cfg.lr);
        cJSON_AddNumberToObject(a, "min_lr_ratio", opt->cfg.min_lr_ratio);
        cJSON_AddNumberToObject(a, "beta1", opt->cfg.beta1);
        cJSON_AddNumberToObject(a, "beta2", opt->cfg.beta2);
        cJSON_AddNumberToObject(a, "eps", opt->cfg.eps);
        cJSON_AddNumberToObject(a, "weight_decay", opt->cfg.weight_decay);
        cJSON_AddNumberToObject(a, "grad_clip", opt->cfg.grad_clip);
        cJSON_AddNumberToObject(a, "warmup_steps", (double)opt->cfg.warmup_steps);
        cJSON_AddNumberToObject(a, "total_steps", (double)opt->cfg.total_steps);
    }
    if (meta && meta->extra_json) {
        cJSON *extra = cJSON_Parse(meta->extra_json);
        if (extra) cJSON_AddItemToObject(h, "extra", extra);
    }
    char *s = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    return s;
}

int checkpoint_save(const char *path, const Model *m, const AdamW *opt, const CheckpointMeta *meta,
                    char *err, size_t errlen) {
    if (opt && opt->n && opt->n != m->num_params) {
        snprintf(err, errlen, "%s: optimizer has %zu moments for %zu parameters", path, opt->n, m->num_params);
        return -1;
    }
    if (meta && meta->extra_json) {
        cJSON *x = cJSON_Parse(meta->extra_json);
        int ok = x && cJSON_IsObject(x);
        cJSON_Delete(x);
        if (!ok) { snprintf(err, errlen, "%s: extra state is not a JSON object", path); return -1; }
    }
    char *hdr = header_json(m, opt, meta);
    if (!hdr) { snprintf(err, errlen, "%s: out of memory building the header", path); return -1; }
    Writer w = { .crc = crc32(0L, Z_NULL, 0) };
    if (atomic_open(&w.af, path, err, errlen)) { free(hdr); return -1; }
    unsigned char prefix[PREFIX_BYTES];
    memcpy(prefix, MAGIC, 8);
    put_u32(prefix + 8, CHECKPOINT_VERSION);
    put_u32(prefix + 12, (uint32_t)strlen(hdr));
    wr(&w, prefix, sizeof prefix);
    wr(&w, hdr, strlen(hdr));
    free(hdr);
    wr(&w, m->params_memory, m->num_params * sizeof(float));
    if (opt && opt->n) wr(&w, opt->moments_memory, 2 * opt->n * sizeof(float));
    unsigned char trailer[4];
    put_u32(trailer, (uint32_t)w.crc);
    atomic_write(&w.af, trailer, 4);
    return atomic_commit(&w.af, err, errlen);
}

/* ---------------------------------------------------------------- load */

typedef struct { FILE *f; uLong crc; } Reader;

static int rd(Reader *r, void *p, size_t n) {
    if (fread(p, 1, n, r->f) != n) return -1;
    const unsigned char *b = p;
    for (size_t off = 0; off < n;) {
        size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
        r->crc = crc32(r->crc, b + off, (uInt)k);
        off += k;
    }
    return 0;
}

static int parse_adamw(const cJSON *a, AdamWConfig *c, long *step) {
    static const char *keys[10] = { "step", "lr", "min_lr_ratio", "beta1", "beta2", "eps",
                                    "weight_decay", "grad_clip", "warmup_steps", "total_steps" };
    double v[10];
    for (int i = 0; i < 10; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, keys[i]);
        if (!cJSON_IsNumber(x)) return -1;
        v[i] = x->valuedouble;
    }
    *step = (long)v[0];
    c->lr = (float)v[1]; c->min_lr_ratio = (float)v[2]; c->beta1 = (float)v[3];
    c->beta2 = (float)v[4]; c->eps = (float)v[5]; c->weight_decay = (float)v[6];
    c->grad_clip = (float)v[7]; c->warmup_steps = (long)v[8]; c->total_steps = (long)v[9];
    return *step >= 0 ? 0 : -1;
}

int checkpoint_load(const char *path, Model *m, AdamW *opt, CheckpointMeta *meta,
                    char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    if (opt) memset(opt, 0, sizeof *opt);
    if (meta) memset(meta, 0, sizeof *meta);
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    Reader r = { f, crc32(0L, Z_NULL, 0) };
    unsigned char prefix[PREFIX_BYTES];
    char *hdr = NULL;
    cJSON *h = NULL;
    int rc = -1;
    AdamWConfig acfg;
    long astep = 0;
    int has_moments = 0;

    if (size < PREFIX_BYTES || rd(&r, prefix, PREFIX_BYTES)) {
        snprintf(err, errlen, "%s: truncated checkpoint (%" PRIu64 " bytes, too short for a header)", path, size);
        goto done;
    }
    if (memcmp(prefix, MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not an rlvr checkpoint (bad magic)", path);
        goto done;
    }
    uint32_t version = get_u32(prefix + 8), hlen = get_u32(prefix + 12);
    if (version > CHECKPOINT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format version %u is newer than this rlvr supports (%d); upgrade rlvr",
                 path, version, CHECKPOINT_VERSION);
        goto done;
    }
    if (version == 0) { snprintf(err, errlen, "%s: invalid checkpoint format version 0", path); goto done; }
    if (hlen == 0 || hlen > MAX_HEADER) {
        snprintf(err, errlen, "%s: corrupted checkpoint (header length %u)", path, hlen);
        goto done;
    }
    if ((uint64_t)PREFIX_BYTES + hlen + 4 > size) {
        snprintf(err, errlen, "%s: truncated checkpoint (%" PRIu64 " bytes, header alone needs %u)", path, size, PREFIX_BYTES + hlen + 4);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr || rd(&r, hdr, hlen)) { snprintf(err, errlen, "%s: cannot read header", path); goto done; }
    hdr[hlen] = 0;
    h = cJSON_Parse(hdr);
    const cJSON *jm = h ? cJSON_GetObjectItemCaseSensitive(h, "model") : NULL;
    const cJSON *jn = h ? cJSON_GetObjectItemCaseSensitive(h, "num_params") : NULL;
    const cJSON *js = h ? cJSON_GetObjectItemCaseSensitive(h, "step") : NULL;
    const cJSON *jr = h ? cJSON_GetObjectItemCaseSensitive(h, "rng_state") : NULL;
    const cJSON *ja = h ? cJSON_GetObjectItemCaseSensitive(h, "adamw") : NULL;
    if (!h || !cJSON_IsObject(jm) || !cJSON_IsNumber(jn) || !cJSON_IsNumber(js) || !cJSON_IsString(jr)) {
        snprintf(err, errlen, "%s: corrupted checkpoint (header is not valid JSON with model, num_params, step, rng_state)", path);
        goto done;
    }
    if (ja && (!cJSON_IsObject(ja) || parse_adamw(ja, &acfg, &astep))) {
        snprintf(err, errlen, "%s: corrupted checkpoint (bad \"adamw\" header field)", path);
        goto done;
    }
    has_moments = ja != NULL;
    ModelConfig cfg;
    char *cfg_json = cJSON_PrintUnformatted(jm), cerr[200];
    int bad_cfg = !cfg_json || model_config_from_json(&cfg, cfg_json, cerr, sizeof cerr);
    free(cfg_json);
    if (bad_cfg) { snprintf(err, errlen, "%s: corrupted checkpoint (%s)", path, cerr); goto done; }
    /* Check the file's size against the header before allocating anything: a damaged
     * header must not make us allocate gigabytes. */
    size_t nparams = model_config_num_params(&cfg);
    if (jn->valuedouble != (double)nparams) {
        snprintf(err, errlen, "%s: corrupted checkpoint (num_params %.0f does not match the model config's %zu)",
                 path, jn->valuedouble, nparams);
        goto done;
    }
    uint64_t payload = (uint64_t)nparams * sizeof(float) * (has_moments ? 3 : 1);
    uint64_t expected = PREFIX_BYTES + hlen + payload + 4;
    if (size < expected) {
        snprintf(err, errlen, "%s: truncated checkpoint (%" PRIu64 " bytes, expected %" PRIu64 ")", path, size, expected);
        goto done;
    }
    if (size > expected) {
        snprintf(err, errlen, "%s: corrupted checkpoint (%" PRIu64 " bytes, expected %" PRIu64 ")", path, size, expected);
        goto done;
    }
    if (model_create(m, &cfg, cerr, sizeof cerr)) { snprintf(err, errlen, "%s: %s", path, cerr); goto done; }
    if (rd(&r, m->params_memory, m->num_params * sizeof(float))) {
        snprintf(err, errlen, "%s: truncated checkpoint (read failed in parameters)", path);
        goto done;
    }
    AdamW tmp_opt;
    memset(&tmp_opt, 0, sizeof tmp_opt);
    if (has_moments) {
        if (adamw_create(&tmp_opt, &acfg, m->num_params, cerr, sizeof cerr)) {
            snprintf(err, errlen, "%s: %s", path, cerr);
            goto done;
        }
        tmp_opt.step = astep;
        if (rd(&r, tmp_opt.moments_memory, 2 * m->num_params * sizeof(float))) {
            adamw_free(&tmp_opt);
            snprintf(err, errlen, "%s: truncated checkpoint (read failed in optimizer moments)", path);
            goto done;
        }
    }
    unsigned char trailer[4];
    uLong crc = r.crc;
    if (fread(trailer, 1, 4, f) != 4 || get_u32(trailer) != (uint32_t)crc) {
        adamw_free(&tmp_opt);
        snprintf(err, errlen, "%s: corrupted checkpoint (checksum mismatch)", path);
        goto done;
    }
    if (opt) *opt = tmp_opt;
    else adamw_free(&tmp_opt);
    if (meta) {
        meta->step = (long)js->valuedouble;
        meta->rng_state = strtoull(jr->valuestring, NULL, 16);
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(h, "extra");
        meta->extra_json = extra ? cJSON_PrintUnformatted(extra) : NULL;
    }
    rc = 0;
done:
    if (rc) model_free(m);
    cJSON_Delete(h);
    free(hdr);
    fclose(f);
    return rc;
}
