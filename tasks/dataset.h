/* dataset: prompt/completion pairs from JSON Lines files.
 *
 * Each line is an object with the prompt in "prompt" or "question" and the completion in
 * "completion" or "answer" (GSM8K's format is {"question", "answer"}). Blank lines are
 * ignored. A line that is not a JSON object, or lacks a field, or has a non-string field,
 * is an error naming the file and line, unless the caller asks to skip bad lines, in
 * which case it is counted and skipped. */
#ifndef RLVR_DATASET_H
#define RLVR_DATASET_H
#include <stddef.h>

#include <cJSON.h>

/* One JSON Lines line, strictly: a JSON value followed by nothing but whitespace (cJSON
 * alone would accept `{...}{...}` and silently drop the second object). NULL if not. */
cJSON *dataset_parse_line(const char *line, size_t len);

typedef struct {
    char *prompt;
    char *completion;
    int line;          /* 1-based line number in the file */
} Pair;

typedef struct {
    Pair *items;
    size_t n;
    size_t skipped;    /* bad lines skipped (only when asked to) */
} PairSet;

int  dataset_load_pairs(const char *path, int skip_bad, PairSet *out, char *err, size_t errlen);
void dataset_free_pairs(PairSet *s);

#endif
