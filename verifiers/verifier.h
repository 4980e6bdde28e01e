/* verifier: the interface every reward source implements, the registry that finds them
 * by name, and the Verdict they return.
 *
 * A Verifier scores one completion of one task and fills a Verdict: a reward in [0, 1],
 * a status naming what happened (VERDICT_* below, or a verifier's own word), and a
 * detail JSON object (parsed answer, expected, per-step checks, tests passed, signal,
 * time, memory, stderr excerpt...). Verifiers are stateless per call and must be safe
 * to call from several threads at once. A verifier never fails its caller: trouble on
 * its own side is status "verifier_error" with reward 0 and the reason in detail.
 *
 * The registry accepts verifiers from anyone (built-ins register at start-up; Lua
 * scripts will register theirs), so verifiers/ never needs to know who provides one. */
#ifndef RLVR_VERIFIER_H
#define RLVR_VERIFIER_H
#include "tasks/task.h"
#include <cJSON.h>
#include <stddef.h>

#define VERDICT_CORRECT "correct"
#define VERDICT_WRONG "wrong"
#define VERDICT_NO_ANSWER "no_answer"
#define VERDICT_COMPILE_ERROR "compile_error"
#define VERDICT_TIME_LIMIT "time_limit"
#define VERDICT_MEMORY_LIMIT "memory_limit"
#define VERDICT_RUNTIME_ERROR "runtime_error"
#define VERDICT_OUTPUT_LIMIT "output_limit"
#define VERDICT_SANDBOX_VIOLATION "sandbox_violation"
#define VERDICT_VERIFIER_ERROR "verifier_error"
#define VERDICT_BAD_INPUT "bad_input"

typedef struct {
    double reward;     /* in [0, 1] */
    char status[32];
    cJSON *detail;     /* a JSON object, owned by the verdict */
} Verdict;

/* reward 0, status "", an empty detail object. Returns -1 only if out of memory. */
int   verdict_init(Verdict *v);
/* The reward is clamped to [0, 1]; a non-finite one (NaN, inf) is refused: reward 0,
 * status "verifier_error", detail.error says why. A status longer than 31 bytes is cut. */
void  verdict_set(Verdict *v, double reward, const char *status);
void  verdict_free(Verdict *v);
/* {"reward":..,"status":..,"detail":{..}} as a malloc'd line (no newline). The rules of
 * verdict_set are applied again (for verifiers that write the fields directly), and an
 * empty status also becomes "verifier_error"; a missing detail prints as {}. */
char *verdict_to_json(const Verdict *v);
/* The same as a new cJSON object (the caller owns it; NULL if out of memory). */
cJSON *verdict_to_cjson(const Verdict *v);

/* Add item to a detail object; -1 (and item freed) when either is NULL (out of memory),
 * so detail building can chain without leaking. */
int   verdict_detail_add(cJSON *obj, const char *key, cJSON *item);

/* At most max bytes of s (n bytes, any content) as a JSON string for a detail: "..."
 * appended when cut, invalid UTF-8 and NUL bytes as '?' (cJSON escapes other control
 * bytes). NULL only when out of memory. */
cJSON *verdict_detail_text(const char *s, size_t n, size_t max);

typedef struct Verifier Verifier;
struct Verifier {
    const char *name;
    /* Score `completion` (len bytes, not necessarily NUL-free) for `task` into out, which
     * the caller has verdict_init'ed. */
    void (*score)(const Verifier *self, const Task *task, const char *completion, size_t len, Verdict *out);
    void (*free)(Verifier *self);   /* frees state and self; NULL: free(self) is enough */
    void *state;                     /* the verifier's own, read-only while scoring */
};

/* Takes ownership of v (a malloc'd Verifier), even when it fails, so that
 * verifier_register(verifier_x_create(), ...) never leaks. Fails (-1, err) on NULL v
 * (a create that ran out of memory), a NULL or empty name, no score function, or a name
 * already taken. Registration is for start-up, on one thread; verifier_find and
 * verifier_names are safe from any number of threads once registration is over. */
int  verifier_register(Verifier *v, char *err, size_t errlen);
const Verifier *verifier_find(const char *name);
/* The registered names, for error messages: "arith, ccrun, ..." (static buffer). */
const char *verifier_names(void);
/* Register the built-in verifiers (arith, ...). Idempotent. */
int  verifiers_register_builtins(char *err, size_t errlen);
void verifier_registry_free(void);

#endif
