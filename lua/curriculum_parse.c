/* curriculum_parse: the rules of a curriculum table, checked field by field with
 * messages that name the field ("stages[2].promote.window must be ..."). They run twice:
 * inside the script, when rlvr.curriculum{} and rlvr.stage{} are called (so errors
 * carry the script's line), and again by the loader, which keeps what they build. */
#include "lua/curriculum_internal.h"
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAGE_MT "rlvr.stage"

/* ================================================================ the table rules */

/* The trainer settings a stage (or `defaults`) may set, with their types. Unknown keys
 * are refused, so a typo never silently leaves a setting at its default. */
typedef enum { K_NUM, K_POSNUM, K_INT, K_POSINT, K_FRAC, K_BOOL, K_STR } KeyType;
typedef struct { const char *key; KeyType type; const char *choices; } KeyRule;

static const KeyRule SETTING_KEYS[] = {
    { "temperature", K_NUM, NULL },      { "top_p", K_FRAC, NULL },
    { "group_size", K_POSINT, NULL },    { "prompts", K_POSINT, NULL },
    { "batch_size", K_POSINT, NULL },    { "max_new_tokens", K_POSINT, NULL },
    { "lr", K_POSNUM, NULL },            { "warmup", K_INT, NULL },
    { "kl_beta", K_NUM, NULL },          { "epochs", K_POSINT, NULL },
    { "minibatches", K_POSINT, NULL },   { "clip_low", K_NUM, NULL },
    { "clip_high", K_NUM, NULL },        { "advantage", K_STR, "grpo dr_grpo rloo" },
    { "loss_agg", K_STR, "token_mean seq_mean constant" },
    { "dynamic_sampling", K_BOOL, NULL }, { "refill_budget", K_INT, NULL },
    { "truncated", K_STR, "keep mask penalize" },
    { "calculator", K_BOOL, NULL },      { "grad_clip", K_NUM, NULL },
    { "weight_decay", K_NUM, NULL },     { NULL, 0, NULL } };

/* Only in `defaults`: settings of the whole run. */
static const KeyRule RUN_KEYS[] = {
    { "preset", K_STR, "tiny small base" }, { "vocab", K_POSINT, NULL }, { "context", K_POSINT, NULL },
    { "eval_every", K_INT, NULL },        { "checkpoint_every", K_INT, NULL },
    { "eval_max_new_tokens", K_POSINT, NULL }, { "seed", K_INT, NULL },
    { NULL, 0, NULL } };

static const char *const STAGE_FIELDS[] = { "name", "mode", "sources", "verifier", "verifiers", "steps", "promote", NULL };

static int in_list(const char *const *list, const char *s) {
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

static const KeyRule *find_rule(const KeyRule *rules, const char *k) {
    for (; rules->key; rules++)
        if (strcmp(rules->key, k) == 0) return rules;
    return NULL;
}

static int word_in(const char *words, const char *w) {
    size_t n = strlen(w);
    for (const char *p = words; (p = strstr(p, w)); p += n)
        if ((p == words || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

/* Check the value at the top of the stack against a rule and add it to obj. Raises. */
static void add_setting(lua_State *L, const KeyRule *r, const char *where, cJSON *obj) {
    const char *k = r->key;
    cJSON *item = NULL;
    if (r->type == K_BOOL) {
        if (!lua_isboolean(L, -1)) luaL_error(L, "%s.%s must be true or false", where, k);
        item = cJSON_CreateBool(lua_toboolean(L, -1));
    } else if (r->type == K_STR) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!s || (r->choices && !word_in(r->choices, s)))
            luaL_error(L, "%s.%s must be one of: %s", where, k, r->choices);
        item = cJSON_CreateString(s);
    } else {
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "%s.%s must be a number", where, k);
        double v = lua_tonumber(L, -1);
        int whole = lua_isinteger(L, -1) || (isfinite(v) && v == floor(v));
        if (!isfinite(v)) luaL_error(L, "%s.%s must be finite", where, k);
        if ((r->type == K_INT || r->type == K_POSINT) && !whole) luaL_error(L, "%s.%s must be an integer", where, k);
        if ((r->type == K_POSINT || r->type == K_POSNUM) && v <= 0) luaL_error(L, "%s.%s must be positive", where, k);
        if (r->type == K_INT && v < 0) luaL_error(L, "%s.%s must not be negative", where, k);
        if (r->type == K_NUM && v < 0) luaL_error(L, "%s.%s must not be negative", where, k);
        if (r->type == K_FRAC && !(v > 0 && v <= 1)) luaL_error(L, "%s.%s must be in (0, 1]", where, k);
        item = cJSON_CreateNumber(v);
    }
    if (!item || !cJSON_AddItemToObject(obj, k, item)) { cJSON_Delete(item); luaL_error(L, "out of memory"); }
}

/* Lua's table order varies from state to state: settings objects are sorted by key so
 * that configs, checkpoints and printed output are the same on every run. */
static int cmp_key(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void sort_object(cJSON *obj) {
    int n = cJSON_GetArraySize(obj);
    cJSON **items = n > 1 ? malloc((size_t)n * sizeof *items) : NULL;
    if (!items) return;   /* (out of memory: left unsorted, still valid) */
    for (int i = 0; i < n; i++) items[i] = cJSON_DetachItemViaPointer(obj, obj->child);
    qsort(items, (size_t)n, sizeof *items, cmp_key);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(obj, items[i]);   /* keeps each key */
    free(items);
}

/* Reading a curriculum table into C, shared by the checks that run inside the script
 * (rlvr.curriculum, rlvr.stage: errors carry the script's line) and by the loader. In
 * check-only mode nothing is kept; otherwise generator functions are referenced in the
 * registry and JSONL files are loaded. Every function here may raise a Lua error; the
 * Parse owns what it built so far, so the caller frees it either way. */


/* Resolve a JSONL path: as given (absolute, or relative to the working directory), else
 * relative to the script's folder (kept in the registry, since the checks that run
 * inside the script have no Curriculum at hand). */
static int resolve_path(lua_State *L, const char *p, char *out, size_t n) {
    snprintf(out, n, "%s", p);
    if (p[0] == '/' || access(out, R_OK) == 0) return access(out, R_OK);
    if (lua_getfield(L, LUA_REGISTRYINDEX, DIR_KEY) == LUA_TSTRING) {
        snprintf(out, n, "%s/%s", lua_tostring(L, -1), p);
        lua_pop(L, 1);
        if (access(out, R_OK) == 0) return 0;
    } else lua_pop(L, 1);
    snprintf(out, n, "%s", p);
    return -1;
}


/* Fill src from the source table at idx. keep: take references and load files. */
static void read_source(lua_State *L, int idx, const char *where, Curriculum *keep, Source *src, double *weight) {
    idx = lua_absindex(L, idx);
    src->fn_ref = LUA_NOREF;
    *weight = 1.0;
    if (lua_isfunction(L, idx)) {    /* shorthand: a bare generator, weight 1 */
        src->kind = SRC_GENERATE;
        lua_pushvalue(L, idx);
    } else {
        if (!lua_istable(L, idx)) luaL_error(L, "%s must be a table {generate = function, weight = w} or {jsonl = \"file\", weight = w}", where);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (!k || (strcmp(k, "generate") && strcmp(k, "jsonl") && strcmp(k, "weight") && strcmp(k, "shuffle")))
                luaL_error(L, "%s: unknown field '%s' (known: generate, jsonl, weight, shuffle)", where,
                           k ? k : luaL_typename(L, -2));
            lua_pop(L, 1);
        }
        int tw = lua_getfield(L, idx, "weight");
        if (tw != LUA_TNIL) {
            double w = lua_tonumber(L, -1);
            if (tw != LUA_TNUMBER || !(w > 0) || !isfinite(w)) luaL_error(L, "%s.weight must be a positive number", where);
            *weight = w;
        }
        lua_pop(L, 1);
        int tg = lua_getfield(L, idx, "generate");
        int tj = lua_getfield(L, idx, "jsonl");
        if ((tg == LUA_TNIL) == (tj == LUA_TNIL)) luaL_error(L, "%s needs exactly one of 'generate' (a function) and 'jsonl' (a file)", where);
        int ts = lua_getfield(L, idx, "shuffle");
        if (ts != LUA_TNIL && ts != LUA_TBOOLEAN) luaL_error(L, "%s.shuffle must be true or false", where);
        src->shuffle = ts == LUA_TNIL ? -1 : lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (tj != LUA_TNIL) {
            if (tj != LUA_TSTRING) luaL_error(L, "%s.jsonl must be a file name", where);
            char path[4096];
            if (resolve_path(L, lua_tostring(L, -1), path, sizeof path))
                luaL_error(L, "%s.jsonl: cannot read '%s': %s", where, lua_tostring(L, -1), strerror(errno ? errno : ENOENT));
            src->kind = SRC_JSONL;
            if (keep) {
                if (!(src->path = strdup(path))) luaL_error(L, "out of memory");
                char err[4700];
                if (curriculum_load_file(keep, path, &src->tasks, &src->n_tasks, err, sizeof err)) luaL_error(L, "%s", err);
                if (!src->n_tasks) luaL_error(L, "%s.jsonl: '%s' holds no tasks", where, path);
            }
            lua_pop(L, 2);
            return;
        }
        if (tg != LUA_TFUNCTION) luaL_error(L, "%s.generate must be a function", where);
        src->kind = SRC_GENERATE;
        lua_pop(L, 1);   /* jsonl (nil); generate stays on top */
    }
    lua_Debug ar;
    lua_pushvalue(L, -1);
    lua_getinfo(L, ">S", &ar);
    src->line = ar.linedefined;
    if (keep) src->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
}

/* sources = {...}: an array of sources, or one source table. */
static void read_sources(lua_State *L, int idx, const char *where, Curriculum *keep, StageImpl *st) {
    idx = lua_absindex(L, idx);
    int t = lua_getfield(L, idx, "sources");
    if (t != LUA_TTABLE) luaL_error(L, "%s.sources must be an array of sources", where);
    int single = lua_getfield(L, -1, "generate") != LUA_TNIL;
    lua_pop(L, 1);
    single |= lua_getfield(L, -1, "jsonl") != LUA_TNIL;
    lua_pop(L, 1);
    lua_Integer n = single ? 1 : (lua_Integer)luaL_len(L, -1);
    if (n < 1 || n > 64) { luaL_error(L, "%s.sources must hold 1 to 64 sources", where); return; }
    st->src = calloc((size_t)n, sizeof *st->src);
    st->pub.sources = calloc((size_t)n, sizeof *st->pub.sources);
    if (!st->src || !st->pub.sources) luaL_error(L, "out of memory");
    st->pub.n_sources = (int)n;
    for (lua_Integer i = 0; i < n; i++) st->src[i].fn_ref = LUA_NOREF;
    for (lua_Integer i = 1; i <= n; i++) {
        char w[256];
        snprintf(w, sizeof w, "%s.sources[%lld]", where, (long long)i);
        if (single) lua_pushvalue(L, -1);
        else lua_geti(L, -1, i);
        double weight;
        read_source(L, -1, w, keep, &st->src[i - 1], &weight);
        lua_pop(L, 1);
        st->pub.sources[i - 1].weight = weight;
        st->total_weight += weight;
        Source *s = &st->src[i - 1];
        char label[4200];
        if (s->kind == SRC_JSONL) snprintf(label, sizeof label, "jsonl %s", s->path ? s->path : "");
        else snprintf(label, sizeof label, "generate (defined at line %d)", s->line);
        st->pub.sources[i - 1].label = strdup(label);
        if (!st->pub.sources[i - 1].label) luaL_error(L, "out of memory");
    }
    lua_pop(L, 1);
}

/* verifier = "name" | verifiers = {"a", {name = "b", weight = 0.1}, ...} | {a = 1, b = 0.1}. */
static void read_verifiers(lua_State *L, int idx, const char *where, StageImpl *st) {
    idx = lua_absindex(L, idx);
    int t1 = lua_getfield(L, idx, "verifier");
    int t2 = lua_getfield(L, idx, "verifiers");
    if (t1 != LUA_TNIL && t2 != LUA_TNIL) luaL_error(L, "%s: give 'verifier' or 'verifiers', not both", where);
    if (t1 == LUA_TNIL && t2 == LUA_TNIL) { lua_pop(L, 2); return; }
    if (t1 != LUA_TNIL) {
        if (t1 != LUA_TSTRING || !lua_rawlen(L, -2)) luaL_error(L, "%s.verifier must be a verifier name or a .lua path", where);
        st->pub.verifiers = calloc(1, sizeof *st->pub.verifiers);
        if (!st->pub.verifiers || !(st->pub.verifiers[0].name = strdup(lua_tostring(L, -2)))) luaL_error(L, "out of memory");
        st->pub.verifiers[0].weight = 1.0;
        st->pub.n_verifiers = 1;
        lua_pop(L, 2);
        return;
    }
    if (t2 != LUA_TTABLE) luaL_error(L, "%s.verifiers must be a table", where);
    int vt = lua_gettop(L);
    int cap = 0;
    lua_pushnil(L);
    while (lua_next(L, vt)) { cap++; lua_pop(L, 1); }
    if (cap < 1 || cap > 16) luaL_error(L, "%s.verifiers must name 1 to 16 verifiers", where);
    st->pub.verifiers = calloc((size_t)cap, sizeof *st->pub.verifiers);
    if (!st->pub.verifiers) luaL_error(L, "out of memory");
    /* Array entries in order, then map entries sorted by name (Lua's order varies). */
    lua_Integer alen = (lua_Integer)lua_rawlen(L, vt);
    for (lua_Integer i = 1; i <= alen; i++) {
        lua_geti(L, vt, i);
        const char *name = NULL;
        double w = 1.0;
        if (lua_type(L, -1) == LUA_TSTRING) name = lua_tostring(L, -1);
        else if (lua_istable(L, -1)) {
            if (lua_getfield(L, -1, "name") == LUA_TSTRING) name = lua_tostring(L, -1);
            int tw = lua_getfield(L, -2, "weight");
            if (tw != LUA_TNIL) {
                w = lua_tonumber(L, -1);
                if (tw != LUA_TNUMBER || !(w > 0) || !isfinite(w)) luaL_error(L, "%s.verifiers[%d].weight must be a positive number", where, (int)i);
            }
            lua_pop(L, 1);
        }
        if (!name || !*name) luaL_error(L, "%s.verifiers[%d] must be a name or {name = \"...\", weight = w}", where, (int)i);
        StageVerifier *sv = &st->pub.verifiers[st->pub.n_verifiers++];
        if (!(sv->name = strdup(name))) luaL_error(L, "out of memory");
        sv->weight = w;
        lua_settop(L, vt);
    }
    int first_map = st->pub.n_verifiers;
    lua_pushnil(L);
    while (lua_next(L, vt)) {
        if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 && lua_tointeger(L, -2) <= alen) { lua_pop(L, 1); continue; }
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s.verifiers: keys must be verifier names", where);
        double w = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(w > 0) || !isfinite(w))
            luaL_error(L, "%s.verifiers.%s must be a positive weight", where, lua_tostring(L, -2));
        StageVerifier *sv = &st->pub.verifiers[st->pub.n_verifiers++];
        if (!(sv->name = strdup(lua_tostring(L, -2)))) luaL_error(L, "out of memory");
        sv->weight = w;
        lua_pop(L, 1);
    }
    for (int i = first_map + 1; i < st->pub.n_verifiers; i++)   /* insertion sort by name */
        for (int j = i; j > first_map && strcmp(st->pub.verifiers[j - 1].name, st->pub.verifiers[j].name) > 0; j--) {
            StageVerifier tmp = st->pub.verifiers[j];
            st->pub.verifiers[j] = st->pub.verifiers[j - 1];
            st->pub.verifiers[j - 1] = tmp;
        }
    lua_settop(L, vt - 2);   /* verifier (nil) and verifiers */
}

static long read_count(lua_State *L, int idx, const char *field, const char *where, long lo, int required) {
    int t = lua_getfield(L, idx, field);
    if (t == LUA_TNIL) {
        if (required) luaL_error(L, "%s.%s is required", where, field);
        lua_pop(L, 1);
        return 0;
    }
    int ok = 0;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (t != LUA_TNUMBER || !ok || v < lo || v > 1000000000)
        luaL_error(L, "%s.%s must be an integer from %d to 1000000000", where, field, (int)lo);
    lua_pop(L, 1);
    return (long)v;
}

static void read_stage(lua_State *L, int idx, int number, Curriculum *keep, StageImpl *st) {
    idx = lua_absindex(L, idx);
    char where[128];
    if (number) snprintf(where, sizeof where, "stages[%d]", number);
    else snprintf(where, sizeof where, "stage");   /* rlvr.stage{...}: its own line says which */
    if (!lua_istable(L, idx)) luaL_error(L, "%s must be a table", where);
    if (!(st->pub.overrides = cJSON_CreateObject())) luaL_error(L, "out of memory");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s: keys must be names", where);
        const char *k = lua_tostring(L, -2);
        const KeyRule *r = find_rule(SETTING_KEYS, k);
        if (r) add_setting(L, r, where, st->pub.overrides);
        else if (!in_list(STAGE_FIELDS, k))
            luaL_error(L, "%s: unknown field '%s' (stage fields: name mode sources verifier(s) steps promote; "
                          "settings: temperature top_p group_size prompts batch_size max_new_tokens lr warmup kl_beta "
                          "epochs minibatches clip_low clip_high advantage loss_agg dynamic_sampling refill_budget "
                          "truncated calculator grad_clip weight_decay)", where, k);
        lua_pop(L, 1);
    }
    sort_object(st->pub.overrides);
    int tn = lua_getfield(L, idx, "name");
    if (tn != LUA_TNIL && (tn != LUA_TSTRING || !lua_rawlen(L, -1))) luaL_error(L, "%s.name must be a non-empty string", where);
    char dflt[32];
    snprintf(dflt, sizeof dflt, "stage%d", number ? number : 1);
    if (!(st->pub.name = strdup(tn == LUA_TNIL ? dflt : lua_tostring(L, -1)))) luaL_error(L, "out of memory");
    lua_pop(L, 1);
    if (number) snprintf(where, sizeof where, "stages[%d] (%s)", number, st->pub.name);
    else snprintf(where, sizeof where, "stage %s", st->pub.name);
    const char *mode = lua_getfield(L, idx, "mode") == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(mode, "sft") == 0) st->pub.mode = STAGE_SFT;
    else if (strcmp(mode, "rl") == 0) st->pub.mode = STAGE_RL;
    else luaL_error(L, "%s.mode must be \"sft\" or \"rl\"", where);
    lua_pop(L, 1);
    read_sources(L, idx, where, keep, st);
    read_verifiers(L, idx, where, st);
    if (st->pub.mode == STAGE_RL && !st->pub.n_verifiers)
        luaL_error(L, "%s: an rl stage needs 'verifier' or 'verifiers'", where);
    int has_steps = lua_getfield(L, idx, "steps") != LUA_TNIL;
    int tp = lua_getfield(L, idx, "promote");
    lua_pop(L, 2);
    if (has_steps == (tp != LUA_TNIL)) luaL_error(L, "%s needs exactly one end: 'steps = N' or 'promote = {...}'", where);
    if (has_steps) {
        st->pub.steps = read_count(L, idx, "steps", where, 1, 1);
        return;
    }
    if (st->pub.mode != STAGE_RL) luaL_error(L, "%s: promotion needs rewards, so only rl stages have 'promote'", where);
    lua_getfield(L, idx, "promote");
    char pw[160];
    snprintf(pw, sizeof pw, "%s.promote", where);
    if (!lua_istable(L, -1)) luaL_error(L, "%s must be a table {window = W, threshold = x, min_steps = a, max_steps = b}", pw);
    int p = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, p)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(k, "window") && strcmp(k, "threshold") && strcmp(k, "min_steps") && strcmp(k, "max_steps") && strcmp(k, "metric"))
            luaL_error(L, "%s: unknown field '%s' (known: window threshold min_steps max_steps metric)", pw, k);
        lua_pop(L, 1);
    }
    if (lua_getfield(L, p, "metric") != LUA_TNIL && (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "reward")))
        luaL_error(L, "%s.metric: only \"reward\" (the mean reward over the window) is supported", pw);
    lua_pop(L, 1);
    long window = read_count(L, p, "window", pw, 1, 1);
    if (window > 1000000) luaL_error(L, "%s.window must be at most 1000000", pw);
    st->pub.window = (int)window;
    int tt = lua_getfield(L, p, "threshold");
    double th = lua_tonumber(L, -1);
    if (tt != LUA_TNUMBER || !(th >= 0 && th <= 1)) luaL_error(L, "%s.threshold must be a number in [0, 1]", pw);
    st->pub.threshold = th;
    lua_pop(L, 1);
    st->pub.min_steps = read_count(L, p, "min_steps", pw, 0, 0);
    st->pub.max_steps = read_count(L, p, "max_steps", pw, 1, 0);
    if (st->pub.max_steps && st->pub.max_steps < st->pub.min_steps) luaL_error(L, "%s.max_steps is below min_steps", pw);
    lua_pop(L, 1);
}

void curparse_stage_clear(lua_State *L, StageImpl *st) {
    for (int i = 0; i < st->pub.n_sources; i++) {
        if (st->pub.sources) free(st->pub.sources[i].label);
        if (st->src) {
            if (L && st->src[i].fn_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, st->src[i].fn_ref);
            free(st->src[i].path);
            free(st->src[i].perm);
        }
    }
    free(st->pub.sources);
    free(st->src);
    for (int i = 0; i < st->pub.n_verifiers; i++) free(st->pub.verifiers[i].name);
    free(st->pub.verifiers);
    cJSON_Delete(st->pub.overrides);
    free(st->pub.name);
    memset(st, 0, sizeof *st);
}

/* What a parse builds; freed by parse_free whatever happened. */

void curparse_free(lua_State *L, Parse *p) {
    for (int i = 0; i < p->n_stages; i++) curparse_stage_clear(L, &p->stages[i]);
    free(p->stages);
    curparse_stage_clear(L, &p->eval);
    cJSON_Delete(p->defaults);
    free(p->name);
    memset(p, 0, sizeof *p);
}

void curparse_read(lua_State *L, int idx, Curriculum *keep, Parse *p) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) luaL_error(L, "rlvr.curriculum takes a table");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(k, "name") && strcmp(k, "stages") && strcmp(k, "eval") && strcmp(k, "defaults"))
            luaL_error(L, "curriculum: unknown field '%s' (known: name stages eval defaults)", k);
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "name") != LUA_TSTRING || !lua_rawlen(L, -1)) luaL_error(L, "curriculum.name must be a non-empty string");
    if (!(p->name = strdup(lua_tostring(L, -1)))) luaL_error(L, "out of memory");
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "stages") != LUA_TTABLE) luaL_error(L, "curriculum.stages must be an array of stages");
    lua_Integer n = (lua_Integer)luaL_len(L, -1);
    if (n < 1 || n > 256) { luaL_error(L, "curriculum.stages must hold 1 to 256 stages"); return; }
    if (!(p->stages = calloc((size_t)n, sizeof *p->stages))) luaL_error(L, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        p->n_stages = (int)i;
        read_stage(L, -1, (int)i, keep, &p->stages[i - 1]);
        for (lua_Integer j = 1; j < i; j++)
            if (strcmp(p->stages[j - 1].pub.name, p->stages[i - 1].pub.name) == 0)
                luaL_error(L, "stages[%d]: the name '%s' is already used by stages[%d]", (int)i, p->stages[i - 1].pub.name, (int)j);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    if (!(p->defaults = cJSON_CreateObject())) luaL_error(L, "out of memory");
    int td = lua_getfield(L, idx, "defaults");
    if (td != LUA_TNIL) {
        if (td != LUA_TTABLE) luaL_error(L, "curriculum.defaults must be a table of settings");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            const KeyRule *r = find_rule(SETTING_KEYS, k);
            if (!r) r = find_rule(RUN_KEYS, k);
            if (!r) luaL_error(L, "defaults: unknown setting '%s' (run settings: preset vocab context eval_every checkpoint_every "
                                  "eval_max_new_tokens seed; and any stage setting)", k);
            add_setting(L, r, "defaults", p->defaults);
            lua_pop(L, 1);
        }
        sort_object(p->defaults);
    }
    lua_pop(L, 1);

    int te = lua_getfield(L, idx, "eval");
    if (te == LUA_TNIL) luaL_error(L, "curriculum.eval is required: {sources = {...}, n = N, seed = S, verifier = \"...\"}");
    if (te != LUA_TTABLE) luaL_error(L, "curriculum.eval must be a table");
    int e = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, e)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(k, "sources") && strcmp(k, "n") && strcmp(k, "seed") && strcmp(k, "verifier") && strcmp(k, "verifiers"))
            luaL_error(L, "eval: unknown field '%s' (known: sources n seed verifier verifiers)", k);
        lua_pop(L, 1);
    }
    if (!(p->eval.pub.name = strdup("eval"))) luaL_error(L, "out of memory");
    p->eval.pub.mode = STAGE_RL;
    read_sources(L, e, "eval", keep, &p->eval);
    read_verifiers(L, e, "eval", &p->eval);
    int all_jsonl = 1;
    for (int i = 0; i < p->eval.pub.n_sources; i++) all_jsonl &= p->eval.src[i].kind == SRC_JSONL;
    p->eval_n = read_count(L, e, "n", "eval", 1, !all_jsonl);
    if (p->eval_n > 100000) luaL_error(L, "eval.n must be at most 100000");
    int ts = lua_getfield(L, e, "seed");
    int ok = 1;
    p->eval_seed = ts == LUA_TNIL ? 1234567 : lua_tointegerx(L, -1, &ok);
    if (ts != LUA_TNIL && (ts != LUA_TNUMBER || !ok)) luaL_error(L, "eval.seed must be an integer");
    lua_pop(L, 2);
}

/* rlvr.curriculum{...} and rlvr.stage{...}: check, mark and return the table. */
static int l_check_curriculum(lua_State *L) {
    Parse *p = lua_touserdata(L, 2);
    curparse_read(L, 1, NULL, p);
    return 0;
}

static int l_check_stage(lua_State *L) {
    StageImpl *st = lua_touserdata(L, 2);
    read_stage(L, 1, 0, NULL, st);
    return 0;
}

/* Run a check in a protected call, free what it built, then re-raise any error with
 * the position of the script line that called rlvr.curriculum / rlvr.stage. */
static int checked(lua_State *L, const char *mt, int is_stage) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    Parse p = { 0 };
    StageImpl st = { 0 };
    lua_pushcfunction(L, is_stage ? l_check_stage : l_check_curriculum);
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, is_stage ? (void *)&st : (void *)&p);
    int rc = lua_pcall(L, 2, 0, 0);
    curparse_free(L, &p);
    curparse_stage_clear(L, &st);
    if (rc != LUA_OK) {
        if (rc == LUA_ERRMEM || lua_type(L, -1) != LUA_TSTRING) return lua_error(L);
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    luaL_setmetatable(L, mt);
    return 1;
}

static int l_curriculum(lua_State *L) { return checked(L, CURRICULUM_MT, 0); }
static int l_stage(lua_State *L) { return checked(L, STAGE_MT, 1); }

/* Add rlvr.curriculum and rlvr.stage to the state's rlvr module. */
void curparse_open_lib(lua_State *L) {
    luaL_newmetatable(L, CURRICULUM_MT);
    luaL_newmetatable(L, STAGE_MT);
    lua_pop(L, 2);
    lua_getglobal(L, "rlvr");
    lua_pushcfunction(L, l_curriculum);
    lua_setfield(L, -2, "curriculum");
    lua_pushcfunction(L, l_stage);
    lua_setfield(L, -2, "stage");
    lua_pop(L, 1);
}

