# rlvr: one binary, built from the component folders.
# `make deps` installs the Debian packages the build needs (only the missing ones);
# `make`, `make test` and `make demo` run it first, so a fresh Debian 12 needs no other step.

CC      ?= gcc
BUILD   ?= build
RLVR    ?= ./rlvr
BLASDIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
BLASINC := /usr/include/x86_64-linux-gnu/openblas-openmp
# -march=native: the loops around the BLAS calls (norms, softmax, AdamW) vectorise.
# Build with NATIVE= for a portable binary.
NATIVE  ?= -march=native
OPT     ?= -O3
SAN     ?=
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
CFLAGS  += -std=gnu11 -Wall -Wextra $(OPT) $(NATIVE) $(SAN) -fopenmp -g \
           -I. -I$(BLASINC) -I/usr/include/cjson -I/usr/include/lua5.4
# Link the OpenMP build of OpenBLAS explicitly (with an rpath), so BLAS and our own
# loops share one threading runtime whatever the system's libblas alternative is.
LDLIBS  += $(SAN) -L$(BLASDIR) -Wl,-rpath,$(BLASDIR) -lopenblas -lcjson -lgmp -llua5.4 -lz -lm -fopenmp -lseccomp -lgit2

# MPI (engine/dist.h): with mpicc on PATH every object gets -DRLVR_MPI and MPI's include
# flags, and the programs link libmpi; `make MPI=0` (or no mpicc) builds without MPI.
# CC stays gcc: only mpicc's flags are used. Objects depend on a stamp naming the
# setting, so switching it rebuilds them.
ifndef MPI
MPI     := $(if $(shell command -v mpicc 2>/dev/null),1,0)
endif
ifeq ($(MPI),1)
CFLAGS  += -DRLVR_MPI $(shell mpicc --showme:compile)
LDLIBS  += $(shell mpicc --showme:link)
endif
MPI_STAMP := $(BUILD)/.mpi-$(MPI)
# The objects that embed RLVR_COMMIT are rebuilt when HEAD moves (a stamp per commit), so
# `rlvr info` and a run's config.json name the commit the binary was built from.
COMMIT_STAMP := $(BUILD)/.commit-$(COMMIT)

# Every .c in a component folder is part of the program; engine/main.c holds main().
POLICY_SRC := $(wildcard policy/*.c)
TASKS_SRC  := $(wildcard tasks/*.c)
VERIF_SRC  := $(wildcard verifiers/*.c)
LUA_SRC    := $(wildcard lua/*.c)
ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c))
LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(POLICY_SRC) $(TASKS_SRC) $(VERIF_SRC) $(LUA_SRC) $(ENGINE_SRC))

# Every tests/test_*.c is a cmocka suite.
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))

.PHONY: all deps test test-asan demo bench clean
all: deps
	@$(MAKE) --no-print-directory $(RLVR)

deps:
	@scripts/deps.sh

$(MPI_STAMP):
	@mkdir -p $(BUILD); rm -f $(BUILD)/.mpi-*; touch $@

$(COMMIT_STAMP):
	@mkdir -p $(BUILD); rm -f $(BUILD)/.commit-*; touch $@
$(BUILD)/engine/main.o $(BUILD)/engine/train.o $(BUILD)/engine/run_record.o: $(COMMIT_STAMP)

$(BUILD)/%.o: %.c $(MPI_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRLVR_COMMIT=\"$(COMMIT)\" -MMD -MP -c $< -o $@

$(RLVR): $(BUILD)/engine/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The multi-process checks of engine/dist.c, run by tests/cli_mpi.sh under mpirun, and
# the checkpoint comparison its equivalence tests use.
$(BUILD)/tests/mpi_allreduce_check: $(BUILD)/tests/mpi_allreduce_check.o $(BUILD)/engine/dist.o $(BUILD)/engine/util.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/ckpt_compare: $(BUILD)/tests/ckpt_compare.o $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The suite: every cmocka binary, then the command-line checks; stops at the first failure.
test: deps
	@$(MAKE) --no-print-directory $(RLVR) $(TEST_BINS) $(BUILD)/tests/mpi_allreduce_check $(BUILD)/tests/ckpt_compare
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t; done
	@echo "== tests/cli.sh"; tests/cli.sh $(RLVR)
	@echo "== tests/cli_policy.sh"; tests/cli_policy.sh $(RLVR)
	@echo "== tests/cli_verify.sh"; tests/cli_verify.sh $(RLVR)
	@echo "== tests/cli_ccrun.sh"; tests/cli_ccrun.sh $(RLVR)
	@echo "== tests/cli_lua.sh"; tests/cli_lua.sh $(RLVR)
	@echo "== tests/cli_curriculum.sh"; tests/cli_curriculum.sh $(RLVR)
	@echo "== tests/cli_eval.sh"; tests/cli_eval.sh $(RLVR)
	@echo "== tests/cli_train.sh"; tests/cli_train.sh $(RLVR)
	@echo "== tests/cli_runs.sh"; tests/cli_runs.sh $(RLVR)
	@echo "== tests/cli_mpi.sh"; tests/cli_mpi.sh $(RLVR) $(BUILD)/tests/mpi_allreduce_check $(BUILD)/tests/ckpt_compare
	@if [ -z "$(SAN)" ]; then echo "== tests/attacks.sh"; tests/attacks.sh $(RLVR); \
	 else echo "== tests/attacks.sh skipped: a sanitizer build cannot run under its address-space limit"; fi
	@echo "ALL TESTS PASSED"

# The same suite under AddressSanitizer and UBSan, in its own build tree.
test-asan: deps
	@$(MAKE) --no-print-directory test BUILD=build-asan RLVR=build-asan/rlvr OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

demo: deps
	@$(MAKE) --no-print-directory $(RLVR)
	$(RLVR) demo

bench: deps
	@$(MAKE) --no-print-directory $(RLVR)
	$(RLVR) bench train

clean:
	rm -rf build build-asan rlvr

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
