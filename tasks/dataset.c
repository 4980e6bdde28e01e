#include "tasks/dataset.h"
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first of two alternative string fields; sets *missing when neither exists and
 * *wrong_type when one exists but is not a string. */
static const char *field(const cJSON *o, const char *a, const char *b, int *missing, int *wrong_type) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!v) v = cJSON_GetObjectItemCaseSensitive(o, b);
    if (!v) { *missing = 1; return NULL; }
    if (!cJSON_IsString(v)) { *wrong_type = 1; return NULL; }
    return v->valuestring;
}

cJSON *dataset_parse_line(const char *line, size_t len) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!j) return NULL;
    for (const char *p = end; p < line + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') { cJSON_Delete(j); return NULL; }
    return j;
}

static int blank(const char *s) {
    for (; *s; s++) if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

int dataset_load_pairs(const char *path, int skip_bad, PairSet *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    char *line = NULL;
    size_t linecap = 0, cap = 0;
    int lineno = 0, rc = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) > 0) {
        lineno++;
        if (blank(line)) continue;
        char why[160] = "";
        cJSON *j = dataset_parse_line(line, (size_t)len);
        int missing = 0, wrong = 0;
        const char *p = NULL, *c = NULL;
        if (!cJSON_IsObject(j)) snprintf(why, sizeof why, "not a JSON object (or text after it)");
        else {
            p = field(j, "prompt", "question", &missing, &wrong);
            if (missing || wrong) snprintf(why, sizeof why, "%s field \"prompt\" (or \"question\")", missing ? "missing" : "non-string");
            else {
                c = field(j, "completion", "answer", &missing, &wrong);
                if (missing || wrong) snprintf(why, sizeof why, "%s field \"completion\" (or \"answer\")", missing ? "missing" : "non-string");
            }
        }
        if (why[0]) {
            cJSON_Delete(j);
            if (skip_bad) { out->skipped++; continue; }
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            Pair *items = realloc(out->items, ncap * sizeof(Pair));
            if (!items) { cJSON_Delete(j); snprintf(err, errlen, "%s: out of memory", path); rc = -1; break; }
            out->items = items;
            cap = ncap;
        }
        Pair *pr = &out->items[out->n];
        pr->prompt = strdup(p);
        pr->completion = strdup(c);
        pr->line = lineno;
        cJSON_Delete(j);
        if (!pr->prompt || !pr->completion) {
            free(pr->prompt); free(pr->completion);
            snprintf(err, errlen, "%s: out of memory", path);
            rc = -1;
            break;
        }
        out->n++;
    }
    if (rc == 0 && ferror(f)) { snprintf(err, errlen, "%s: read error", path); rc = -1; }
    free(line);
    fclose(f);
    if (rc == 0 && out->n == 0) { snprintf(err, errlen, "%s: no examples", path); rc = -1; }
    if (rc) dataset_free_pairs(out);
    return rc;
}

void dataset_free_pairs(PairSet *s) {
    for (size_t i = 0; i < s->n; i++) { free(s->items[i].prompt); free(s->items[i].completion); }
    free(s->items);
    memset(s, 0, sizeof *s);
}
