#include "lua/host.h"
#include "verifiers/verifier.h"
#include "tasks/task.h"
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOOK_EVERY 1000            /* VM instructions between hook calls */
#define DEFAULT_MEM (64u << 20)
#define DEFAULT_BUDGET 20000000LL
#define MAX_VERIFY_DEPTH 4         /* rlvr.verify may call Lua verifiers that call rlvr.verify */

struct LuaHost {
    lua_State *L;
    size_t used, limit;
    long long budget, left;        /* instructions per call / left in this call */
    int over_budget, over_memory;  /* sticky per call: a script's pcall cannot hide them */
    uint64_t rng;
    char root[4096];
};

static _Thread_local int t_verify_depth;

/* ---------------------------------------------------------------- allocator, budget */

/* Counting allocator: refuses (NULL, which Lua turns into a memory error) any growth
 * beyond the cap. Frees and shrinks always succeed. */
static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    LuaHost *h = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) { free(ptr); h->used -= old; return NULL; }
    if (nsize > old && h->used - old + nsize > h->limit) { h->over_memory = 1; return NULL; }
    void *p = realloc(ptr, nsize);
    if (p) h->used = h->used - old + nsize;
    return p;
}

static LuaHost *host_of(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
    LuaHost *h = host_of(L);
    h->left -= HOOK_EVERY;
    if (h->left > 0) return;
    h->over_budget = 1;
    /* From now on raise at every instruction, in this thread and the main one (new
     * coroutines inherit its hook): a script that catches the error with pcall is
     * interrupted again at its first instruction outside the pcall, level by level. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    if (L != h->L) lua_sethook(h->L, count_hook, LUA_MASKCOUNT, 1);
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        luaL_error(L, "%s:%d: instruction budget exceeded", ar->short_src, ar->currentline);
    luaL_error(L, "instruction budget exceeded");
}

/* ---------------------------------------------------------------- random */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* math.random's contract: () float in [0,1), (m) integer in [1,m], (m,n) in [m,n]. */
static int l_random(lua_State *L) {
    LuaHost *h = host_of(L);
    uint64_t r = splitmix64(&h->rng);
    lua_Integer lo, hi;
    switch (lua_gettop(L)) {
    case 0: lua_pushnumber(L, (double)(r >> 11) * (1.0 / 9007199254740992.0)); return 1;
    case 1: lo = 1; hi = luaL_checkinteger(L, 1); break;
    case 2: lo = luaL_checkinteger(L, 1); hi = luaL_checkinteger(L, 2); break;
    default: return luaL_error(L, "wrong number of arguments");
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t v = span == UINT64_MAX ? r : r % (span + 1); /* modulo bias is < 2^-40 for sane spans */
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + v));
    return 1;
}

static int l_randomseed(lua_State *L) {
    host_of(L)->rng = (uint64_t)luaL_optinteger(L, 1, 0);
    return 0;
}

void luahost_seed(LuaHost *h, uint64_t seed) { h->rng = seed; }
uint64_t luahost_rng(const LuaHost *h) { return h->rng; }

/* ---------------------------------------------------------------- base replacements */

/* load restricted to text: mode is forced to "t"; env passed on only when given. */
static int l_load(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2) lua_pushvalue(L, 2); else lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4) lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - n;
}

/* setmetatable without __gc: finalizers run with hooks disabled (Lua stops debug hooks
 * during GC metamethods), so a looping __gc would escape the instruction budget and
 * could hang even lua_close. A __gc added to a metatable later is ignored by Lua. */
static int l_setmetatable(lua_State *L) {
    if (lua_istable(L, 2) && (lua_pushliteral(L, "__gc"), lua_rawget(L, 2)) != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* print to stderr: stdout carries verdicts. */
static int l_print(lua_State *L) {
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* require(name): <root>/<name with dots as '/'>.lua, cached in the registry. */
static int l_require(lua_State *L) {
    LuaHost *h = host_of(L);
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, name);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    int ok = n > 0 && n < 200 && name[0] != '.' && name[n - 1] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             (c == '.' && name[i + 1] != '.');
    }
    if (!ok) return luaL_error(L, "require: module name '%s' refused (letters, digits, '_' and '.' only)", name);
    if (!h->root[0]) return luaL_error(L, "require: no module folder configured");
    char path[4400];
    int k = snprintf(path, sizeof path, "%s/", h->root);
    for (size_t i = 0; i < n; i++) path[k++] = name[i] == '.' ? '/' : name[i];
    snprintf(path + k, sizeof path - (size_t)k, ".lua");
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        return luaL_error(L, "require '%s': %s", name, lua_tostring(L, -1));
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushboolean(L, 1); }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
}

/* ---------------------------------------------------------------- JSON <-> Lua */

void luahost_push_json(lua_State *L, const cJSON *j, int depth) {
    if (depth > LUAHOST_MAX_DEPTH) luaL_error(L, "JSON value nested deeper than %d", LUAHOST_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON conversion");
    if (!j || cJSON_IsNull(j) || cJSON_IsInvalid(j)) { lua_pushnil(L); return; }
    if (cJSON_IsBool(j)) { lua_pushboolean(L, cJSON_IsTrue(j)); return; }
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
        else lua_pushnumber(L, d);
        return;
    }
    if (cJSON_IsString(j)) { lua_pushstring(L, j->valuestring); return; }
    lua_newtable(L);
    lua_Integer i = 1;
    for (const cJSON *c = j->child; c; c = c->next) {
        luahost_push_json(L, c, depth + 1);
        if (cJSON_IsArray(j)) lua_rawseti(L, -2, i++);
        else lua_setfield(L, -2, c->string ? c->string : "");
    }
}

static void attach(lua_State *L, cJSON *parent, const char *key, cJSON *item) {
    if (!item) luaL_error(L, "out of memory building JSON");
    if (cJSON_IsArray(parent)) cJSON_AddItemToArray(parent, item);
    else cJSON_AddItemToObject(parent, key, item);
}

/* The length n when the table's keys are exactly 1..n, else 0. */
static lua_Integer sequence_length(lua_State *L, int idx) {
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) { lua_pop(L, 1); return 0; }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1) { lua_pop(L, 1); return 0; }
        if (k > max) max = k;
        count++;
    }
    return count == max ? max : 0;
}

void luahost_add_json(lua_State *L, int idx, cJSON *parent, const char *key, int depth) {
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 6, "JSON conversion");
    switch (lua_type(L, idx)) {
    case LUA_TNIL: attach(L, parent, key, cJSON_CreateNull()); return;
    case LUA_TBOOLEAN: attach(L, parent, key, cJSON_CreateBool(lua_toboolean(L, idx))); return;
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        attach(L, parent, key, isfinite(d) ? cJSON_CreateNumber(d) : cJSON_CreateNull());
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        attach(L, parent, key, verdict_detail_text(s, n, 1u << 20));
        return;
    }
    case LUA_TTABLE: break;
    default: attach(L, parent, key, cJSON_CreateString(luaL_typename(L, idx))); return;
    }
    if (depth >= LUAHOST_MAX_DEPTH) luaL_error(L, "table nested deeper than %d (or a cycle)", LUAHOST_MAX_DEPTH);
    lua_Integer n = sequence_length(L, idx);
    cJSON *node = n > 0 ? cJSON_CreateArray() : cJSON_CreateObject();
    attach(L, parent, key, node);
    if (n > 0) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            luahost_add_json(L, -1, node, NULL, depth + 1);
            lua_pop(L, 1);
        }
        return;
    }
    luahost_add_json_members(L, idx, node, depth);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Members in sorted key order: Lua's traversal order depends on per-state hash seeds,
 * and a verdict must not depend on which state produced it. */
void luahost_add_json_members(lua_State *L, int idx, cJSON *obj, int depth) {
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "JSON conversion");
    size_t n = 0;
    lua_newtable(L);                               /* string key -> value */
    int tmp = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);                      /* a copy: tolstring must not touch the key */
        luaL_tolstring(L, -1, NULL);
        lua_pushvalue(L, -3);
        lua_settable(L, tmp);
        lua_pop(L, 2);
        n++;
    }
    const char **keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0); /* collected with the state */
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, tmp)) {
        lua_pop(L, 1);
        if (k < n) keys[k++] = lua_tostring(L, -1); /* the strings live in tmp */
    }
    qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t i = 0; i < k; i++) {
        lua_getfield(L, tmp, keys[i]);
        luahost_add_json(L, -1, obj, keys[i], depth + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

/* ---------------------------------------------------------------- the rlvr module */

/* rlvr.verifier{name=..., score=function(task, completion) ... end}: checks and returns it. */
static int l_verifier(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "name") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        return luaL_error(L, "rlvr.verifier: field 'name' must be a non-empty string");
    if (lua_getfield(L, 1, "score") != LUA_TFUNCTION)
        return luaL_error(L, "rlvr.verifier: field 'score' must be a function(task, completion)");
    lua_settop(L, 1);
    return 1;
}

typedef struct { cJSON *j; } JsonBox;

static int box_gc(lua_State *L) {
    JsonBox *b = lua_touserdata(L, 1);
    cJSON_Delete(b->j);
    b->j = NULL;
    return 0;
}

/* A userdata owning a cJSON tree until it is collected, so a Lua error between the
 * tree's creation and its release leaks nothing. */
static JsonBox *new_box(lua_State *L) {
    JsonBox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->j = NULL;
    if (luaL_newmetatable(L, "rlvr.jsonbox")) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return b;
}

static const char *opt_field(lua_State *L, int t, const char *k) {
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNIL) { lua_pop(L, 1); return ""; }
    if (ty != LUA_TSTRING && ty != LUA_TNUMBER) luaL_error(L, "rlvr.verify: task.%s must be a string", k);
    return lua_tostring(L, -1); /* stays on the stack, so the pointer remains valid */
}

/* rlvr.verify(name, task, completion) -> {reward=, status=, detail=} */
static int l_verify(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t clen;
    const char *completion = luaL_checklstring(L, 3, &clen);
    const Verifier *v = verifier_find(name);
    if (!v) return luaL_error(L, "rlvr.verify: no verifier named '%s' (registered: %s)", name, verifier_names());
    if (t_verify_depth >= MAX_VERIFY_DEPTH) return luaL_error(L, "rlvr.verify: nested more than %d deep", MAX_VERIFY_DEPTH);
    Task t = { 0 };
    t.id = (char *)opt_field(L, 2, "id");
    t.prompt = (char *)opt_field(L, 2, "prompt");
    t.reference = (char *)opt_field(L, 2, "reference");
    t.verifier = (char *)name;
    JsonBox *meta = new_box(L);
    JsonBox *detail = new_box(L);
    meta->j = cJSON_CreateObject();   /* {"m": meta}: the conversion attaches as it goes */
    if (!meta->j) return luaL_error(L, "out of memory");
    lua_getfield(L, 2, "meta");
    cJSON *m = NULL;
    if (lua_istable(L, -1)) {
        luahost_add_json(L, -1, meta->j, "m", 1);
        m = cJSON_GetObjectItemCaseSensitive(meta->j, "m");
    }
    lua_pop(L, 1);
    if (!cJSON_IsObject(m)) {
        cJSON_DeleteItemFromObjectCaseSensitive(meta->j, "m");
        m = cJSON_AddObjectToObject(meta->j, "m");
        if (!m) return luaL_error(L, "out of memory");
    }
    t.meta = m;
    Verdict vd;
    if (verdict_init(&vd)) return luaL_error(L, "out of memory");
    t_verify_depth++;
    v->score(v, &t, completion, clen, &vd);
    t_verify_depth--;
    detail->j = vd.detail;  /* owned by the box from here on */
    cJSON *full = verdict_to_cjson(&vd);
    if (!full) return luaL_error(L, "out of memory");
    cJSON_Delete(detail->j);
    detail->j = full;
    luahost_push_json(L, full, 0);
    return 1;
}

static int l_rlvr_random(lua_State *L) { return l_random(L); }

static int open_rlvr(lua_State *L) {
    static const luaL_Reg fns[] = {
        { "verifier", l_verifier }, { "verify", l_verify }, { "random", l_rlvr_random }, { NULL, NULL } };
    luaL_newlib(L, fns);
    return 1;
}

/* ---------------------------------------------------------------- the state */

void luahost_limits_resolve(LuaHostLimits *lim) {
    if (!lim->mem_limit) lim->mem_limit = DEFAULT_MEM;
    if (!lim->instr_budget) lim->instr_budget = DEFAULT_BUDGET;
}

void luahost_default_root(char *out, size_t n) {
    char exe[3800];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = 0;
    if (k <= 0) return;
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    /* The scripts' folder has verifiers/ in it; a build tree (build-asan/rlvr) has only a
     * lua/ of object files, so the sources' lua/ one level up is the one. */
    char probe[4096];
    struct stat sb;
    snprintf(probe, sizeof probe, "%s/lua/verifiers", exe);
    if (stat(probe, &sb) == 0 && S_ISDIR(sb.st_mode)) snprintf(out, n, "%s/lua", exe);
    else snprintf(out, n, "%s/../lua", exe);
}

static int set_up(lua_State *L) {
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base }, { LUA_STRLIBNAME, luaopen_string }, { LUA_TABLIBNAME, luaopen_table },
        { LUA_MATHLIBNAME, luaopen_math }, { LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_COLIBNAME, luaopen_coroutine },
        { NULL, NULL } };
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    lua_pushnil(L); lua_setglobal(L, "dofile");
    lua_pushnil(L); lua_setglobal(L, "loadfile");
    lua_getglobal(L, "load");
    lua_pushcclosure(L, l_load, 1);
    lua_setglobal(L, "load");
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    lua_pushcfunction(L, l_print); lua_setglobal(L, "print");
    lua_pushcfunction(L, l_require); lua_setglobal(L, "require");
    lua_getglobal(L, "string");
    lua_pushnil(L); lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_getglobal(L, "math");
    lua_pushcfunction(L, l_random); lua_setfield(L, -2, "random");
    lua_pushcfunction(L, l_randomseed); lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    luaL_requiref(L, "rlvr", open_rlvr, 1);
    lua_pop(L, 1);
    return 0;
}

int luahost_new(LuaHost **out, const LuaHostLimits *lim_in, char *err, size_t errlen) {
    *out = NULL;
    LuaHostLimits lim = lim_in ? *lim_in : (LuaHostLimits){ 0 };
    luahost_limits_resolve(&lim);
    LuaHost *h = calloc(1, sizeof *h);
    if (!h) { snprintf(err, errlen, "out of memory"); return -1; }
    h->limit = lim.mem_limit;
    h->budget = h->left = lim.instr_budget;
    h->rng = lim.seed;
    if (lim.root) snprintf(h->root, sizeof h->root, "%s", lim.root);
    else luahost_default_root(h->root, sizeof h->root);
    h->L = lua_newstate(host_alloc, h);
    if (!h->L) { free(h); snprintf(err, errlen, "cannot create a Lua state (out of memory)"); return -1; }
    lua_pushcfunction(h->L, set_up);
    if (luahost_pcall(h, 0, 0, err, errlen)) { luahost_free(h); return -1; }
    lua_sethook(h->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    *out = h;
    return 0;
}

void luahost_free(LuaHost *h) {
    if (!h) return;
    if (h->L) lua_close(h->L);
    free(h);
}

lua_State *luahost_state(LuaHost *h) { return h->L; }
const char *luahost_root(const LuaHost *h) { return h->root; }
size_t luahost_memory(const LuaHost *h) { return h->used; }

static int msgh(lua_State *L) {
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    return 1;
}

int luahost_pcall(LuaHost *h, int nargs, int nresults, char *err, size_t errlen) {
    lua_State *L = h->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    h->left = h->budget;
    h->over_budget = h->over_memory = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    /* A refused allocation that Lua's emergency collection then satisfied sets
     * over_memory without harm, so only the budget is sticky. */
    if (rc == LUA_OK && !h->over_budget) return 0;
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (rc == LUA_ERRMEM)
            snprintf(err, errlen, "memory limit exceeded (%zu bytes)%s%s", h->limit, m ? ": " : "", m ? m : "");
        else snprintf(err, errlen, "%s", m ? m : "error");
        lua_pop(L, 1);
    } else {
        lua_pop(L, nresults == LUA_MULTRET ? 0 : nresults);
        snprintf(err, errlen, "instruction budget exceeded (the script caught the error)");
    }
    return -1;
}

int luahost_loadfile(LuaHost *h, const char *path, char *err, size_t errlen) {
    if (luaL_loadfilex(h->L, path, "t") == LUA_OK) return 0;
    const char *m = lua_tostring(h->L, -1);
    snprintf(err, errlen, "%s", m ? m : "cannot load");
    lua_pop(h->L, 1);
    return -1;
}
