"""PyTorch reference of the rlvr policy (policy/model.h), used for test fixtures and
as the speed peer in bench/torch_train.py.

Decoder-only transformer: token embedding tied to the output head, RoPE on
interleaved pairs (llama2.c), pre-norm RMSNorm, causal multi-head attention,
SwiGLU (or GELU-tanh) MLP, final RMSNorm, no biases. The weighted loss is
    loss = -sum_{b,t} w[b,t] * log_softmax(logits[b,t])[targets[b,t]] / D.

init_params() reproduces the C initialiser bit for bit (one splitmix64 stream
walked over the parameters in PARAM_NAMES order), so both sides start from the
same float32 weights. The model works in float32 or, after .double(), float64.

Run this file to self-test: python3 tests/ref/torch_model.py
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROPE_THETA = 10000.0
RMS_EPS = 1e-5

# The order matters: it is the C parameter layout and the order of the init stream.
PARAM_NAMES = ["wte", "rms1_w", "qkv_w", "attproj_w", "rms2_w", "fc_w", "fcproj_w", "rmsf_w"]
LAYER_NAMES = PARAM_NAMES[1:7]  # stacked per layer: (L, ...)
NORM_NAMES = {"rms1_w", "rms2_w", "rmsf_w"}
DECAY_NAMES = {"qkv_w", "attproj_w", "fc_w", "fcproj_w"}  # AdamW decays matmul weights only


@dataclass
class Config:
    vocab: int
    d_model: int
    n_layer: int
    n_head: int
    max_seq: int
    mlp_hidden: int
    mlp: str = "swiglu"  # or "gelu"

    def to_json(self):
        return dict(vocab=self.vocab, d_model=self.d_model, n_layer=self.n_layer,
                    n_head=self.n_head, max_seq=self.max_seq, mlp_hidden=self.mlp_hidden,
                    mlp=self.mlp)


# (d_model, n_layer, n_head, swiglu width); gelu uses 4C instead.
PRESETS = {"tiny": (128, 4, 4, 384), "small": (256, 6, 8, 704), "base": (512, 8, 8, 1408)}


def preset(name, vocab, max_seq, mlp="swiglu"):
    C, L, NH, F_ = PRESETS[name]
    return Config(vocab, C, L, NH, max_seq, F_ if mlp == "swiglu" else 4 * C, mlp)


def param_shapes(cfg):
    V, C, L, Fh = cfg.vocab, cfg.d_model, cfg.n_layer, cfg.mlp_hidden
    fc_rows = 2 * Fh if cfg.mlp == "swiglu" else Fh  # swiglu: gate rows, then up rows
    return {"wte": (V, C), "rms1_w": (L, C), "qkv_w": (L, 3 * C, C), "attproj_w": (L, C, C),
            "rms2_w": (L, C), "fc_w": (L, fc_rows, C), "fcproj_w": (L, C, Fh), "rmsf_w": (C,)}


# ---------------------------------------------------------------- initialisation

def splitmix64_u24(seed, start, n):
    """Draws start+1 .. start+n of the splitmix64 stream seeded with `seed`, as
    (z >> 40) * 2^-24 in float64. Draw k only depends on state = seed + k*golden,
    so the stream vectorises; numpy uint64 arithmetic wraps mod 2^64 like C."""
    out = np.empty(n, dtype=np.float64)
    chunk = 1 << 20  # bounds the temporaries for the 26M-parameter base preset
    for lo in range(0, n, chunk):
        k = np.arange(start + lo + 1, start + min(n, lo + chunk) + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        out[lo:lo + len(k)] = (z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
    return out


def init_params(cfg, seed):
    """The C initialiser: {name: float32 array}. Matrices uniform in +-0.035
    (std ~0.02), norm weights 1 +- 0.1; computed in float64, rounded once."""
    params, drawn = {}, 0
    for name, shape in param_shapes(cfg).items():
        n = math.prod(shape)
        s = 2.0 * splitmix64_u24(seed, drawn, n) - 1.0
        v = 1.0 + s * 0.1 if name in NORM_NAMES else s * 0.035
        params[name] = v.astype(np.float32).reshape(shape)
        drawn += n
    return params


# ---------------------------------------------------------------- the model

def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * w


def rope(x, freqs):
    """x (B, T, ..., hs) real, freqs (T, ..., hs/2) complex e^{i*pos*freq_i}: rotating
    the interleaved pair (x[2i], x[2i+1]) is multiplying the complex x[2i] + i*x[2i+1]."""
    return torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * freqs).flatten(-2)


class Transformer(nn.Module):
    def __init__(self, cfg, params=None, seed=None):
        super().__init__()
        assert cfg.d_model % cfg.n_head == 0 and (cfg.d_model // cfg.n_head) % 2 == 0
        assert cfg.mlp in ("swiglu", "gelu")
        self.cfg = cfg
        if params is None:
            params = init_params(cfg, seed)
        for name in PARAM_NAMES:  # registered in C order: parameters() follows it
            self.register_parameter(name, nn.Parameter(torch.from_numpy(np.array(params[name]))))
        self._cache = {}  # (T, dtype, device) -> rope factors and causal mask

    def _tables(self, T, dtype, device):
        """RoPE factors e^{i*pos*freq} (T,1,1,hs/2) and the additive causal mask (T,T):
        computed in float64 then cast once. Cached, not buffers, so that .float() and
        .double() never round them twice."""
        key = (T, dtype, device)
        if key not in self._cache:
            hs = self.cfg.d_model // self.cfg.n_head
            freq = ROPE_THETA ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
            ang = torch.arange(T, dtype=torch.float64)[:, None] * freq  # (T, hs/2)
            cplx = torch.complex64 if dtype == torch.float32 else torch.complex128
            freqs = torch.polar(torch.ones_like(ang), ang).view(T, 1, 1, -1).to(device, cplx)
            mask = torch.full((T, T), float("-inf"), dtype=dtype, device=device).triu(1)
            self._cache[key] = (freqs, mask)
        return self._cache[key]

    def forward(self, tokens):
        """tokens (B,T) int64 -> logits (B,T,V)."""
        cfg = self.cfg
        B, T = tokens.shape
        C, NH = cfg.d_model, cfg.n_head
        hs = C // NH
        assert T <= cfg.max_seq
        freqs, mask = self._tables(T, self.wte.dtype, self.wte.device)
        x = F.embedding(tokens, self.wte)
        # unbind, not [l]: its backward stacks the L slices once, where indexing would
        # build a zero-filled full-size gradient per layer.
        layers = zip(*(getattr(self, n).unbind(0) for n in LAYER_NAMES))
        for rms1_w, qkv_w, attproj_w, rms2_w, fc_w, fcproj_w in layers:
            qkv = F.linear(rmsnorm(x, rms1_w), qkv_w).view(B, T, 3, NH, hs)
            q, k = rope(qkv[:, :, :2], freqs).unbind(2)           # q and k in one op
            # (B*NH, T, hs) batches for bmm; head h sits at columns h*hs.. of C.
            q, k, v = (t.transpose(1, 2).reshape(B * NH, T, hs) for t in (q, k, qkv[:, :, 2]))
            # mask + (q k^T)/sqrt(hs) in one gemm call; -inf above the diagonal.
            att = torch.baddbmm(mask, q, k.transpose(1, 2), alpha=1.0 / math.sqrt(hs)).softmax(-1)
            y = torch.bmm(att, v).view(B, NH, T, hs).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, attproj_w)
            h = F.linear(rmsnorm(x, rms2_w), fc_w)
            if cfg.mlp == "swiglu":
                gate, up = h.chunk(2, -1)
                h = F.silu(gate) * up
            else:
                h = F.gelu(h, approximate="tanh")
            x = x + F.linear(h, fcproj_w)
        return F.linear(rmsnorm(x, self.rmsf_w), self.wte)   # tied head

    def optimizer(self, lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, **kw):
        """AdamW with decay on the matmul weights only (wte and norms undecayed)."""
        decay = [p for n, p in self.named_parameters() if n in DECAY_NAMES]
        other = [p for n, p in self.named_parameters() if n not in DECAY_NAMES]
        return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                  {"params": other, "weight_decay": 0.0}],
                                 lr=lr, betas=betas, eps=eps, **kw)


def token_logprobs(logits, targets):
    """log_softmax(logits)[targets], shape (B,T)."""
    return -F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)


def weighted_loss(logits, targets, weights, denom):
    return -(weights * token_logprobs(logits, targets)).sum() / denom


# ---------------------------------------------------------------- self-test

def _self_test():
    torch.manual_seed(0)
    # The vectorised stream against the scalar definition.
    M = (1 << 64) - 1
    state, ref = 7, []
    for _ in range(5):
        state = (state + 0x9E3779B97F4A7C15) & M
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        ref.append(((z ^ (z >> 31)) >> 40) * 2.0 ** -24)
    assert np.array_equal(splitmix64_u24(7, 0, 5), ref) and np.array_equal(splitmix64_u24(7, 2, 3), ref[2:])

    # RoPE against the per-pair formula.
    x = torch.randn(1, 5, 2, 8, dtype=torch.float64)
    m = Transformer(Config(16, 16, 1, 2, 8, 32), seed=1).double()
    y = rope(x, m._tables(5, torch.float64, x.device)[0][:, 0])
    for t in range(5):
        for i in range(4):
            ang = t * 10000.0 ** (-2 * i / 8)
            a, b = x[0, t, :, 2 * i], x[0, t, :, 2 * i + 1]
            assert torch.allclose(y[0, t, :, 2 * i], a * math.cos(ang) - b * math.sin(ang))
            assert torch.allclose(y[0, t, :, 2 * i + 1], a * math.sin(ang) + b * math.cos(ang))

    for mlp in ("swiglu", "gelu"):
        cfg = Config(vocab=64, d_model=32, n_layer=2, n_head=2, max_seq=16,
                     mlp_hidden=96 if mlp == "swiglu" else 128, mlp=mlp)
        tok, tgt = torch.randint(0, 64, (2, 8)), torch.randint(0, 64, (2, 8))
        w = torch.rand(2, 8, dtype=torch.float64) * 2 - 1
        m64 = Transformer(cfg, seed=3).double()
        m32 = Transformer(cfg, seed=3)
        l64 = weighted_loss(m64(tok), tgt, w, 16.0)
        l32 = weighted_loss(m32(tok), tgt, w.float(), 16.0)
        l64.backward(), l32.backward()
        assert abs(l64.item() - l32.item()) < 1e-5, (l64.item(), l32.item())
        for n in PARAM_NAMES:
            g64, g32 = getattr(m64, n).grad, getattr(m32, n).grad.double()
            assert (g64 - g32).abs().max() <= 1e-4 * g64.abs().max() + 1e-8, n
        # Central differences in float64 on a few elements of each tensor.
        for n in PARAM_NAMES:
            p = getattr(m64, n)
            for j in torch.randint(0, p.numel(), (3,)).tolist():
                with torch.no_grad():
                    old, h = p.view(-1)[j].item(), 1e-6
                    p.view(-1)[j] = old + h
                    lp = weighted_loss(m64(tok), tgt, w, 16.0).item()
                    p.view(-1)[j] = old - h
                    lm = weighted_loss(m64(tok), tgt, w, 16.0).item()
                    p.view(-1)[j] = old
                fd, an = (lp - lm) / (2 * h), p.grad.view(-1)[j].item()
                assert abs(fd - an) <= 1e-6 + 1e-5 * abs(an), (mlp, n, j, fd, an)
        print(f"{mlp}: loss f64 {l64.item():.9f} f32 {l32.item():.9f}; grads f32~f64, finite differences ok")
    print("self-test passed")


if __name__ == "__main__":
    _self_test()
