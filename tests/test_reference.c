/* The C model against PyTorch: tests/ref/make_fixture.py builds the same model from
 * the same initial weights (the splitmix64 initialiser, re-implemented there) and
 * records, in float64, the logits, log-probs, loss, every parameter gradient and the
 * parameters after one and two clipped AdamW steps. Here the float32 C code must
 * match each tensor within 1e-4 relative error, measured as the worst absolute
 * difference over the tensor divided by the tensor's largest magnitude. The fixture
 * for the tiny preset stores 4096 sampled positions per large tensor (to stay small);
 * the micro fixture stores every element. PyTorch is not needed to run this test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cJSON.h>
#include <math.h>
#include <string.h>
#include "engine/util.h"
#include "policy/adamw.h"
#include "policy/model.h"
#include "tests/test_util.h"

#define TOL 1e-4
/* The update check's tolerance, relative to the largest update (about lr). Rounding in
 * the gradients moves an update by up to lr/(4 eps) * |dg| where |g| ~ eps, hence the
 * fixture's eps of 1e-5 and this 1e-3; a missing or misplaced weight decay (lr*wd*p,
 * 3.5e-3 of the update for the largest weights) still fails it. */
#define UPDATE_TOL 1e-3

typedef struct { unsigned char *data; size_t size; cJSON *hdr; unsigned char *blob; size_t blob_size; } Fixture;

static void fixture_load(Fixture *f, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/ref/%s", util_exe_dir(), name);
    /* tests run from build/tests/: the sources are two levels up */
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(path, sizeof path, "tests/ref/%s", name);
        fp = fopen(path, "rb");
    }
    if (!fp) fail_msg("cannot open fixture %s", name);
    fseek(fp, 0, SEEK_END);
    f->size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->data = malloc(f->size + 1);
    assert_non_null(f->data);
    assert_int_equal(fread(f->data, 1, f->size, fp), f->size);
    fclose(fp);
    assert_memory_equal(f->data, "RLVRFIX1", 8);
    uint32_t jlen;
    memcpy(&jlen, f->data + 8, 4);
    assert_true(12 + (size_t)jlen <= f->size);
    char *json = strndup((const char *)f->data + 12, jlen);
    f->hdr = cJSON_Parse(json);
    free(json);
    assert_non_null(f->hdr);
    /* The blob follows a JSON header of any length: copy it to an aligned buffer. */
    f->blob_size = f->size - 12 - jlen;
    f->blob = malloc(f->blob_size + 4);
    assert_non_null(f->blob);
    memcpy(f->blob, f->data + 12 + jlen, f->blob_size);
}

static void fixture_free(Fixture *f) { cJSON_Delete(f->hdr); free(f->data); free(f->blob); }

/* A tensor's data and element count, or NULL when absent. */
static const void *tensor(const Fixture *f, const char *name, size_t *count) {
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(f->hdr, "tensors")) {
        if (strcmp(cJSON_GetObjectItem(t, "name")->valuestring, name) != 0) continue;
        size_t off = (size_t)cJSON_GetObjectItem(t, "offset")->valuedouble;
        *count = (size_t)cJSON_GetObjectItem(t, "count")->valuedouble;
        assert_true(off + *count * 4 <= f->blob_size);
        return f->blob + off;
    }
    return NULL;
}

static const float *tensor_f32(const Fixture *f, const char *name, size_t *count) {
    const float *p = tensor(f, name, count);
    if (!p) fail_msg("fixture lacks tensor %s", name);
    return p;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("fixture header lacks %s", key);
    return v->valuedouble;
}

/* Worst |ours - ref| / max|ref| over the stored positions; prints and returns it. */
static double compare(const char *label, const float *ours, const float *ref, const int *idx, size_t n) {
    double worst = 0.0, scale = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)ours[idx ? (size_t)idx[i] : i] - ref[i]);
        if (e > worst) { worst = e; worst_i = i; }
    }
    double rel = scale > 0 ? worst / scale : worst;
    printf("  %-18s %7zu values  worst abs %.3e at %zu  rel %.3e%s\n", label, n, worst, worst_i, rel,
           rel <= TOL ? "" : "   <-- FAIL");
    return rel;
}

/* The update check: ours (p1 - p0) against the reference's (ref - p0). Relative to the
 * parameters, a missing weight decay (lr * wd * p, about 1e-4 of p) would hide in the
 * tolerance, as it once did in llm.c's test; relative to the update it cannot. Each
 * element may also differ by the float32 rounding of the stored parameters (2 ulp). */
static double compare_update(const char *label, const float *ours, const float *ref, const float *p0,
                             const int *idx, size_t n) {
    double scale = 0.0, worst = 0.0, worst_abs = 0.0;
    for (size_t k = 0; k < n; k++) scale = fmax(scale, fabs((double)ref[k] - p0[idx ? (size_t)idx[k] : k]));
    for (size_t k = 0; k < n; k++) {
        size_t j = idx ? (size_t)idx[k] : k;
        double du = (double)ours[j] - p0[j], dr = (double)ref[k] - p0[j];
        double ulp = 2.0 * fmax(fabs(ours[j]), fabs(ref[k])) * 1.1920929e-7;
        double e = fabs(du - dr) / (UPDATE_TOL * scale + ulp);
        if (e > worst) { worst = e; worst_abs = fabs(du - dr); }
    }
    printf("    update %-11s worst abs %.3e  score %.3f (pass <= 1)%s\n", label, worst_abs, worst,
           worst <= 1.0 ? "" : "   <-- FAIL");
    return worst;
}

/* Compare one parameter-shaped blob (grads or params) against tag/NAME for every tensor;
 * with prev (parameters before an AdamW step) also compare the update. */
static int compare_params_upd(const Fixture *f, const Model *m, float *blob, const float *prev, const char *tag) {
    int bad = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        char name[64], idxname[64];
        size_t n, ni = 0;
        snprintf(name, sizeof name, "%s/%s", tag, model_param_names[i]);
        snprintf(idxname, sizeof idxname, "idx/%s", model_param_names[i]);
        const float *ref = tensor_f32(f, name, &n);
        const int *idx = tensor(f, idxname, &ni);
        if (idx) assert_int_equal(ni, n);
        else assert_int_equal(n, m->param_sizes[i]);
        const float *ours = model_tensor(m, blob, i);
        bad |= compare(name, ours, ref, idx, n) > TOL;
        if (prev)
            bad |= compare_update(model_param_names[i], ours, ref,
                                  prev + (model_tensor(m, m->params_memory, i) - m->params_memory), idx, n) > 1.0;
    }
    return bad;
}

static int compare_params(const Fixture *f, const Model *m, float *blob, const char *tag) {
    return compare_params_upd(f, m, blob, NULL, tag);
}

static void check_fixture(const char *file) {
    Fixture f;
    fixture_load(&f, file);
    char err[256];
    char *cfg_json = cJSON_PrintUnformatted(cJSON_GetObjectItem(f.hdr, "config"));
    ModelConfig cfg;
    if (model_config_from_json(&cfg, cfg_json, err, sizeof err)) fail_msg("%s", err);
    free(cfg_json);
    int B = (int)num(f.hdr, "B"), T = (int)num(f.hdr, "T");
    float denom = (float)num(f.hdr, "denom");
    const cJSON *aj = cJSON_GetObjectItem(f.hdr, "adamw");
    AdamWConfig ac = adamw_default_config();
    ac.lr = (float)num(aj, "lr"); ac.beta1 = (float)num(aj, "beta1"); ac.beta2 = (float)num(aj, "beta2");
    ac.eps = (float)num(aj, "eps"); ac.weight_decay = (float)num(aj, "weight_decay");
    ac.grad_clip = (float)num(aj, "grad_clip");
    ac.warmup_steps = 0; ac.total_steps = 0; /* the fixture uses a constant learning rate */
    printf(" %s: V=%d C=%d L=%d NH=%d F=%d %s, batch %dx%d\n", file, cfg.vocab, cfg.d_model, cfg.n_layer,
           cfg.n_head, cfg.mlp_hidden, model_mlp_name(cfg.mlp), B, T);

    Model m;
    AdamW opt;
    assert_int_equal(model_create(&m, &cfg, err, sizeof err), 0);
    assert_int_equal(adamw_create(&opt, &ac, m.num_params, err, sizeof err), 0);
    model_init(&m, (uint64_t)num(f.hdr, "init_seed"));
    size_t n;
    const int *in = tensor(&f, "inputs", &n), *tg = tensor(&f, "targets", &n);
    const float *w = tensor_f32(&f, "weights", &n);
    assert_int_equal(n, (size_t)B * T);

    int bad = 0;
    float loss_f;
    if (model_forward(&m, in, tg, w, denom, B, T, err, sizeof err)) fail_msg("%s", err);
    const float *ref = tensor_f32(&f, "logits", &n);
    bad |= compare("logits", m.acts.logits, ref, NULL, n) > TOL;
    ref = tensor_f32(&f, "logprobs", &n);
    bad |= compare("logprobs", m.acts.logprobs, ref, NULL, n) > TOL;
    loss_f = (float)m.loss;
    bad |= compare("loss", &loss_f, tensor_f32(&f, "loss", &n), NULL, 1) > TOL;
    model_zero_grad(&m);
    model_backward(&m, in, w, denom);
    bad |= compare_params(&f, &m, m.grads_memory, "grad");
    float *prev = alloc_floats(m.num_params);
    memcpy(prev, m.params_memory, m.num_params * sizeof(float));
    if (adamw_update(&opt, &m, NULL, NULL, err, sizeof err)) fail_msg("%s", err);
    bad |= compare_params_upd(&f, &m, m.params_memory, prev, "step1");

    if (model_forward(&m, in, tg, w, denom, B, T, err, sizeof err)) fail_msg("%s", err);
    loss_f = (float)m.loss;
    bad |= compare("loss2", &loss_f, tensor_f32(&f, "loss2", &n), NULL, 1) > TOL;
    model_zero_grad(&m);
    model_backward(&m, in, w, denom);
    memcpy(prev, m.params_memory, m.num_params * sizeof(float));
    if (adamw_update(&opt, &m, NULL, NULL, err, sizeof err)) fail_msg("%s", err);
    bad |= compare_params_upd(&f, &m, m.params_memory, prev, "step2");
    free(prev);

    model_free(&m);
    adamw_free(&opt);
    fixture_free(&f);
    assert_false(bad);
}

static void test_micro_fixture(void **s) { (void)s; check_fixture("micro.fix"); }
static void test_tiny_fixture(void **s) { (void)s; check_fixture("tiny.fix"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_micro_fixture),
        cmocka_unit_test(test_tiny_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
