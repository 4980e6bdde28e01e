"""PyTorch speed peer for `rlvr bench train`: the same model (tests/ref/torch_model.py),
float32, batch 8 x 256 tokens, vocabulary 1024, timed over full training steps:
forward, weighted loss, backward, clip_grad_norm_, AdamW step, zero_grad.

Prints one JSON line:
  {"peer":"pytorch","preset":..,"threads":N,"tokens_per_s":..,"step_ms":..,"steps":..,"torch_version":..}

Run with the thread count also in the environment, so that the OpenMP runtime
(shared by torch and OpenBLAS) is sized for N from the start, not only after
torch.set_num_threads(N):
  OMP_NUM_THREADS=N python3 bench/torch_train.py --preset tiny --threads N [--seconds S] [--mlp gelu]
It runs 2 warm-up steps, then steps for --seconds (default 5; at least 5 steps), and
reports the median step time, as rlvr's side does: on a shared machine a step that
loses its core to a neighbour should not count against either side.

glibc malloc by default returns large freed blocks to the OS, so every step
page-faults its activations in again (10-20% of a step here); the C side
allocates once. We raise glibc's mmap/trim thresholds to keep freed memory, the
in-process equivalent of running PyTorch on jemalloc/tcmalloc as its CPU tuning
guide advises. --plain-malloc measures without it.
"""
import argparse
import ctypes
import json
import statistics
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from torch_model import Transformer, preset, weighted_loss  # noqa: E402

B, T, VOCAB = 8, 256, 1024
WARMUP, MIN_STEPS = 2, 5


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=["tiny", "small", "base"], default="tiny")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds (at least 5 steps)")
    ap.add_argument("--mlp", choices=["swiglu", "gelu"], default="swiglu")
    ap.add_argument("--plain-malloc", action="store_true", help="keep glibc's default malloc thresholds")
    args = ap.parse_args()
    if not args.plain_malloc:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, up to 32 MB (glibc's max)
        libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD (an int): keep up to 1 GB of free heap top
    torch.set_num_threads(args.threads)

    cfg = preset(args.preset, VOCAB, T, args.mlp)
    model = Transformer(cfg, seed=1)
    # foreach: one multi-tensor AdamW update instead of a Python loop per tensor.
    opt = model.optimizer(lr=1e-3, foreach=True)
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, VOCAB, (B, T), generator=g)
    targets = torch.randint(0, VOCAB, (B, T), generator=g)
    weights = torch.rand(B, T, generator=g) * 2 - 1   # RL-style signed per-token weights

    def step():
        loss = weighted_loss(model(tokens), targets, weights, float(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(WARMUP):
        step()
    times, start = [], time.perf_counter()
    while len(times) < MIN_STEPS or time.perf_counter() - start < args.seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(json.dumps({"peer": "pytorch", "preset": args.preset, "mlp": args.mlp, "threads": args.threads,
                      "tokens_per_s": round(B * T / median, 1), "step_ms": round(1000 * median, 3),
                      "steps": len(times), "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
