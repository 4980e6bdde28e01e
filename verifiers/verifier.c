#include "verifiers/verifier.h"
#include "verifiers/arith.h"
#include "verifiers/ccrun.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- verdicts */

int verdict_init(Verdict *v) {
    v->reward = 0.0;
    v->status[0] = 0;
    v->detail = cJSON_CreateObject();
    return v->detail ? 0 : -1;
}

/* A reward that is not a number cannot be clamped into meaning; it says the verifier
 * went wrong, so it becomes 0 with status verifier_error and the reason in detail. */
void verdict_set(Verdict *v, double reward, const char *status) {
    if (!isfinite(reward)) {
        v->reward = 0.0;
        snprintf(v->status, sizeof v->status, "%s", VERDICT_VERIFIER_ERROR);
        if (v->detail && cJSON_IsObject(v->detail) && !cJSON_GetObjectItemCaseSensitive(v->detail, "error"))
            cJSON_AddStringToObject(v->detail, "error", "verifier returned a non-finite reward");
        return;
    }
    v->reward = reward < 0.0 ? 0.0 : reward > 1.0 ? 1.0 : reward;
    snprintf(v->status, sizeof v->status, "%s", status ? status : "");
}

void verdict_free(Verdict *v) {
    cJSON_Delete(v->detail);
    v->detail = NULL;
}

cJSON *verdict_to_cjson(const Verdict *v) {
    /* Verifiers may write the fields directly, so the rules of verdict_set apply again
     * here: what leaves the process is always a reward in [0, 1] and a status. */
    double r = v->reward;
    const char *status = v->status;
    const char *why = NULL;
    if (!isfinite(r)) { r = 0.0; status = VERDICT_VERIFIER_ERROR; why = "verifier returned a non-finite reward"; }
    else if (memchr(v->status, 0, sizeof v->status) == NULL || !v->status[0]) {
        r = 0.0; status = VERDICT_VERIFIER_ERROR; why = "verifier set no status";
    }
    else r = r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON *detail = cJSON_IsObject(v->detail) ? cJSON_Duplicate(v->detail, 1) : cJSON_CreateObject();
    if (!cJSON_AddNumberToObject(o, "reward", r) || !cJSON_AddStringToObject(o, "status", status) || !detail) {
        cJSON_Delete(detail);
        cJSON_Delete(o);
        return NULL;
    }
    if (why && !cJSON_GetObjectItemCaseSensitive(detail, "error")) cJSON_AddStringToObject(detail, "error", why);
    cJSON_AddItemToObject(o, "detail", detail);
    return o;
}

char *verdict_to_json(const Verdict *v) {
    cJSON *o = verdict_to_cjson(v);
    if (!o) return NULL;
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---------------------------------------------------------------- the registry */

/* Registration happens at start-up on one thread; afterwards the table is only read,
 * so lookups from many threads need no lock. Names are kept in registration order. */
static Verifier **g_table;
static size_t g_count, g_cap;
static char *g_names; /* "arith, ccrun": rebuilt at each registration, read-only after */

static void verifier_destroy(Verifier *v) {
    if (!v) return;
    if (v->free) v->free(v);
    else free(v);
}

static int rebuild_names(void) {
    size_t len = 1;
    for (size_t i = 0; i < g_count; i++) len += strlen(g_table[i]->name) + 2;
    char *s = malloc(len);
    if (!s) return -1;
    s[0] = 0;
    for (size_t i = 0; i < g_count; i++) {
        if (i) strcat(s, ", ");
        strcat(s, g_table[i]->name);
    }
    free(g_names);
    g_names = s;
    return 0;
}

int verifier_register(Verifier *v, char *err, size_t errlen) {
    if (!v) { snprintf(err, errlen, "no verifier to register (out of memory?)"); return -1; }
    if (!v->name || !v->name[0]) {
        snprintf(err, errlen, "a verifier needs a non-empty name");
        verifier_destroy(v);
        return -1;
    }
    if (!v->score) {
        snprintf(err, errlen, "verifier \"%s\" has no score function", v->name);
        verifier_destroy(v);
        return -1;
    }
    if (verifier_find(v->name)) {
        snprintf(err, errlen, "a verifier named \"%s\" is already registered", v->name);
        verifier_destroy(v);
        return -1;
    }
    if (g_count == g_cap) {
        size_t cap = g_cap ? 2 * g_cap : 8;
        Verifier **t = realloc(g_table, cap * sizeof *t);
        if (!t) { snprintf(err, errlen, "out of memory"); verifier_destroy(v); return -1; }
        g_table = t;
        g_cap = cap;
    }
    g_table[g_count++] = v;
    if (rebuild_names()) {
        g_count--;
        snprintf(err, errlen, "out of memory");
        verifier_destroy(v);
        return -1;
    }
    return 0;
}

const Verifier *verifier_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < g_count; i++)
        if (strcmp(g_table[i]->name, name) == 0) return g_table[i];
    return NULL;
}

const char *verifier_names(void) { return g_names ? g_names : ""; }

int verifiers_register_builtins(char *err, size_t errlen) {
    if (!verifier_find("arith") && verifier_register(verifier_arith_create(), err, errlen)) return -1;
    if (!verifier_find("arith_steps") && verifier_register(verifier_arith_steps_create(), err, errlen)) return -1;
    if (!verifier_find("ccrun") && verifier_register(verifier_ccrun_create(), err, errlen)) return -1;
    return 0;
}

void verifier_registry_free(void) {
    for (size_t i = 0; i < g_count; i++) verifier_destroy(g_table[i]);
    free(g_table);
    free(g_names);
    g_table = NULL;
    g_names = NULL;
    g_count = g_cap = 0;
}

int verdict_detail_add(cJSON *obj, const char *key, cJSON *item) {
    if (!obj || !item) { cJSON_Delete(item); return -1; }
    cJSON_AddItemToObject(obj, key, item);
    return 0;
}

/* Length of a valid UTF-8 sequence at s[i] (1-4), or 0 when the bytes are not one. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i) {
    unsigned char c = s[i];
    size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || i + k > n) return 0;
    for (size_t j = 1; j < k; j++)
        if ((s[i + j] & 0xC0) != 0x80) return 0;
    return k;
}

cJSON *verdict_detail_text(const char *s, size_t n, size_t max) {
    char *buf = malloc(max + 4);
    if (!buf) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        size_t m = utf8_len(u, n, i);
        if (m == 0 || (m == 1 && u[i] == 0)) { buf[k++] = '?'; i++; continue; }
        if (k + m > max) break;
        memcpy(buf + k, s + i, m);
        k += m;
        i += m;
    }
    if (i < n) { memcpy(buf + k, "...", 3); k += 3; }
    buf[k] = '\0';
    cJSON *item = cJSON_CreateString(buf);
    free(buf);
    return item;
}

