"""Write the reference fixtures tests/ref/micro.fix and tests/ref/tiny.fix for the
C tests: logits, log-probs, loss, gradients and two clipped AdamW steps, computed
in float64 from the float32 initial weights the C initialiser also produces.

File format (little-endian): b"RLVRFIX1", uint32 json_len, the JSON header, then
the data blob; each tensor in the header has a dtype ("f32"/"i32"), a shape and a
byte offset into the blob. Large parameters are sampled: "idx/NAME" holds 4096
sorted flat indices and grad/step1/step2 of NAME hold the values there.

Usage: python3 tests/ref/make_fixture.py   (deterministic: same bytes every run)
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import PARAM_NAMES, Config, Transformer, init_params, token_logprobs, weighted_loss  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ADAMW = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-5, "weight_decay": 0.1, "grad_clip": 0.5}
SAMPLE = 4096


def make_batch(cfg, B, T, rng):
    inputs = rng.integers(0, cfg.vocab, (B, T), dtype=np.int32)
    targets = rng.integers(0, cfg.vocab, (B, T), dtype=np.int32)
    # Like RL advantages: a sign per row (rows alternate +, -), magnitudes in (0, 1],
    # and ~25% exact zeros (masked tokens) which must contribute nothing.
    sign = np.where(np.arange(B) % 2 == 0, 1.0, -1.0)[:, None]
    weights = sign * (1.0 - rng.random((B, T)))
    weights[rng.random((B, T)) < 0.25] = 0.0
    return inputs, targets, weights.astype(np.float32)


def make_fixture(path, cfg, B, T, seed, sample):
    rng = np.random.default_rng(seed)  # batch and sampled indices; weights use the C stream
    init = init_params(cfg, seed)
    inputs, targets, weights = make_batch(cfg, B, T, rng)
    denom = float(B * T)

    model = Transformer(cfg, params=init).double()
    opt = model.optimizer(lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                          eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"])
    tok, tgt = torch.from_numpy(inputs).long(), torch.from_numpy(targets).long()
    w = torch.from_numpy(weights).double()

    def step():
        """forward + backward + clip + AdamW step; returns (logits, loss, grads, norm)."""
        opt.zero_grad(set_to_none=True)
        logits = model(tok)
        loss = weighted_loss(logits, tgt, w, denom)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}  # before clipping
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), ADAMW["grad_clip"]).item()
        opt.step()
        return logits.detach(), loss.item(), grads, norm

    logits, loss, grads, norm1 = step()
    step1 = {n: p.detach().clone() for n, p in model.named_parameters()}
    logits2, loss2, _, norm2 = step()
    step2 = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert norm1 > ADAMW["grad_clip"] and norm2 > ADAMW["grad_clip"], "clipping must be exercised"

    tensors = [("inputs", inputs), ("targets", targets), ("weights", weights),
               ("logits", logits.numpy()), ("logprobs", token_logprobs(logits, tgt).numpy()),
               ("loss", np.array([loss])), ("loss2", np.array([loss2]))]
    for n in PARAM_NAMES:
        size = init[n].size
        idx = None
        if sample and size > SAMPLE:
            idx = np.sort(rng.choice(size, SAMPLE, replace=False)).astype(np.int32)
            tensors.append((f"idx/{n}", idx))
        for tag, src in (("grad", grads), ("step1", step1), ("step2", step2)):
            v = src[n].numpy()
            tensors.append((f"{tag}/{n}", v.reshape(-1)[idx] if idx is not None else v))

    header, blob = [], bytearray()
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype="<i4" if a.dtype.kind in "iu" else "<f4")
        header.append({"name": name, "dtype": "i32" if a.dtype.kind == "i" else "f32",
                       "shape": list(a.shape), "offset": len(blob), "count": int(a.size)})
        blob += a.tobytes()
    meta = json.dumps({"config": cfg.to_json(), "init_seed": seed, "B": B, "T": T,
                       "denom": denom, "adamw": ADAMW, "tensors": header}).encode()
    with open(path, "wb") as f:
        f.write(b"RLVRFIX1" + struct.pack("<I", len(meta)) + meta + blob)
    print(f"{os.path.basename(path)}: {os.path.getsize(path)} bytes, {len(tensors)} tensors, "
          f"params {sum(a.size for a in init.values())}; loss {loss:.9f} -> loss2 {loss2:.9f}; "
          f"grad norm step1 {norm1:.6f}, step2 {norm2:.6f} (clip {ADAMW['grad_clip']})")


if __name__ == "__main__":
    make_fixture(os.path.join(HERE, "micro.fix"),
                 Config(vocab=64, d_model=32, n_layer=2, n_head=2, max_seq=16, mlp_hidden=96),
                 B=2, T=8, seed=1234, sample=False)
    make_fixture(os.path.join(HERE, "tiny.fix"),
                 Config(vocab=64, d_model=128, n_layer=4, n_head=4, max_seq=32, mlp_hidden=384),
                 B=2, T=32, seed=42, sample=True)
