#include "lua/verifier_lua.h"
#include <lauxlib.h>
#include <ctype.h>
#include <limits.h>
#include <unistd.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *path;
    char *name;
    LuaHostLimits lim;
    char root[4096];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    LuaHost *hosts[LUAVERIFIER_MAX_STATES];
    int busy[LUAVERIFIER_MAX_STATES];
    int n;
} LuaVerifierState;

/* Registry key of the table the script returned. */
static const char *SCRIPT_KEY = "rlvr.script";

/* Runs the loaded chunk at the top and checks what it returned. */
static int check_returned(lua_State *L) {
    if (!lua_istable(L, -1)) return luaL_error(L, "the script must return rlvr.verifier{name=..., score=...}, not a %s", luaL_typename(L, -1));
    if (lua_getfield(L, -1, "name") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        return luaL_error(L, "the returned verifier needs a non-empty string 'name'");
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "score") != LUA_TFUNCTION)
        return luaL_error(L, "the returned verifier needs a function 'score'");
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_KEY);
    return 0;
}

static int run_script(lua_State *L) {
    lua_call(L, 0, 1);
    return check_returned(L);
}

/* A fresh state with the script loaded and checked. */
static int new_host(const LuaVerifierState *st, LuaHost **out, char *err, size_t errlen) {
    LuaHost *h;
    char e[768];
    if (luahost_new(&h, &st->lim, e, sizeof e)) { snprintf(err, errlen, "%s: %s", st->path, e); return -1; }
    lua_State *L = luahost_state(h);
    lua_pushcfunction(L, run_script);
    if (luahost_loadfile(h, st->path, e, sizeof e) || luahost_pcall(h, 1, 0, e, sizeof e)) {
        /* Messages from the chunk already start with "path:line:"; others get the path. */
        if (strncmp(e, st->path, strlen(st->path)) == 0) snprintf(err, errlen, "%s", e);
        else snprintf(err, errlen, "%s: %s", st->path, e);
        luahost_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

/* Borrow a state: a free one, else a discarded slot or a new one (created outside the
 * lock, since creating runs the script), else wait. Returns the slot or -1 with err. */
static int acquire(LuaVerifierState *st, char *err, size_t errlen) {
    int i = -1;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        for (int k = 0; k < st->n; k++)
            if (!st->busy[k] && st->hosts[k]) { st->busy[k] = 1; pthread_mutex_unlock(&st->mu); return k; }
        for (int k = 0; k < st->n && i < 0; k++)
            if (!st->busy[k]) i = k;            /* its state was discarded after an error */
        if (i < 0 && st->n < LUAVERIFIER_MAX_STATES) i = st->n++;
        if (i >= 0) break;
        pthread_cond_wait(&st->cv, &st->mu);
    }
    st->busy[i] = 1;
    st->hosts[i] = NULL;
    pthread_mutex_unlock(&st->mu);
    LuaHost *h = NULL;
    int rc = new_host(st, &h, err, errlen);
    pthread_mutex_lock(&st->mu);
    st->hosts[i] = h;
    if (rc) { st->busy[i] = 0; pthread_cond_signal(&st->cv); }
    pthread_mutex_unlock(&st->mu);
    return rc ? -1 : i;
}

static void release(LuaVerifierState *st, int i, int discard) {
    LuaHost *dead = NULL;
    pthread_mutex_lock(&st->mu);
    if (discard) { dead = st->hosts[i]; st->hosts[i] = NULL; }
    st->busy[i] = 0;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    luahost_free(dead);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001B3ull; }
    return h ^ 0xFF; /* separates fields */
}

typedef struct {
    const Task *task;
    const char *completion;
    size_t len;
    const char *path;
    Verdict *out;
    char status[32];
    double reward;
    int bad_reward;
    char why[160];
} Call;

static void push_task(lua_State *L, const Task *t) {
    lua_createtable(L, 0, 5);
    lua_pushstring(L, t->id ? t->id : ""); lua_setfield(L, -2, "id");
    lua_pushstring(L, t->prompt ? t->prompt : ""); lua_setfield(L, -2, "prompt");
    lua_pushstring(L, t->reference ? t->reference : ""); lua_setfield(L, -2, "reference");
    lua_pushstring(L, t->verifier ? t->verifier : ""); lua_setfield(L, -2, "verifier");
    if (cJSON_IsObject(t->meta)) luahost_push_json(L, t->meta, 0);
    else lua_newtable(L);
    lua_setfield(L, -2, "meta");
}

/* Protected: call score and read its results into the Call and out->detail. */
static int score_protected(lua_State *L) {
    Call *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_KEY);
    lua_getfield(L, 1, "score");
    push_task(L, c->task);
    lua_pushlstring(L, c->completion, c->len);
    lua_call(L, 2, 3);
    /* stack: script, reward, status, detail */
    int isnum = 0;
    lua_Number r = lua_tonumberx(L, 2, &isnum);
    if (lua_type(L, 2) != LUA_TNUMBER || !isnum || isnan(r)) {
        c->bad_reward = 1;
        snprintf(c->why, sizeof c->why, "%s: score returned %s as reward, not a number",
                 c->path, lua_type(L, 2) == LUA_TNUMBER ? "NaN" : luaL_typename(L, 2));
        return 0;
    }
    c->reward = r;
    if (lua_type(L, 3) == LUA_TSTRING) snprintf(c->status, sizeof c->status, "%s", lua_tostring(L, 3));
    else if (!lua_isnil(L, 3)) return luaL_error(L, "%s: score returned a %s as status, not a string", c->path, luaL_typename(L, 3));
    else snprintf(c->status, sizeof c->status, "%s", r >= 1.0 ? VERDICT_CORRECT : VERDICT_WRONG);
    if (lua_istable(L, 4)) {
        luahost_add_json_members(L, 4, c->out->detail, 0);
    } else if (!lua_isnil(L, 4)) {
        return luaL_error(L, "%s: score returned a %s as detail, not a table", c->path, luaL_typename(L, 4));
    }
    return 0;
}

static void fail(Verdict *out, const char *why) {
    cJSON_Delete(out->detail);
    out->detail = cJSON_CreateObject();
    if (out->detail) cJSON_AddStringToObject(out->detail, "error", why);
    verdict_set(out, 0.0, VERDICT_VERIFIER_ERROR);
}

static void lua_score(const Verifier *self, const Task *task, const char *completion, size_t len, Verdict *out) {
    LuaVerifierState *st = self->state;
    char err[1024];
    if (!out->detail) { verdict_set(out, 0.0, VERDICT_VERIFIER_ERROR); return; }
    int i = acquire(st, err, sizeof err);
    if (i < 0) { fail(out, err); return; }
    LuaHost *h = st->hosts[i];
    uint64_t seed = 0xCBF29CE484222325ull ^ st->lim.seed;
    seed = fnv(seed, task->id ? task->id : "", task->id ? strlen(task->id) : 0);
    seed = fnv(seed, task->prompt ? task->prompt : "", task->prompt ? strlen(task->prompt) : 0);
    seed = fnv(seed, completion, len);
    luahost_seed(h, seed);
    Call c = { .task = task, .completion = completion, .len = len, .path = st->path, .out = out };
    lua_State *L = luahost_state(h);
    lua_pushcfunction(L, score_protected);
    lua_pushlightuserdata(L, &c);
    int rc = luahost_pcall(h, 1, 0, err, sizeof err);
    lua_settop(L, 0);
    if (rc) {
        char full[1200];
        if (strncmp(err, st->path, strlen(st->path)) == 0) snprintf(full, sizeof full, "%s", err);
        else snprintf(full, sizeof full, "%s: %s", st->path, err);
        fail(out, full);
    } else if (c.bad_reward) {
        fail(out, c.why);
    } else {
        verdict_set(out, c.reward, c.status);
    }
    /* After an error the script's globals may be half-updated: start the next call clean. */
    release(st, i, rc != 0);
}

static void lua_free(Verifier *self) {
    LuaVerifierState *st = self->state;
    if (st) {
        for (int i = 0; i < st->n; i++) luahost_free(st->hosts[i]);
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        free(st->path);
        free(st->name);
        free(st);
    }
    free(self);
}

Verifier *luaverifier_load(const char *path, const LuaHostLimits *lim, char *err, size_t errlen) {
    Verifier *v = calloc(1, sizeof *v);
    LuaVerifierState *st = calloc(1, sizeof *st);
    if (!v || !st || !(st->path = strdup(path))) {
        if (st) free(st->path);
        free(v); free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (lim) st->lim = *lim;
    if (st->lim.root) { snprintf(st->root, sizeof st->root, "%s", st->lim.root); st->lim.root = st->root; }
    luahost_limits_resolve(&st->lim);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    v->state = st;
    v->score = lua_score;
    v->free = lua_free;
    LuaHost *h;
    if (new_host(st, &h, err, errlen)) { lua_free(v); return NULL; }
    st->hosts[0] = h;
    st->n = 1;
    lua_State *L = luahost_state(h);
    lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_KEY);
    lua_getfield(L, -1, "name");
    st->name = strdup(lua_tostring(L, -1));
    lua_settop(L, 0);
    if (!st->name) { snprintf(err, errlen, "out of memory"); lua_free(v); return NULL; }
    v->name = st->name;
    return v;
}

static int ends_with_lua(const char *s) {
    size_t n = strlen(s);
    return n > 4 && strcmp(s + n - 4, ".lua") == 0;
}

/* A bare name must not climb out of lua/verifiers/. */
static int plain_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

const Verifier *luaverifier_resolve(const char *name, const LuaHostLimits *lim, char *err, size_t errlen) {
    if (verifiers_register_builtins(err, errlen)) return NULL;
    const Verifier *v = verifier_find(name);
    if (v) return v;
    char path[4300];
    if (ends_with_lua(name)) {
        snprintf(path, sizeof path, "%s", name);
    } else {
        LuaHostLimits l = lim ? *lim : (LuaHostLimits){ 0 };
        char root[4096];
        if (!l.root) { luahost_default_root(root, sizeof root); l.root = root; }
        snprintf(path, sizeof path, "%s/verifiers/%s.lua", l.root, name);
        if (!plain_name(name) || access(path, R_OK) != 0) {
            snprintf(err, errlen, "unknown verifier '%s' (built-in: %s; or a Lua file, or lua/verifiers/NAME.lua)",
                     name, verifier_names());
            return NULL;
        }
    }
    Verifier *lv = luaverifier_load(path, lim, err, errlen);
    if (!lv) return NULL;
    const char *declared = lv->name;
    /* The same script named twice (by name and by path) is one verifier; another script,
     * or a built-in, under that name is a clash. */
    const Verifier *existing = verifier_find(declared);
    if (existing) {
        char a[PATH_MAX], b[PATH_MAX];
        const LuaVerifierState *es = existing->score == lua_score ? existing->state : NULL;
        int same = es && realpath(es->path, a) && realpath(path, b) && strcmp(a, b) == 0;
        if (!same) snprintf(err, errlen, "%s declares the name '%s', which another verifier already has", path, declared);
        lua_free(lv);
        return same ? existing : NULL;
    }
    char keep[256];
    snprintf(keep, sizeof keep, "%s", declared);
    if (verifier_register(lv, err, errlen)) return NULL;
    return verifier_find(keep);
}
