/* rlvr sample: completions from a checkpoint, streamed to the terminal. */
#include "engine/commands.h"
#include "engine/policy_io.h"
#include "engine/util.h"
#include "policy/sampler.h"
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SAMPLE_USAGE =
    "usage: rlvr sample --ckpt CKPT --prompt TEXT [options]\n"
    "\n"
    "Generates completions of TEXT (encoded as the prompt, then <|sep|>, as in sft) until\n"
    "<|endoftext|>, a stop string, or --max-tokens. With -n 1 the tokens stream as they\n"
    "are sampled; with -n N the N completions are sampled as one batch and printed in turn.\n"
    "\n"
    "  -n N               completions (default 1)\n"
    "  --temperature T    0 is greedy (default 1.0)\n"
    "  --top-p P          nucleus sampling (default 1.0: off)\n"
    "  --top-k K          keep the K most likely tokens (default 0: off)\n"
    "  --max-tokens M     new tokens per completion (default 256)\n"
    "  --stop STR         stop when the completion contains STR (repeatable)\n"
    "  --seed N           random seed (default 1)\n"
    "  --json             one JSON line per completion (text, tokens, log-probabilities);\n"
    "                     bytes that are not valid UTF-8 appear as U+FFFD in the text\n";

typedef struct { const Tokenizer *tok; int stream; } StreamCtx;

static void stream_token(void *user, int seq, int token, int is_tool) {
    StreamCtx *c = user;
    (void)seq; (void)is_tool;
    if (!c->stream || token == TOKENIZER_EOT) return;
    size_t len = 0;
    const unsigned char *b = tokenizer_token_bytes(c->tok, token, &len);
    if (b) fwrite(b, 1, len, stdout);
    fflush(stdout);
}

static void print_json(int i, const char *prompt, const Completion *c) {
    cJSON *o = cJSON_CreateObject(), *toks = cJSON_CreateArray(), *lps = cJSON_CreateArray();
    double sum = 0.0;
    for (int k = 0; k < c->n; k++) {
        cJSON_AddItemToArray(toks, cJSON_CreateNumber(c->tokens[k]));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(c->logp_policy[k]));
        sum += c->logp_policy[k];
    }
    cJSON_AddNumberToObject(o, "index", i);
    cJSON_AddStringToObject(o, "prompt", prompt);
    char *clean = util_utf8_clean(c->text, c->text_len);
    cJSON_AddStringToObject(o, "completion", clean ? clean : "");
    free(clean);
    cJSON_AddStringToObject(o, "finish", sampler_finish_name(c->finish));
    cJSON_AddNumberToObject(o, "num_tokens", c->n);
    cJSON_AddNumberToObject(o, "logprob", sum);
    cJSON_AddItemToObject(o, "tokens", toks);
    cJSON_AddItemToObject(o, "token_logprobs", lps);
    char *s = cJSON_PrintUnformatted(o);
    if (s) puts(s);
    free(s);
    cJSON_Delete(o);
}

int cmd_sample(int argc, char **argv) {
    const char *ckpt = NULL, *prompt = NULL, *stops[16];
    long n = 1, max_tokens = 256, top_k = 0, seed = 1;
    float temperature = 1.0f, top_p = 1.0f;
    int n_stops = 0, json = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(SAMPLE_USAGE, stdout); return 0; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!v) { fprintf(stderr, "rlvr sample: %s needs a value\n", a); return 2; }
        int ok = 1;
        if (!strcmp(a, "--ckpt")) ckpt = v;
        else if (!strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "-n")) ok = !util_parse_int(v, 1, 4096, &n);
        else if (!strcmp(a, "--max-tokens")) ok = !util_parse_int(v, 1, 1 << 20, &max_tokens);
        else if (!strcmp(a, "--top-k")) ok = !util_parse_int(v, 0, 1 << 20, &top_k);
        else if (!strcmp(a, "--seed")) ok = !util_parse_int(v, 0, 1L << 62, &seed);
        else if (!strcmp(a, "--temperature")) ok = !util_parse_float(v, &temperature) && temperature >= 0;
        else if (!strcmp(a, "--top-p")) ok = !util_parse_float(v, &top_p) && top_p > 0 && top_p <= 1;
        else if (!strcmp(a, "--stop")) { ok = n_stops < 16 && *v; if (ok) stops[n_stops++] = v; }
        else { fprintf(stderr, "rlvr sample: unknown option '%s' (see rlvr sample --help)\n", a); return 2; }
        if (!ok) { fprintf(stderr, "rlvr sample: bad value '%s' for %s\n", v, a); return 2; }
        i++;
    }
    if (!ckpt || !prompt) { fprintf(stderr, "rlvr sample: --ckpt and --prompt are required (see rlvr sample --help)\n"); return 2; }

    char err[1024];
    Model m;
    Tokenizer tok;
    if (policy_load(ckpt, &m, &tok, NULL, NULL, NULL, err, sizeof err)) { fprintf(stderr, "rlvr sample: %s\n", err); return 1; }
    size_t plen = strlen(prompt);
    int *ptoks = malloc((plen + 1) * sizeof(int));
    int rc = 1;
    Sampler s;
    int have_sampler = 0;
    if (!ptoks) { snprintf(err, sizeof err, "out of memory"); goto out; }
    int np = (int)tokenizer_encode(&tok, (const unsigned char *)prompt, plen, ptoks);
    ptoks[np++] = TOKENIZER_SEP;
    if (np >= m.cfg.max_seq) {
        snprintf(err, sizeof err, "the prompt is %d tokens; the context is %d", np, m.cfg.max_seq);
        goto out;
    }
    if (sampler_create(&s, &m, (int)n, err, sizeof err)) goto out;
    have_sampler = 1;
    const int **prompts = malloc(n * sizeof *prompts);
    int *lens = malloc(n * sizeof *lens);
    Completion *outc = calloc(n, sizeof *outc);
    if (!prompts || !lens || !outc) { free(prompts); free(lens); free(outc); snprintf(err, sizeof err, "out of memory"); goto out; }
    for (long i = 0; i < n; i++) { prompts[i] = ptoks; lens[i] = np; }
    SamplerConfig sc = { .temperature = temperature, .top_k = (int)top_k, .top_p = top_p,
                         .max_new_tokens = (int)max_tokens, .stop_token = TOKENIZER_EOT,
                         .stop_strings = stops, .n_stop_strings = n_stops, .seed = (uint64_t)seed };
    StreamCtx ctx = { &tok, n == 1 && !json && n_stops == 0 };
    int grc = sampler_generate(&s, &tok, &sc, prompts, lens, NULL, (int)n, outc, NULL, stream_token, &ctx, err, sizeof err);
    if (grc == 0) {
        for (long i = 0; i < n; i++) {
            if (json) print_json((int)i, prompt, &outc[i]);
            else if (ctx.stream) printf("\n");
            else printf("%s=== sample %ld (%s, %d tokens)\n%s\n", i ? "\n" : "", i + 1,
                        sampler_finish_name(outc[i].finish), outc[i].n, outc[i].text);
            completion_free(&outc[i]);
        }
        rc = 0;
    }
    free(prompts); free(lens); free(outc);
out:
    if (rc) fprintf(stderr, "rlvr sample: %s\n", err);
    if (have_sampler) sampler_free(&s);
    free(ptoks);
    model_free(&m);
    tokenizer_free(&tok);
    return rc;
}
