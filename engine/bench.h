/* bench: the benchmarks behind `rlvr bench`. Each prints JSON lines on stdout (progress
 * on stderr) and compares against a peer measured in the same run, because this machine
 * is shared and noisy. Benchmarks are not tests: they assert nothing about time. */
#ifndef RLVR_BENCH_H
#define RLVR_BENCH_H
#include "policy/model.h"
#include <stddef.h>

int bench_train(int argc, char **argv);
int bench_sample(int argc, char **argv);
int bench_verify(int argc, char **argv);
/* The control for RL's gain: more SFT for the RL stages' compute time, from a run's SFT checkpoint. */
int bench_learn(int argc, char **argv);
/* The trainer's RL step (trainer_rl_step) at 16 prompts x 8 completions x 128 new tokens:
 * sampling, verifying and update times, as JSON lines (engine/bench_rl.c). */
int bench_rl(int argc, char **argv);
/* SFT and RL steps per second under mpirun at 1 and 2 ranks, and the scaling efficiency. */
int bench_mpi(int argc, char **argv);
/* ccrun programs/s (sandbox, bare, bubblewrap; gcc and tcc; 1 and 2 workers), each timed ~seconds. */ int bench_ccrun(double seconds);
/* llama2.c's run.c on model m (exported to a temporary file): its single-stream tokens/s
 * for new_tokens after a prompt_tokens prompt, or -1 with err set. */
double bench_llama2c_tokens_per_s(const Model *m, const char *run_binary, int prompt_tokens,
                                  int new_tokens, char *err, size_t errlen);

#endif
