"""PyTorch speed peer for `rlvr bench train`: the same model (tests/ref/torch_model.py),
float32, batch 8 x 256 tokens, vocabulary 1024, timed over full training steps:
forward, weighted loss, backward, clip_grad_norm_, AdamW step, zero_grad.

Prints one JSON line:
  {"peer":"pytorch","preset":..,"threads":N,"tokens_per_s":..,"step_ms":..,"steps":..,"torch_version":..}

Run with the thread count also in the environment, so that OpenMP and the BLAS
size their pools before torch starts (torch.set_num_threads alone may be too late
for OpenBLAS):
  OMP_NUM_THREADS=N python3 bench/torch_train.py --preset tiny --threads N [--steps S]
Without --steps it runs enough steps for ~5 s, at least 3, after 2 warm-up steps.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from torch_model import Transformer, preset, weighted_loss  # noqa: E402

B, T, VOCAB = 8, 256, 1024
WARMUP, TARGET_SECONDS = 2, 5.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=["tiny", "small", "base"], default="tiny")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default: ~5 s, at least 3)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    cfg = preset(args.preset, VOCAB, T)
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

    t0 = time.perf_counter()
    for _ in range(WARMUP):
        step()
    per_step = (time.perf_counter() - t0) / WARMUP
    steps = args.steps or max(3, math.ceil(TARGET_SECONDS / per_step))

    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch", "preset": args.preset, "threads": args.threads,
                      "tokens_per_s": round(B * T * steps / elapsed, 1),
                      "step_ms": round(1000 * elapsed / steps, 3), "steps": steps,
                      "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
