/* rlvr verify: score completions with a registered verifier, one verdict line per input
 * line, in input order.
 *
 * Input is read in chunks (at most CHUNK_LINES lines or about CHUNK_BYTES bytes, but
 * always at least one line, however long); a chunk is parsed and scored in parallel by
 * --jobs OpenMP threads into an array of output lines, which are then written in order.
 * Memory stays bounded by the chunk and the output does not depend on --jobs. */
#include "engine/commands.h"
#include "engine/util.h"
#include "lua/verifier_lua.h"
#include "tasks/dataset.h"
#include "tasks/task.h"
#include "verifiers/verifier.h"
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define CHUNK_LINES 1024
#define CHUNK_BYTES (64u << 20)
/* Line buffers bigger than this are released after their chunk instead of reused. */
#define KEEP_BUFFER (1u << 20)
#define MAX_STATUSES 64

static const char *VERIFY_USAGE =
    "usage: rlvr verify --verifier NAME|FILE.lua [--jobs N] < tasks_with_completions.jsonl\n"
    "\n"
    "Scores completions. Each input line is a JSON object: a task in dataset form\n"
    "(\"question\" or \"prompt\"; \"answer\" or \"reference\"; optional \"id\"; any other\n"
    "field goes to the task's meta) plus a \"completion\" string. Each input line gives\n"
    "exactly one output line, in input order:\n"
    "  {\"line\":N,\"id\":\"..\",\"reward\":R,\"status\":\"..\",\"detail\":{..}}\n"
    "(\"id\" only when the task has one). A line that cannot be read as such a task --\n"
    "not JSON, text after the object, not an object, no completion, no prompt, a field of\n"
    "the wrong type, or a blank line -- gets status \"bad_input\", reward 0 and\n"
    "detail {\"line\":N,\"error\":\"..\"}, and the run goes on. A summary goes to stderr.\n"
    "\n"
    "options:\n"
    "  --verifier NAME   a built-in verifier (arith, ccrun), the name of a script in\n"
    "                    lua/verifiers/ (e.g. countdown), or FILE.lua: a Lua verifier\n"
    "                    script (rlvr.verifier{...}), registered under the name it declares\n"
    "  --jobs N          verify with N threads (default 1); the output is identical\n"
    "  -h, --help        this text\n"
    "\n"
    "exit: 0 when every line was processed (bad_input verdicts included),\n"
    "      1 on a read or write failure, 2 on a usage error.\n";

typedef struct {
    char *buf;      /* getline's buffer, reused across chunks */
    size_t cap;
    size_t len;
    long lineno;
    char *out;      /* the verdict line, malloc'd (no newline) */
    double reward;
    char status[32];
} Slot;

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* {"line":N,["id":..,]"reward":..,"status":..,"detail":..} from a verdict. */
static char *verdict_line(long lineno, const char *id, const Verdict *v, double *reward, char status[32]) {
    cJSON *vj = verdict_to_cjson(v);
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (!vj || !o) goto done;
    cJSON_AddNumberToObject(o, "line", (double)lineno);
    if (id && id[0]) cJSON_AddStringToObject(o, "id", id);
    /* Move reward, status and detail over, in that order. */
    const char *keys[] = { "reward", "status", "detail" };
    for (int k = 0; k < 3; k++) {
        cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(vj, keys[k]);
        if (!item) goto done;
        cJSON_AddItemToObject(o, keys[k], item);
    }
    *reward = cJSON_GetObjectItemCaseSensitive(o, "reward")->valuedouble;
    snprintf(status, 32, "%s", cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring);
    s = cJSON_PrintUnformatted(o);
done:
    cJSON_Delete(vj);
    cJSON_Delete(o);
    return s;
}

static char *bad_input_line(long lineno, const char *id, const char *error, double *reward, char status[32]) {
    Verdict v;
    if (verdict_init(&v)) return NULL;
    verdict_set(&v, 0.0, VERDICT_BAD_INPUT);
    cJSON_AddNumberToObject(v.detail, "line", (double)lineno);
    cJSON_AddStringToObject(v.detail, "error", error);
    char *s = verdict_line(lineno, id, &v, reward, status);
    verdict_free(&v);
    return s;
}

/* Parse, check and score one input line into slot->out (NULL only when out of memory). */
static void process_line(const Verifier *ver, Slot *sl) {
    static const char *const skip[] = { "completion", NULL };
    long n = sl->lineno;
    sl->out = NULL;
    if (is_blank(sl->buf, sl->len)) { sl->out = bad_input_line(n, NULL, "blank line", &sl->reward, sl->status); return; }
    cJSON *j = dataset_parse_line(sl->buf, sl->len);
    if (!j) {
        sl->out = bad_input_line(n, NULL, "not valid JSON (or text after the value)", &sl->reward, sl->status);
        return;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        sl->out = bad_input_line(n, NULL, "not a JSON object", &sl->reward, sl->status);
        return;
    }
    /* The id, when there is a usable one, goes on bad_input verdicts too, so they can be
     * matched up without counting lines. */
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(j, "id");
    const char *id = cJSON_IsString(idj) ? idj->valuestring : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "completion");
    if (!c || !cJSON_IsString(c)) {
        sl->out = bad_input_line(n, id, c ? "field \"completion\" is not a string" : "missing field \"completion\"",
                                 &sl->reward, sl->status);
        cJSON_Delete(j);
        return;
    }
    Task t;
    char err[256];
    if (task_from_json(&t, j, skip, err, sizeof err)) {
        sl->out = bad_input_line(n, id, err, &sl->reward, sl->status);
        cJSON_Delete(j);
        return;
    }
    Verdict v;
    if (verdict_init(&v) == 0) {
        ver->score(ver, &t, c->valuestring, strlen(c->valuestring), &v);
        sl->out = verdict_line(n, t.id, &v, &sl->reward, sl->status);
        verdict_free(&v);
    }
    task_free(&t);
    cJSON_Delete(j);
}

typedef struct {
    char name[32];
    long count;
} StatusCount;

static void count_status(StatusCount *sc, int *nsc, long *other, const char *status) {
    for (int i = 0; i < *nsc; i++)
        if (strcmp(sc[i].name, status) == 0) { sc[i].count++; return; }
    if (*nsc == MAX_STATUSES) { (*other)++; return; }
    snprintf(sc[*nsc].name, sizeof sc[*nsc].name, "%s", status);
    sc[(*nsc)++].count = 1;
}

static int cmp_status(const void *a, const void *b) {
    return strcmp(((const StatusCount *)a)->name, ((const StatusCount *)b)->name);
}

int cmd_verify(int argc, char **argv) {
    const char *name = NULL;
    long jobs = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(VERIFY_USAGE, stdout); return 0; }
        if (!strcmp(a, "--verifier") || !strcmp(a, "--jobs")) {
            if (!v) { fprintf(stderr, "rlvr verify: %s needs a value (see rlvr verify --help)\n", a); return 2; }
            i++;
            if (!strcmp(a, "--verifier")) name = v;
            else if (util_parse_int(v, 1, 1024, &jobs)) {
                fprintf(stderr, "rlvr verify: --jobs must be an integer from 1 to 1024, not '%s'\n", v);
                return 2;
            }
            continue;
        }
        fprintf(stderr, "rlvr verify: unexpected argument '%s' (input is read from stdin; see rlvr verify --help)\n", a);
        return 2;
    }
    if (!name || !name[0]) { fprintf(stderr, "rlvr verify: --verifier NAME is required (see rlvr verify --help)\n"); return 2; }
    char err[1024];
    /* A built-in, a Lua script by path, or lua/verifiers/NAME.lua; a broken script is a
     * usage error naming file:line. */
    const Verifier *ver = luaverifier_resolve(name, NULL, err, sizeof err);
    if (!ver) {
        fprintf(stderr, "rlvr verify: %s\n", err);
        verifier_registry_free();
        return 2;
    }

    Slot *slots = calloc(CHUNK_LINES, sizeof *slots);
    StatusCount *sc = calloc(MAX_STATUSES, sizeof *sc);
    if (!slots || !sc) {
        fprintf(stderr, "rlvr verify: out of memory\n");
        free(slots); free(sc); verifier_registry_free();
        return 1;
    }
    int nsc = 0, rc = 0, eof = 0;
    long lineno = 0, other = 0;
    double sum = 0.0, t0 = util_now();
    while (!eof && rc == 0) {
        int n = 0;
        size_t bytes = 0;
        while (n < CHUNK_LINES && bytes < CHUNK_BYTES) {
            errno = 0;
            ssize_t len = getline(&slots[n].buf, &slots[n].cap, stdin);
            if (len < 0) {
                if (ferror(stdin)) { fprintf(stderr, "rlvr verify: reading stdin (line %ld): %s\n", lineno + 1, strerror(errno ? errno : EIO)); rc = 1; }
                eof = 1;
                break;
            }
            slots[n].len = (size_t)len;
            slots[n].lineno = ++lineno;
            bytes += (size_t)len;
            n++;
        }
        if (rc) break;
        #pragma omp parallel for schedule(dynamic, 4) num_threads((int)jobs) if (jobs > 1 && n > 1)
        for (int i = 0; i < n; i++) process_line(ver, &slots[i]);
        for (int i = 0; i < n; i++) {
            Slot *sl = &slots[i];
            if (rc == 0 && !sl->out) { fprintf(stderr, "rlvr verify: out of memory at line %ld\n", sl->lineno); rc = 1; }
            if (rc == 0 && (fputs(sl->out, stdout) == EOF || putchar('\n') == EOF)) {
                fprintf(stderr, "rlvr verify: writing stdout (line %ld): %s\n", sl->lineno, strerror(errno));
                rc = 1;
            }
            if (rc == 0) { sum += sl->reward; count_status(sc, &nsc, &other, sl->status); }
            free(sl->out);
            sl->out = NULL;
            if (sl->cap > KEEP_BUFFER) { free(sl->buf); sl->buf = NULL; sl->cap = 0; }
        }
    }
    if (rc == 0 && fflush(stdout) == EOF) { fprintf(stderr, "rlvr verify: writing stdout: %s\n", strerror(errno)); rc = 1; }
    double secs = util_now() - t0;
    if (rc == 0) {
        qsort(sc, (size_t)nsc, sizeof *sc, cmp_status);
        fprintf(stderr, "rlvr verify: %ld lines with %s in %.3f s (%.0f lines/s):", lineno, ver->name, secs,
                secs > 0 ? lineno / secs : 0.0);
        for (int i = 0; i < nsc; i++) fprintf(stderr, "%s %s %ld", i ? "," : "", sc[i].name, sc[i].count);
        if (other) fprintf(stderr, ", other %ld", other);
        fprintf(stderr, "%s; mean reward %.4f\n", lineno ? "" : " nothing to verify", lineno ? sum / lineno : 0.0);
    }
    for (int i = 0; i < CHUNK_LINES; i++) free(slots[i].buf);
    free(slots);
    free(sc);
    verifier_registry_free();
    return rc;
}
