/* host: sandboxed Lua 5.4 states for scripts users write (verifiers, later curricula).
 *
 * A LuaHost is one lua_State with only the safe libraries: base (no dofile/loadfile;
 * `load` takes text chunks only; print goes to stderr so it cannot corrupt verdict
 * output; setmetatable refuses __gc, since finalizers run with hooks off), string (no
 * string.dump), table, math (random/randomseed replaced by a seeded splitmix64 stream),
 * utf8, coroutine. There is no io, os, debug or package library; `require(name)` is ours:
 * it reads <root>/<name>.lua (dots become '/'), text only, names of letters, digits and
 * '_' only, so nothing outside the project's lua/ folder can be reached. Each protected
 * call gets an instruction budget (a count hook raises "instruction budget exceeded") and
 * the state has a memory cap (a counting allocator refuses beyond it). The `rlvr` module
 * (rlvr.verifier, rlvr.verify, rlvr.random) is a global and also require("rlvr").
 *
 * A LuaHost is used by one thread at a time. Known gap: C library functions (string
 * patterns, table.sort, string.rep) run without the count hook between their own calls
 * back into Lua; the memory cap still bounds what they build. */
#ifndef RLVR_LUA_HOST_H
#define RLVR_LUA_HOST_H
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t mem_limit;         /* bytes per state; 0: 64 MB */
    long long instr_budget;   /* VM instructions per call; 0: 20 million */
    const char *root;         /* the folder require() reads; NULL: <executable dir>/lua */
    uint64_t seed;            /* rlvr.random / math.random seed */
} LuaHostLimits;

typedef struct LuaHost LuaHost;

/* A new sandboxed state. Returns 0, or -1 with err. */
int  luahost_new(LuaHost **out, const LuaHostLimits *lim, char *err, size_t errlen);
void luahost_free(LuaHost *h);
lua_State *luahost_state(LuaHost *h);

/* lua_pcall with a fresh instruction budget and an error handler that keeps the message
 * ("chunk:line: message"). Returns 0, or -1 with the message in err (the error value is
 * popped). A script that caught a budget or memory error with pcall still fails here. */
int  luahost_pcall(LuaHost *h, int nargs, int nresults, char *err, size_t errlen);
/* Load a text chunk from a file (chunkname "@path"); pushes the function. */
int  luahost_loadfile(LuaHost *h, const char *path, char *err, size_t errlen);
/* Reseed the generator behind rlvr.random and math.random, and read its state back
 * (seeding with a state read continues the stream exactly). */
void luahost_seed(LuaHost *h, uint64_t seed);
uint64_t luahost_rng(const LuaHost *h);
/* <directory of the running binary>/lua: the root when LuaHostLimits.root is NULL. */
void luahost_default_root(char *out, size_t n);
/* The folder require() reads. */
const char *luahost_root(const LuaHost *h);
/* Bytes in use by the state. */
size_t luahost_memory(const LuaHost *h);

/* The limits in force (defaults filled in). */
void luahost_limits_resolve(LuaHostLimits *lim);


/* ---- conversions between cJSON and Lua (used by the rlvr module and the verifier
 * adapter). Both may raise Lua errors (out of memory, too deep), so call them inside a
 * protected call. */
#include <cJSON.h>
#define LUAHOST_MAX_DEPTH 32
/* Push j: objects and arrays become tables (arrays 1-based), numbers integers when they
 * are whole and fit, null becomes nil. */
void   luahost_push_json(lua_State *L, const cJSON *j, int depth);
/* Convert the value at idx: a table whose keys are exactly 1..n (n > 0) becomes an
 * array, any other table an object (non-string keys written with tostring), NaN and
 * infinities null, functions and other values their type name as a string. Deeper
 * than LUAHOST_MAX_DEPTH (or a cycle) raises an error. The result is attached to
 * `parent` (under key, or appended when parent is an array) as it is built, so an error
 * half-way leaks nothing: the caller owns parent. */
void   luahost_add_json(lua_State *L, int idx, cJSON *parent, const char *key, int depth);

/* The members of the table at idx added to the object obj, sorted by key (Lua's own
 * order varies between states). */
void   luahost_add_json_members(lua_State *L, int idx, cJSON *obj, int depth);

#endif
