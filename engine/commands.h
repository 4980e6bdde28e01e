/* commands: the entry points of rlvr's subcommands. Each takes the arguments after
 * its own name and returns the process exit code: 0 success, 1 runtime failure,
 * 2 usage error. Only engine/main.c calls exit(). */
#ifndef RLVR_COMMANDS_H
#define RLVR_COMMANDS_H

int cmd_bench(int argc, char **argv);
int cmd_curriculum(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_sft(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
