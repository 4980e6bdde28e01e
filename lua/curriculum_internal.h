/* curriculum_internal: what lua/curriculum.c (drawing, progress, state) and
 * lua/curriculum_parse.c (the table rules) share. Not for other components. */
#ifndef RLVR_CURRICULUM_INTERNAL_H
#define RLVR_CURRICULUM_INTERNAL_H
#include "lua/curriculum.h"
#include "policy/rng.h"
#include <lua.h>

#define CURRICULUM_MT "rlvr.curriculum"  /* the metatable rlvr.curriculum{} puts on its table */
#define DIR_KEY "rlvr.curriculum_dir"    /* registry: the script's folder, for relative paths */

typedef enum { SRC_GENERATE, SRC_JSONL } SourceKind;

typedef struct {
    SourceKind kind;
    int fn_ref;            /* registry reference to `generate` (LUA_NOREF: none) */
    int line;              /* where generate was defined, for messages */
    char *path;            /* JSONL: the file as resolved */
    int shuffle;           /* JSONL: read in a seeded random order per epoch */
    Task *tasks;           /* JSONL: borrowed from the curriculum's file cache */
    size_t n_tasks;
    size_t *perm;          /* JSONL: this epoch's order */
    uint64_t epoch;
    size_t pos;
} Source;

typedef struct {
    Stage pub;
    Source *src;
    double total_weight;
} StageImpl;

typedef struct {
    char *path;
    Task *tasks;
    size_t n;
} FileCache;

struct Curriculum {
    char *path, *dir, *name;
    LuaHost *host;
    StageImpl *stages;
    int n_stages;
    cJSON *defaults;
    StageImpl eval_src;        /* the eval set's sources and verifiers (pub.name "eval") */
    long eval_n;
    uint64_t eval_seed;
    Task *eval;
    int n_eval;
    uint64_t *held;            /* open-addressing set of eval prompt hashes (0 = empty) */
    size_t held_cap;
    FileCache *files;
    int n_files;
    /* progress */
    uint64_t seed;
    int stage;
    long stage_step, total_steps, draws, rejected;
    Rng pick;
    double *window;            /* ring buffer of the current stage's last rewards */
    int win_cap, win_n, win_pos;
};

/* What a parse builds; curparse_free frees it whatever happened. */
typedef struct {
    StageImpl *stages;
    int n_stages;
    StageImpl eval;
    long eval_n;
    lua_Integer eval_seed;
    cJSON *defaults;
    char *name;
} Parse;

/* Add rlvr.curriculum and rlvr.stage to the state's rlvr module. */
void curparse_open_lib(lua_State *L);
/* Read the curriculum table at idx into p. With keep, generator functions are referenced
 * in the registry and JSONL files loaded (through keep's file cache); without, it only
 * checks. Raises Lua errors; p owns what was built either way. */
void curparse_read(lua_State *L, int idx, Curriculum *keep, Parse *p);
void curparse_free(lua_State *L, Parse *p);
void curparse_stage_clear(lua_State *L, StageImpl *st);

/* Tasks of a JSONL file, loaded once per curriculum (defined in curriculum.c). */
int  curriculum_load_file(Curriculum *c, const char *path, Task **tasks, size_t *n, char *err, size_t errlen);

#endif
