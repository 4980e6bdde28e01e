/* test_checkpoint: what a run relies on when it saves and resumes.
 *
 * A resumed run must continue exactly where the saved one stopped (weights, AdamW
 * moments and schedule, RNG, engine state), a damaged file must be refused with a
 * message that says which file and what is wrong (and must not leak), and a save
 * must never leave a half-written checkpoint or temporary files behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy/checkpoint.h"
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/test_util.h"

#define RNG_STATE 0xDEADBEEFCAFEF00DULL /* top bit set: must survive as 64 bits */
#define EXTRA "{\"epoch\":3,\"tasks\":[\"gsm8k\",\"arith\"],\"best\":0.5}"

static char g_dir[64]; /* the test's mkdtemp directory */

/* ---------------------------------------------------------------- fixtures */

static ModelConfig small_config(void) {
    ModelConfig c = { .vocab = 64, .d_model = 32, .n_layer = 2, .n_head = 2,
                      .max_seq = 16, .mlp_hidden = 96, .mlp = MLP_SWIGLU };
    return c;
}

/* A model and optimizer in a state no fresh run would have: init'd weights,
 * non-default hyperparameters, non-zero moments and step. */
static void make_state(Model *m, AdamW *opt) {
    char err[256];
    ModelConfig c = small_config();
    assert_int_equal(model_create(m, &c, err, sizeof err), 0);
    model_init(m, 1234);
    AdamWConfig ac = { .lr = 6e-4f, .min_lr_ratio = 0.05f, .beta1 = 0.85f, .beta2 = 0.97f,
                       .eps = 1e-7f, .weight_decay = 0.02f, .grad_clip = 0.7f,
                       .warmup_steps = 17, .total_steps = 1001 };
    assert_int_equal(adamw_create(opt, &ac, m->num_params, err, sizeof err), 0);
    for (size_t i = 0; i < m->num_params; i++) {
        opt->m[i] = (float)(i % 97) * 1e-3f - 0.04f;
        opt->v[i] = (float)(i % 89) * 1e-6f + 3e-9f;
    }
    opt->step = 7;
}

static void path_in_dir(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", g_dir, name);
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static uint32_t header_len(const unsigned char *b) {
    return (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
}

/* Saves the standard state to `name` and returns the file's bytes. */
static unsigned char *saved_bytes(const char *name, size_t *len, size_t *num_params) {
    Model m;
    AdamW opt;
    make_state(&m, &opt);
    CheckpointMeta meta = { .step = 42, .rng_state = RNG_STATE, .extra_json = EXTRA };
    char path[256], err[512];
    path_in_dir(path, sizeof path, name);
    assert_int_equal(checkpoint_save(path, &m, &opt, &meta, err, sizeof err), 0);
    *num_params = m.num_params;
    model_free(&m);
    adamw_free(&opt);
    return read_all(path, len);
}

/* ---------------------------------------------------------------- round trip */

static void assert_adamw_config_equal(const AdamWConfig *a, const AdamWConfig *b) {
    /* Exact float equality: the header must carry every bit of each hyperparameter. */
    assert_true(a->lr == b->lr);
    assert_true(a->min_lr_ratio == b->min_lr_ratio);
    assert_true(a->beta1 == b->beta1);
    assert_true(a->beta2 == b->beta2);
    assert_true(a->eps == b->eps);
    assert_true(a->weight_decay == b->weight_decay);
    assert_true(a->grad_clip == b->grad_clip);
    assert_int_equal(a->warmup_steps, b->warmup_steps);
    assert_int_equal(a->total_steps, b->total_steps);
}

static void assert_model_config_equal(const ModelConfig *a, const ModelConfig *b) {
    assert_int_equal(a->vocab, b->vocab);
    assert_int_equal(a->d_model, b->d_model);
    assert_int_equal(a->n_layer, b->n_layer);
    assert_int_equal(a->n_head, b->n_head);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_int_equal(a->mlp_hidden, b->mlp_hidden);
    assert_int_equal(a->mlp, b->mlp);
}

static void test_round_trip_is_bit_exact(void **state) {
    (void)state;
    Model m, m2;
    AdamW opt, opt2;
    CheckpointMeta meta = { .step = 42, .rng_state = RNG_STATE, .extra_json = EXTRA }, meta2;
    char path[256], err[512];
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "rt.ckpt");
    assert_int_equal(checkpoint_save(path, &m, &opt, &meta, err, sizeof err), 0);
    assert_int_equal(checkpoint_load(path, &m2, &opt2, &meta2, err, sizeof err), 0);

    assert_model_config_equal(&m.cfg, &m2.cfg);
    assert_int_equal(m2.num_params, m.num_params);
    assert_memory_equal(m2.params_memory, m.params_memory, m.num_params * sizeof(float));
    assert_int_equal(opt2.n, opt.n);
    assert_memory_equal(opt2.m, opt.m, opt.n * sizeof(float));
    assert_memory_equal(opt2.v, opt.v, opt.n * sizeof(float));
    assert_int_equal(opt2.step, opt.step);
    assert_adamw_config_equal(&opt2.cfg, &opt.cfg);
    assert_int_equal(meta2.step, 42);
    assert_true(meta2.rng_state == RNG_STATE);
    assert_non_null(meta2.extra_json);
    assert_string_equal(meta2.extra_json, EXTRA);

    free(meta2.extra_json);
    model_free(&m);
    model_free(&m2);
    adamw_free(&opt);
    adamw_free(&opt2);
}

/* Weights-only files (opt NULL at save) are what an exported policy looks like. */
static void test_weights_only_loads_without_moments(void **state) {
    (void)state;
    Model m, m2;
    AdamW opt, opt2;
    CheckpointMeta meta2;
    char path[256], err[512];
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "weights.ckpt");
    assert_int_equal(checkpoint_save(path, &m, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(checkpoint_load(path, &m2, &opt2, &meta2, err, sizeof err), 0);
    assert_memory_equal(m2.params_memory, m.params_memory, m.num_params * sizeof(float));
    assert_int_equal(opt2.n, 0);
    assert_null(opt2.moments_memory);
    assert_null(meta2.extra_json);
    model_free(&m);
    model_free(&m2);
    adamw_free(&opt);
}

/* Loading a full checkpoint for inference only (opt NULL) must work and not leak. */
static void test_load_without_optimizer(void **state) {
    (void)state;
    size_t len, n;
    free(saved_bytes("full.ckpt", &len, &n));
    Model m;
    char path[256], err[512];
    path_in_dir(path, sizeof path, "full.ckpt");
    assert_int_equal(checkpoint_load(path, &m, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(m.num_params, n);
    model_free(&m);
}

/* ---------------------------------------------------------------- damaged files */

/* Loads `path`, expecting failure with a message naming the file and containing
 * `word`; everything the load touched must be zeroed (nothing allocated). */
static void expect_load_error(const char *path, const char *word) {
    Model m;
    AdamW opt;
    CheckpointMeta meta;
    char err[512] = "";
    /* Garbage in: the caller's structs need not be initialised. */
    memset(&m, 0xAB, sizeof m);
    memset(&opt, 0xAB, sizeof opt);
    memset(&meta, 0xAB, sizeof meta);
    assert_int_equal(checkpoint_load(path, &m, &opt, &meta, err, sizeof err), -1);
    /* The word is looked for after the file name, so a name cannot supply it. */
    const char *named = strstr(err, path);
    if (!named) fail_msg("error does not name the file %s: %s", path, err);
    if (!strstr(named + strlen(path), word)) fail_msg("load of %s: expected \"%s\" in: %s", path, word, err);
    assert_null(m.params_memory);
    static const Model zero_model;
    assert_memory_equal(&m, &zero_model, sizeof m);
    assert_null(opt.moments_memory);
    assert_int_equal(opt.n, 0);
    assert_null(meta.extra_json);
}

static void test_truncated_files_say_truncated(void **state) {
    (void)state;
    size_t len, n;
    unsigned char *b = saved_bytes("good.ckpt", &len, &n);
    size_t hdr_end = 16 + header_len(b), params_end = hdr_end + n * sizeof(float);
    size_t cuts[] = { 0, 5, 12, 16 + header_len(b) / 2, hdr_end, hdr_end + n * 2,
                      params_end + n * 4, len - 4, len - 1 };
    char path[256];
    path_in_dir(path, sizeof path, "damaged-1.ckpt");
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_all(path, b, cuts[i]);
        expect_load_error(path, "truncated");
    }
    free(b);
}

/* A single flipped bit anywhere in the payload must be caught: a silently
 * corrupted weight or moment would poison the rest of the run. */
static void test_bit_flips_fail_the_checksum(void **state) {
    (void)state;
    size_t len, n;
    unsigned char *b = saved_bytes("good.ckpt", &len, &n);
    size_t hdr_end = 16 + header_len(b);
    size_t at[] = { hdr_end + 3,                  /* first parameter */
                    hdr_end + n * 2 + 1,          /* a parameter mid-way */
                    hdr_end + n * 4 + 7,          /* AdamW m */
                    hdr_end + n * 8 + n * 2 + 2,  /* AdamW v */
                    len - 2 };                    /* the CRC itself */
    char path[256];
    path_in_dir(path, sizeof path, "damaged-2.ckpt");
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        b[at[i]] ^= 0x10;
        write_all(path, b, len);
        expect_load_error(path, "checksum");
        b[at[i]] ^= 0x10;
    }
    free(b);
}

static void test_wrong_magic(void **state) {
    (void)state;
    size_t len, n;
    unsigned char *b = saved_bytes("good.ckpt", &len, &n);
    memcpy(b, "GGUF\0\0\0\0", 8); /* someone else's model file */
    char path[256];
    path_in_dir(path, sizeof path, "damaged-3.ckpt");
    write_all(path, b, len);
    expect_load_error(path, "magic");
    free(b);
}

/* A file from a newer rlvr must say "upgrade", not "corrupted". */
static void test_newer_version(void **state) {
    (void)state;
    size_t len, n;
    unsigned char *b = saved_bytes("good.ckpt", &len, &n);
    uint32_t v = CHECKPOINT_VERSION + 1;
    for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(v >> (8 * i));
    char path[256];
    path_in_dir(path, sizeof path, "damaged-4.ckpt");
    write_all(path, b, len);
    expect_load_error(path, "newer");
    free(b);
}

static void test_missing_file(void **state) {
    (void)state;
    char path[256];
    path_in_dir(path, sizeof path, "does-not-exist.ckpt");
    expect_load_error(path, "cannot open");
}

/* ---------------------------------------------------------------- atomic save */

/* Names in g_dir containing `needle`. */
static int count_entries(const char *needle) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int k = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, needle)) k++;
    closedir(d);
    return k;
}

static void test_save_leaves_no_temp_files(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char path[256], err[512];
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "twice.ckpt");
    assert_int_equal(checkpoint_save(path, &m, &opt, NULL, err, sizeof err), 0);
    m.params_memory[0] += 1.0f; /* the second save has different contents */
    assert_int_equal(checkpoint_save(path, &m, &opt, NULL, err, sizeof err), 0);
    assert_int_equal(count_entries(".tmp."), 0);

    Model m2;
    assert_int_equal(checkpoint_load(path, &m2, NULL, NULL, err, sizeof err), 0);
    assert_true(m2.params_memory[0] == m.params_memory[0]); /* the second save won */
    model_free(&m2);
    model_free(&m);
    adamw_free(&opt);
}

static void test_save_into_missing_directory_fails(void **state) {
    (void)state;
    Model m;
    AdamW opt;
    char path[256], err[512] = "";
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "no-such-dir/x.ckpt");
    assert_int_equal(checkpoint_save(path, &m, &opt, NULL, err, sizeof err), -1);
    if (!strstr(err, path)) fail_msg("error does not name the file: %s", err);
    model_free(&m);
    adamw_free(&opt);
}

/* A save that fails half-way (here: the file size limit, as a full disk would)
 * must keep the previous checkpoint loadable and clean up its temporary file. */
static void test_failed_save_keeps_old_checkpoint(void **state) {
    (void)state;
    Model m, m2;
    AdamW opt;
    char path[256], err[512] = "";
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "keep.ckpt");
    assert_int_equal(checkpoint_save(path, &m, &opt, NULL, err, sizeof err), 0);
    float first = m.params_memory[0];
    m.params_memory[0] += 1.0f;

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* get EFBIG, not killed */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = checkpoint_save(path, &m, &opt, NULL, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(rc, -1);
    if (!strstr(err, path)) fail_msg("error does not name the file: %s", err);
    assert_int_equal(count_entries(".tmp."), 0);
    assert_int_equal(checkpoint_load(path, &m2, NULL, NULL, err, sizeof err), 0);
    assert_true(m2.params_memory[0] == first);
    model_free(&m2);
    model_free(&m);
    adamw_free(&opt);
}

/* ---------------------------------------------------------------- behaviour */

/* The point of resuming: the loaded policy computes exactly what the saved one did. */
static void test_loaded_model_gives_same_loss(void **state) {
    (void)state;
    Model m, m2;
    AdamW opt;
    char path[256], err[512];
    make_state(&m, &opt);
    path_in_dir(path, sizeof path, "loss.ckpt");
    assert_int_equal(checkpoint_save(path, &m, &opt, NULL, err, sizeof err), 0);
    assert_int_equal(checkpoint_load(path, &m2, NULL, NULL, err, sizeof err), 0);
    int in[8] = { 1, 5, 9, 63, 0, 17, 17, 42 }, tg[8] = { 5, 9, 63, 0, 17, 17, 42, 3 };
    assert_int_equal(model_forward(&m, in, tg, NULL, 8.0f, 1, 8, err, sizeof err), 0);
    assert_int_equal(model_forward(&m2, in, tg, NULL, 8.0f, 1, 8, err, sizeof err), 0);
    assert_true(m.loss > 0.0);
    assert_true(m2.loss == m.loss);
    assert_memory_equal(m2.acts.logprobs, m.acts.logprobs, 8 * sizeof(float));
    model_free(&m);
    model_free(&m2);
    adamw_free(&opt);
}

/* ---------------------------------------------------------------- main */

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/rlvr-test-checkpoint-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return test_dir_remove(g_dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_bit_exact),
        cmocka_unit_test(test_weights_only_loads_without_moments),
        cmocka_unit_test(test_load_without_optimizer),
        cmocka_unit_test(test_truncated_files_say_truncated),
        cmocka_unit_test(test_bit_flips_fail_the_checksum),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_newer_version),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_save_leaves_no_temp_files),
        cmocka_unit_test(test_save_into_missing_directory_fails),
        cmocka_unit_test(test_failed_save_keeps_old_checkpoint),
        cmocka_unit_test(test_loaded_model_gives_same_loss),
    };
    /* The count of failed tests: non-zero exit on any failure. */
    return cmocka_run_group_tests(tests, setup, teardown);
}
