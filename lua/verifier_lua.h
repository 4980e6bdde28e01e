/* verifier_lua: the adapter that turns a Lua script into a registered Verifier.
 *
 * The script runs in a sandboxed LuaHost (lua/host.h) and must return
 * rlvr.verifier{ name = "...", score = function(task, completion) ... end }.
 * score receives task = {id, prompt, reference, verifier, meta} (meta converted from
 * JSON) and the completion string, and returns reward (a number; clamped to [0, 1]),
 * optionally a status string (default "correct" for reward 1, else "wrong") and a
 * detail table (converted to JSON, depth-limited). A non-number or NaN reward, an
 * error, an exhausted instruction budget or the memory cap gives status
 * "verifier_error" with detail {"error": "script:line: message"}, and the state that
 * failed is discarded so the next call starts clean.
 *
 * Verifier.score is called from several threads: each thread borrows a whole state
 * from a pool (a mutex guards only the borrowing) and creates one, up to a cap, when
 * none is free. Before each call rlvr.random and math.random are reseeded from a hash
 * of (task id, prompt, completion), so a verdict never depends on which state or thread
 * produced it. */
#ifndef RLVR_LUA_VERIFIER_LUA_H
#define RLVR_LUA_VERIFIER_LUA_H
#include "lua/host.h"
#include "verifiers/verifier.h"
#include <stddef.h>

#define LUAVERIFIER_MAX_STATES 64

/* Load and validate the script; a Verifier named by the script's `name` (malloc'd:
 * register it or free it through its free hook). NULL with err ("path:line: message"
 * or what is wrong with the returned value). lim may be NULL (defaults). */
Verifier *luaverifier_load(const char *path, const LuaHostLimits *lim, char *err, size_t errlen);

/* The verifier `name` refers to: a registered one (the built-ins are registered first), a
 * path ending in .lua, or <root>/verifiers/NAME.lua (root from lim, default the lua/
 * folder beside the binary). A Lua script is loaded and registered under the name it
 * declares; a script whose declared name is already registered resolves to that one.
 * Start-up only (registration is single-threaded). NULL with err. */
const Verifier *luaverifier_resolve(const char *name, const LuaHostLimits *lim, char *err, size_t errlen);

#endif
