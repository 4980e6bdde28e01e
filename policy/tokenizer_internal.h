/* tokenizer_internal: what tokenizer.c shares with tokenizer_train.c, and nobody else. */
#ifndef RLVR_TOKENIZER_INTERNAL_H
#define RLVR_TOKENIZER_INTERNAL_H
#include "policy/tokenizer.h"

/* (a, b) -> id maps, open addressing. */
int  pairmap_init(TokenizerPairMap *m, size_t min_entries);
void pairmap_free(TokenizerPairMap *m);
int  pairmap_get(const TokenizerPairMap *m, int a, int b);
int  pairmap_put(TokenizerPairMap *m, int a, int b, int val);
/* p reallocated (capacity doubling) to hold need items of elem bytes, *cap updated;
 * NULL if out of memory, p then still valid. */
void *tokenizer_grow(void *p, size_t *cap, size_t need, size_t elem);
/* Fill t from n merges, checking each; origin names the source in errors. */
int  tokenizer_build(Tokenizer *t, const int (*merges)[2], int n, const char *origin, char *err, size_t errlen);

#endif
