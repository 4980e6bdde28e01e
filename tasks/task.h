/* task: the unit of work the harness hands to a policy and a verifier.
 *
 * A Task has an id, the prompt shown to the policy, a reference (gold answer or
 * reference solution; may be empty), the name of the verifier that scores it, and meta:
 * a JSON object with everything else (tests for code tasks, difficulty, source, stage).
 * From a dataset line: "prompt" or "question" is the prompt, "reference" or "answer" the
 * reference, "id" and "verifier" (strings) their fields, and every other field goes to
 * meta unchanged. A GSM8K line {"question", "answer"} is prompt + reference, verifier
 * "arith". */
#ifndef RLVR_TASK_H
#define RLVR_TASK_H
#include <cJSON.h>
#include <stddef.h>

typedef struct {
    char *id;        /* "" when the line has none */
    char *prompt;
    char *reference; /* "" when absent */
    char *verifier;  /* "" when absent: the caller decides */
    cJSON *meta;     /* a JSON object, never NULL after task_from_json */
} Task;

/* Build a task from a dataset object. Fields named in `skip` (NULL-terminated list, may
 * be NULL) are left out of meta, e.g. "completion" for `rlvr verify`. Fails, with err
 * naming the field, when the prompt is missing or a known field has the wrong type. */
int  task_from_json(Task *t, const cJSON *obj, const char *const *skip, char *err, size_t errlen);
void task_free(Task *t);

#endif
