#include "tasks/task.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string field `a` (or its alias `b`); "" when absent. -1 if present but not a string. */
static int string_field(const cJSON *o, const char *a, const char *b, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!v && b) v = cJSON_GetObjectItemCaseSensitive(o, b);
    *out = "";
    if (!v) return 0;
    if (!cJSON_IsString(v)) return -1;
    *out = v->valuestring;
    return 0;
}

static int is_known(const char *k) {
    static const char *known[] = { "prompt", "question", "reference", "answer", "id", "verifier", NULL };
    for (int i = 0; known[i]; i++) if (strcmp(k, known[i]) == 0) return 1;
    return 0;
}

static int in_list(const char *k, const char *const *list) {
    for (int i = 0; list && list[i]; i++) if (strcmp(k, list[i]) == 0) return 1;
    return 0;
}

int task_from_json(Task *t, const cJSON *obj, const char *const *skip, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (!cJSON_IsObject(obj)) { snprintf(err, errlen, "not a JSON object"); return -1; }
    const char *prompt, *ref, *id, *ver;
    int has_prompt = cJSON_GetObjectItemCaseSensitive(obj, "prompt") || cJSON_GetObjectItemCaseSensitive(obj, "question");
    if (!has_prompt || string_field(obj, "prompt", "question", &prompt)) {
        snprintf(err, errlen, "missing or non-string field \"prompt\" (or \"question\")");
        return -1;
    }
    if (string_field(obj, "reference", "answer", &ref)) { snprintf(err, errlen, "field \"reference\" (or \"answer\") is not a string"); return -1; }
    if (string_field(obj, "id", NULL, &id)) { snprintf(err, errlen, "field \"id\" is not a string"); return -1; }
    if (string_field(obj, "verifier", NULL, &ver)) { snprintf(err, errlen, "field \"verifier\" is not a string"); return -1; }
    t->prompt = strdup(prompt);
    t->reference = strdup(ref);
    t->id = strdup(id);
    t->verifier = strdup(ver);
    t->meta = cJSON_CreateObject();
    if (!t->prompt || !t->reference || !t->id || !t->verifier || !t->meta) goto oom;
    const cJSON *f;
    cJSON_ArrayForEach(f, obj) {
        if (is_known(f->string) || in_list(f->string, skip)) continue;
        cJSON *copy = cJSON_Duplicate(f, 1);
        if (!copy) goto oom;
        cJSON_AddItemToObject(t->meta, f->string, copy);
    }
    return 0;
oom:
    task_free(t);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void task_free(Task *t) {
    free(t->id);
    free(t->prompt);
    free(t->reference);
    free(t->verifier);
    cJSON_Delete(t->meta);
    memset(t, 0, sizeof *t);
}
