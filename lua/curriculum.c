/* curriculum: drawing tasks (sources, mixing, the held-out filter), loading a script,
 * and moving through stages (promotion, saved state). The table rules are in
 * curriculum_parse.c. */
#include "lua/curriculum_internal.h"
#include "tasks/dataset.h"
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REDRAWS 1000        /* draws that hit the held-out set before giving up */
#define EVAL_TRIES_PER_TASK 20  /* draws per eval task allowed for removing duplicates */

/* ================================================================ tasks */

int curriculum_load_file(Curriculum *c, const char *path, Task **tasks, size_t *n, char *err, size_t errlen) {
    for (int i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].path, path) == 0) { *tasks = c->files[i].tasks; *n = c->files[i].n; return 0; }
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    Task *ts = NULL;
    size_t cnt = 0, cap = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        size_t k = 0;
        while (k < (size_t)len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\n' || line[k] == '\r')) k++;
        if (k == (size_t)len) continue;
        cJSON *obj = dataset_parse_line(line, (size_t)len);
        if (!obj || !cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            snprintf(err, errlen, "%s:%d: not a JSON object", path, lineno);
            rc = -1;
            break;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            Task *nt = realloc(ts, nc * sizeof *nt);
            if (!nt) { cJSON_Delete(obj); snprintf(err, errlen, "out of memory"); rc = -1; break; }
            ts = nt;
            cap = nc;
        }
        char e[512];
        if (task_from_json(&ts[cnt], obj, NULL, e, sizeof e)) {
            cJSON_Delete(obj);
            snprintf(err, errlen, "%s:%d: %s", path, lineno, e);
            rc = -1;
            break;
        }
        cJSON_Delete(obj);
        if (!ts[cnt].id[0]) {   /* "train.jsonl:17", so samples and metrics can name it */
            const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
            char *id = malloc(strlen(base) + 16);
            if (!id) { task_free(&ts[cnt]); snprintf(err, errlen, "out of memory"); rc = -1; break; }
            sprintf(id, "%s:%d", base, lineno);
            free(ts[cnt].id);
            ts[cnt].id = id;
        }
        cnt++;
    }
    if (!rc && ferror(f)) { snprintf(err, errlen, "%s: read error", path); rc = -1; }
    free(line);
    fclose(f);
    FileCache *nf = rc ? NULL : realloc(c->files, (size_t)(c->n_files + 1) * sizeof *nf);
    char *pcopy = nf ? strdup(path) : NULL;
    if (!rc && (!nf || !pcopy)) { snprintf(err, errlen, "out of memory"); rc = -1; }
    if (nf) c->files = nf;
    if (rc) {
        free(pcopy);
        for (size_t i = 0; i < cnt; i++) task_free(&ts[i]);
        free(ts);
        return -1;
    }
    c->files[c->n_files++] = (FileCache){ pcopy, ts, cnt };
    *tasks = ts;
    *n = cnt;
    return 0;
}

static int task_copy(Task *dst, const Task *src) {
    memset(dst, 0, sizeof *dst);
    dst->id = strdup(src->id);
    dst->prompt = strdup(src->prompt);
    dst->reference = strdup(src->reference);
    dst->verifier = strdup(src->verifier);
    dst->meta = cJSON_Duplicate(src->meta, 1);
    if (dst->id && dst->prompt && dst->reference && dst->verifier && dst->meta) return 0;
    task_free(dst);
    return -1;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h ? h : 1;
}

static int held_contains(const Curriculum *c, uint64_t h) {
    if (!c->held_cap) return 0;
    for (size_t i = h & (c->held_cap - 1);; i = (i + 1) & (c->held_cap - 1)) {
        if (c->held[i] == h) return 1;
        if (!c->held[i]) return 0;
    }
}

static void held_add(Curriculum *c, uint64_t h) {
    if (held_contains(c, h)) return;
    size_t i = h & (c->held_cap - 1);
    while (c->held[i]) i = (i + 1) & (c->held_cap - 1);
    c->held[i] = h;
}

/* Protected part of a generator call: fn at 1; leaves the task as a JSON object in the
 * cJSON* given as light userdata at 2. */
static int l_generate(lua_State *L) {
    cJSON *obj = lua_touserdata(L, 2);
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1)) return luaL_error(L, "generate returned %s, expected a task table {prompt = ..., reference = ...}", luaL_typename(L, -1));
    luahost_add_json_members(L, lua_gettop(L), obj, 0);
    return 0;
}

/* A generator returns {prompt, reference, verifier, meta = {...}}; a dataset line keeps
 * meta's fields at the top level. Bring meta's members up, so both end in Task.meta the
 * same way. */
static int flatten_meta(cJSON *obj, char *why, size_t n) {
    cJSON *meta = cJSON_DetachItemFromObjectCaseSensitive(obj, "meta");
    if (!meta) return 0;
    if (!cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        snprintf(why, n, "the task's meta must be a table with named fields");
        return -1;
    }
    while (meta->child) {
        cJSON *item = cJSON_DetachItemViaPointer(meta, meta->child);
        if (cJSON_GetObjectItemCaseSensitive(obj, item->string)) {
            snprintf(why, n, "meta.%s repeats a field the task already has", item->string);
            cJSON_Delete(item);
            cJSON_Delete(meta);
            return -1;
        }
        cJSON_AddItemToObject(obj, item->string, item);
    }
    cJSON_Delete(meta);
    return 0;
}

static int gen_fail(const Curriculum *c, const StageImpl *st, int si, const char *why, char *err, size_t errlen) {
    if (strncmp(why, c->path, strlen(c->path)) == 0 || strstr(why, ".lua:"))
        snprintf(err, errlen, "%s (stage %s, source %d)", why, st->pub.name, si + 1);
    else
        snprintf(err, errlen, "%s:%d: stage %s, source %d: %s", c->path, st->src[si].line, st->pub.name, si + 1, why);
    return -1;
}

/* One task from source si of a stage. A generated task gets id "<stage>:<draw>". */
static int source_draw(Curriculum *c, StageImpl *st, int si, Rng *order_rng, Task *out, char *err, size_t errlen) {
    Source *s = &st->src[si];
    memset(out, 0, sizeof *out);
    if (s->kind == SRC_JSONL) {
        if (order_rng) {           /* a random line, for samples */
            return task_copy(out, &s->tasks[rng_next(order_rng) % s->n_tasks])
                ? (snprintf(err, errlen, "out of memory"), -1) : 0;
        }
        if (s->pos == 0 && s->shuffle) {
            if (!s->perm && !(s->perm = malloc(s->n_tasks * sizeof *s->perm))) { snprintf(err, errlen, "out of memory"); return -1; }
            Rng r = rng_derive(c->seed ^ hash_str(st->pub.name), s->epoch * 64 + (uint64_t)si);
            for (size_t i = 0; i < s->n_tasks; i++) s->perm[i] = i;
            for (size_t i = s->n_tasks - 1; i > 0; i--) {
                size_t j = rng_next(&r) % (i + 1);
                size_t t = s->perm[i]; s->perm[i] = s->perm[j]; s->perm[j] = t;
            }
        }
        size_t k = s->shuffle ? s->perm[s->pos] : s->pos;
        if (++s->pos == s->n_tasks) { s->pos = 0; s->epoch++; }
        if (task_copy(out, &s->tasks[k])) { snprintf(err, errlen, "out of memory"); return -1; }
        return 0;
    }
    lua_State *L = luahost_state(c->host);
    cJSON *obj = cJSON_CreateObject();
    if (!obj) { snprintf(err, errlen, "out of memory"); return -1; }
    lua_pushcfunction(L, l_generate);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->fn_ref);
    lua_pushlightuserdata(L, obj);
    char why[1024];
    if (luahost_pcall(c->host, 2, 0, why, sizeof why)) {
        cJSON_Delete(obj);
        return gen_fail(c, st, si, why, err, errlen);
    }
    int rc = flatten_meta(obj, why, sizeof why) ? -1 : task_from_json(out, obj, NULL, why, sizeof why);
    cJSON_Delete(obj);
    if (rc) return gen_fail(c, st, si, why, err, errlen);
    if (!out->id[0]) {
        char id[160];
        snprintf(id, sizeof id, "%s:%ld", st->pub.name, c->draws);
        free(out->id);
        if (!(out->id = strdup(id))) { task_free(out); snprintf(err, errlen, "out of memory"); return -1; }
    }
    return 0;
}

static int pick_source(const StageImpl *st, Rng *r) {
    double x = rng_uniform_double(r) * st->total_weight;
    for (int i = 0; i < st->pub.n_sources; i++) {
        if (x < st->pub.sources[i].weight) return i;
        x -= st->pub.sources[i].weight;
    }
    return st->pub.n_sources - 1;
}

int curriculum_draw(Curriculum *c, Task *out, char *err, size_t errlen) {
    if (c->stage >= c->n_stages) { snprintf(err, errlen, "%s: the curriculum is finished", c->path); return -1; }
    StageImpl *st = &c->stages[c->stage];
    for (int tries = 0; tries < MAX_REDRAWS; tries++) {
        int si = pick_source(st, &c->pick);
        c->draws++;
        if (source_draw(c, st, si, NULL, out, err, errlen)) return -1;
        if (!held_contains(c, hash_str(out->prompt))) return 0;
        c->rejected++;
        task_free(out);
    }
    snprintf(err, errlen, "%s: stage %s: %d draws in a row were in the held-out eval set; the sources are too small to hold one out",
             c->path, st->pub.name, MAX_REDRAWS);
    return -1;
}

int curriculum_sample(Curriculum *c, int stage, int source, uint64_t seed, Task *out, char *err, size_t errlen) {
    if (stage < 0 || stage >= c->n_stages || source < 0 || source >= c->stages[stage].pub.n_sources) {
        snprintf(err, errlen, "no such stage or source");
        return -1;
    }
    uint64_t saved = luahost_rng(c->host);
    luahost_seed(c->host, seed);
    Rng r = rng_derive(seed, 7);
    long draws = c->draws;
    c->draws = -1;          /* generated ids read "<stage>:-1": not from the training stream */
    int rc = source_draw(c, &c->stages[stage], source, &r, out, err, errlen);
    c->draws = draws;
    luahost_seed(c->host, saved);
    return rc;
}

/* The eval set: n tasks (all of the JSONL lines when n is not given), drawn with the
 * eval seed, without duplicate prompts. */
static int draw_eval(Curriculum *c, char *err, size_t errlen) {
    StageImpl *ev = &c->eval_src;
    long n = c->eval_n;
    if (!n) for (int i = 0; i < ev->pub.n_sources; i++) n += (long)ev->src[i].n_tasks;
    for (int i = 0; i < ev->pub.n_sources; i++)
        if (ev->src[i].kind == SRC_JSONL && ev->src[i].shuffle < 0) ev->src[i].shuffle = 0; /* file order */
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    if (!(c->eval = calloc((size_t)n, sizeof *c->eval)) || !(c->held = calloc(cap, sizeof *c->held))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->held_cap = cap;
    uint64_t train_rng = luahost_rng(c->host);
    luahost_seed(c->host, c->eval_seed);
    Rng pick = rng_derive(c->eval_seed, 3);
    long tries = 0, limit = n * EVAL_TRIES_PER_TASK;
    int rc = 0;
    while (c->n_eval < n && tries++ < limit) {
        Task t;
        if (source_draw(c, ev, pick_source(ev, &pick), NULL, &t, err, errlen)) { rc = -1; break; }
        uint64_t h = hash_str(t.prompt);
        if (held_contains(c, h)) { task_free(&t); continue; }
        held_add(c, h);
        char id[32];
        snprintf(id, sizeof id, "eval:%d", c->n_eval);
        if (!t.id[0]) { free(t.id); t.id = strdup(id); }
        if (!t.verifier[0] && ev->pub.n_verifiers) { free(t.verifier); t.verifier = strdup(ev->pub.verifiers[0].name); }
        if (!t.id || !t.verifier) { task_free(&t); snprintf(err, errlen, "out of memory"); rc = -1; break; }
        c->eval[c->n_eval++] = t;
    }
    luahost_seed(c->host, train_rng);
    if (!rc && c->n_eval < n && c->eval_n)
        fprintf(stderr, "rlvr: %s: the eval sources gave only %d distinct prompts of the %ld asked\n", c->path, c->n_eval, n);
    return rc;
}

/* ================================================================ loading */

static int l_load_curriculum(lua_State *L) {
    Curriculum *c = lua_touserdata(L, 2);
    Parse *p = lua_touserdata(L, 3);
    curparse_read(L, 1, c, p);
    return 0;
}

Curriculum *curriculum_load(const char *path, uint64_t seed, const LuaHostLimits *lim, char *err, size_t errlen) {
    Curriculum *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path)) || !(c->dir = strdup(path))) {
        if (c) free(c->path);
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char *slash = strrchr(c->dir, '/');
    if (slash) *slash = 0;
    else strcpy(c->dir, ".");
    c->seed = seed;
    LuaHostLimits l = lim ? *lim : (LuaHostLimits){ 0 };
    l.seed = rng_derive(seed, 1).state;
    c->pick = rng_derive(seed, 2);
    char why[1024];
    if (luahost_new(&c->host, &l, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        curriculum_free(c);
        return NULL;
    }
    lua_State *L = luahost_state(c->host);
    curparse_open_lib(L);
    lua_pushstring(L, c->dir);
    lua_setfield(L, LUA_REGISTRYINDEX, DIR_KEY);
    if (luahost_loadfile(c->host, path, why, sizeof why) || luahost_pcall(c->host, 0, 1, why, sizeof why)) {
        if (strstr(why, path) == why) snprintf(err, errlen, "%s", why);
        else snprintf(err, errlen, "%s: %s", path, why);
        curriculum_free(c);
        return NULL;
    }
    /* Only a table that went through rlvr.curriculum{} has been checked with line numbers. */
    int marked = lua_istable(L, 1) && lua_getmetatable(L, 1) && (luaL_getmetatable(L, CURRICULUM_MT), lua_rawequal(L, -1, -2));
    if (!marked) {
        snprintf(err, errlen, "%s: the script must return rlvr.curriculum{...} (it returned a %s)", path, luaL_typename(L, 1));
        lua_settop(L, 0);
        curriculum_free(c);
        return NULL;
    }
    lua_settop(L, 1);
    Parse p = { 0 };
    lua_pushcfunction(L, l_load_curriculum);
    lua_insert(L, 1);
    lua_pushlightuserdata(L, c);
    lua_pushlightuserdata(L, &p);
    if (luahost_pcall(c->host, 3, 0, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        curparse_free(L, &p);
        curriculum_free(c);
        return NULL;
    }
    lua_settop(L, 0);
    /* The parse's pieces become the curriculum's. */
    c->name = p.name;
    c->stages = p.stages;
    c->n_stages = p.n_stages;
    c->defaults = p.defaults;
    c->eval_src = p.eval;
    c->eval_n = p.eval_n;
    c->eval_seed = (uint64_t)p.eval_seed;
    if (draw_eval(c, err, errlen)) { curriculum_free(c); return NULL; }
    for (int i = 0; i < c->n_stages; i++)
        for (int s = 0; s < c->stages[i].pub.n_sources; s++)
            if (c->stages[i].src[s].shuffle < 0) c->stages[i].src[s].shuffle = 1;
    c->stage = 0;
    c->win_cap = c->stages[0].pub.window;
    if (c->win_cap && !(c->window = calloc((size_t)c->win_cap, sizeof *c->window))) {
        snprintf(err, errlen, "out of memory");
        curriculum_free(c);
        return NULL;
    }
    return c;
}

void curriculum_free(Curriculum *c) {
    if (!c) return;
    lua_State *L = c->host ? luahost_state(c->host) : NULL;
    for (int i = 0; i < c->n_stages; i++) curparse_stage_clear(L, &c->stages[i]);
    free(c->stages);
    curparse_stage_clear(L, &c->eval_src);
    for (int i = 0; i < c->n_eval; i++) task_free(&c->eval[i]);
    free(c->eval);
    free(c->held);
    for (int i = 0; i < c->n_files; i++) {
        for (size_t k = 0; k < c->files[i].n; k++) task_free(&c->files[i].tasks[k]);
        free(c->files[i].tasks);
        free(c->files[i].path);
    }
    free(c->files);
    cJSON_Delete(c->defaults);
    free(c->window);
    luahost_free(c->host);
    free(c->name);
    free(c->path);
    free(c->dir);
    free(c);
}

/* ================================================================ accessors, progress */

const char  *curriculum_name(const Curriculum *c) { return c->name; }
const char  *curriculum_path(const Curriculum *c) { return c->path; }
int          curriculum_n_stages(const Curriculum *c) { return c->n_stages; }
const Stage *curriculum_stage(const Curriculum *c, int i) { return i >= 0 && i < c->n_stages ? &c->stages[i].pub : NULL; }
const cJSON *curriculum_defaults(const Curriculum *c) { return c->defaults; }
int          curriculum_n_eval(const Curriculum *c) { return c->n_eval; }
const Task  *curriculum_eval_task(const Curriculum *c, int i) { return i >= 0 && i < c->n_eval ? &c->eval[i] : NULL; }
int          curriculum_stage_index(const Curriculum *c) { return c->stage; }
long         curriculum_stage_step(const Curriculum *c) { return c->stage_step; }
long         curriculum_total_steps(const Curriculum *c) { return c->total_steps; }

double curriculum_window_mean(const Curriculum *c, int *count) {
    if (count) *count = c->win_n;
    if (!c->win_n) return NAN;
    double s = 0;
    for (int i = 0; i < c->win_n; i++) s += c->window[i];  /* order-free sum of the kept ones */
    return s / c->win_n;
}

void curriculum_record(Curriculum *c, const double *rewards, int n) {
    if (!c->win_cap) return;
    for (int i = 0; i < n; i++) {
        c->window[c->win_pos] = rewards[i];
        c->win_pos = (c->win_pos + 1) % c->win_cap;
        if (c->win_n < c->win_cap) c->win_n++;
    }
}

static int enter_stage(Curriculum *c, int stage) {
    c->stage = stage;
    c->stage_step = 0;
    c->win_n = c->win_pos = 0;
    free(c->window);
    c->window = NULL;
    c->win_cap = stage < c->n_stages ? c->stages[stage].pub.window : 0;
    if (c->win_cap && !(c->window = calloc((size_t)c->win_cap, sizeof *c->window))) { c->win_cap = 0; return -1; }
    return 0;
}

int curriculum_goto_stage(Curriculum *c, int stage) {
    if (stage < 0 || stage >= c->n_stages) return -1;
    return enter_stage(c, stage);
}

int curriculum_end_step(Curriculum *c) {
    if (c->stage >= c->n_stages) return 2;
    const Stage *s = &c->stages[c->stage].pub;
    c->stage_step++;
    c->total_steps++;
    int done;
    if (s->steps) done = c->stage_step >= s->steps;
    else {
        int cnt;
        double m = curriculum_window_mean(c, &cnt);
        done = (cnt >= s->window && c->stage_step >= s->min_steps && m >= s->threshold) ||
               (s->max_steps && c->stage_step >= s->max_steps);
    }
    if (!done) return 0;
    enter_stage(c, c->stage + 1);
    return c->stage >= c->n_stages ? 2 : 1;
}

/* ================================================================ state */

static cJSON *hex64(uint64_t v) {
    char b[20];
    snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
    return cJSON_CreateString(b);
}

static int add_item(cJSON *o, const char *k, cJSON *item) {
    if (item && cJSON_AddItemToObject(o, k, item)) return 1;
    cJSON_Delete(item);
    return 0;
}

static int unhex64(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsString(j) || strlen(j->valuestring) != 16) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(j->valuestring, &end, 16);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* {"name", "stage", "stage_step", "total_steps", "draws", "rejected", "pick_rng",
 *  "lua_rng", "sources": [[{"epoch", "pos"} per source] per stage],
 *  "window": [rewards, oldest first]}. 64-bit states are hex strings (a JSON number
 * cannot hold them exactly); rewards are doubles, which cJSON prints round-trip. */
cJSON *curriculum_save(const Curriculum *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddStringToObject(o, "name", c->name) && cJSON_AddNumberToObject(o, "stage", c->stage) &&
             cJSON_AddNumberToObject(o, "stage_step", (double)c->stage_step) &&
             cJSON_AddNumberToObject(o, "total_steps", (double)c->total_steps) &&
             cJSON_AddNumberToObject(o, "draws", (double)c->draws) &&
             cJSON_AddNumberToObject(o, "rejected", (double)c->rejected) &&
             add_item(o, "seed", hex64(c->seed)) && add_item(o, "pick_rng", hex64(c->pick.state)) &&
             add_item(o, "lua_rng", hex64(luahost_rng(c->host)));
    cJSON *srcs = ok ? cJSON_AddArrayToObject(o, "sources") : NULL;
    for (int i = 0; srcs && i < c->n_stages; i++) {
        cJSON *arr = cJSON_CreateArray();
        if (!arr || !cJSON_AddItemToArray(srcs, arr)) { cJSON_Delete(arr); srcs = NULL; break; }
        for (int k = 0; k < c->stages[i].pub.n_sources; k++) {
            cJSON *e = cJSON_CreateObject();
            if (!e || !cJSON_AddItemToArray(arr, e)) { cJSON_Delete(e); srcs = NULL; break; }
            if (!cJSON_AddNumberToObject(e, "epoch", (double)c->stages[i].src[k].epoch) ||
                !cJSON_AddNumberToObject(e, "pos", (double)c->stages[i].src[k].pos)) { srcs = NULL; break; }
        }
    }
    cJSON *win = srcs ? cJSON_AddArrayToObject(o, "window") : NULL;
    for (int i = 0; win && i < c->win_n; i++) {
        int k = (c->win_pos - c->win_n + i + c->win_cap) % c->win_cap;
        cJSON *x = cJSON_CreateNumber(c->window[k]);
        if (!x || !cJSON_AddItemToArray(win, x)) { cJSON_Delete(x); win = NULL; }
    }
    if (!win) { cJSON_Delete(o); return NULL; }
    return o;
}

static int get_count(const cJSON *o, const char *k, double hi, long *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > hi || j->valuedouble != floor(j->valuedouble)) return -1;
    *out = (long)j->valuedouble;
    return 0;
}

int curriculum_restore(Curriculum *c, const cJSON *st, char *err, size_t errlen) {
    long stage, stage_step, total, draws, rejected;
    uint64_t pick, lua, seed;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(st, "name");
    if (!cJSON_IsObject(st) || !cJSON_IsString(name) || strcmp(name->valuestring, c->name)) {
        snprintf(err, errlen, "curriculum state: it belongs to another curriculum (expected '%s')", c->name);
        return -1;
    }
    if (get_count(st, "stage", c->n_stages, &stage) || get_count(st, "stage_step", 1e15, &stage_step) ||
        get_count(st, "total_steps", 1e15, &total) || get_count(st, "draws", 1e15, &draws) ||
        get_count(st, "rejected", 1e15, &rejected) ||
        unhex64(cJSON_GetObjectItemCaseSensitive(st, "seed"), &seed) ||
        unhex64(cJSON_GetObjectItemCaseSensitive(st, "pick_rng"), &pick) ||
        unhex64(cJSON_GetObjectItemCaseSensitive(st, "lua_rng"), &lua)) {
        snprintf(err, errlen, "curriculum state: a counter or RNG state is missing or malformed");
        return -1;
    }
    const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(st, "sources");
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(st, "window");
    if (!cJSON_IsArray(srcs) || cJSON_GetArraySize(srcs) != c->n_stages || !cJSON_IsArray(win)) {
        snprintf(err, errlen, "curriculum state: the stages do not match this curriculum (%d stages)", c->n_stages);
        return -1;
    }
    for (int i = 0; i < c->n_stages; i++) {
        const cJSON *arr = cJSON_GetArrayItem(srcs, i);
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != c->stages[i].pub.n_sources) {
            snprintf(err, errlen, "curriculum state: stage %s has %d sources here", c->stages[i].pub.name, c->stages[i].pub.n_sources);
            return -1;
        }
        for (int k = 0; k < c->stages[i].pub.n_sources; k++) {
            long epoch, pos;
            Source *s = &c->stages[i].src[k];
            const cJSON *e = cJSON_GetArrayItem(arr, k);
            if (get_count(e, "epoch", 1e15, &epoch) || get_count(e, "pos", 1e15, &pos) ||
                (s->kind == SRC_JSONL ? (size_t)pos >= s->n_tasks : pos != 0)) {
                snprintf(err, errlen, "curriculum state: stage %s source %d: bad read position", c->stages[i].pub.name, k + 1);
                return -1;
            }
            s->epoch = (uint64_t)epoch;
            s->pos = (size_t)pos;
        }
    }
    if (enter_stage(c, (int)stage)) { snprintf(err, errlen, "out of memory"); return -1; }
    int n = cJSON_GetArraySize(win);
    if (n > c->win_cap) { snprintf(err, errlen, "curriculum state: the window holds %d rewards, more than the stage's %d", n, c->win_cap); return -1; }
    double *vals = n ? malloc((size_t)n * sizeof *vals) : NULL;
    if (n && !vals) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(win, i);
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) { free(vals); snprintf(err, errlen, "curriculum state: window[%d] is not a number", i); return -1; }
        vals[i] = x->valuedouble;
    }
    curriculum_record(c, vals, n);
    free(vals);
    c->seed = seed;
    /* A shuffled JSONL source part-way through an epoch needs that epoch's order back. */
    for (int i = 0; i < c->n_stages; i++)
        for (int k = 0; k < c->stages[i].pub.n_sources; k++) {
            Source *s = &c->stages[i].src[k];
            if (s->kind != SRC_JSONL || !s->shuffle || s->pos == 0) continue;
            size_t pos = s->pos;
            s->pos = 0;
            Task t;
            if (source_draw(c, &c->stages[i], k, NULL, &t, err, errlen)) return -1;
            task_free(&t);
            s->pos = pos;
        }
    c->stage_step = stage_step;
    c->total_steps = total;
    c->draws = draws;
    c->rejected = rejected;
    c->pick.state = pick;
    luahost_seed(c->host, lua);
    return 0;
}
