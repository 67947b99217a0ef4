"""Trimming a pretrained BPE tokenizer to the tokens a corpus and common English use.

Gemma's 262,144-token vocabulary makes its LM head the main training cost on a CPU. The trimmed
tokenizer keeps: the special tokens, the byte-fallback tokens (so any text still encodes), every
token the corpus encodes to, the ASCII tokens among the first `common` ids (SentencePiece orders
pieces by score, so these are frequent English pieces), and every token a kept token is merged
from. Merges whose parts or result are dropped are removed; on the corpus the trimmed tokenizer
gives the same tokens as the full one (a merge that never fired cannot change which did), and on
other text it falls back to shorter pieces. Kept tokens are renumbered in their original order;
`source_ids` maps new ids to the original ones (the tokenizer itself is the saved mapping: each
token keeps its string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from posegpt.errors import InvalidInputError

#: Original ids below this are scanned for ASCII pieces to keep.
COMMON_IDS = 40_000
_BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")
_ASCII_PIECE = re.compile(r"[\x20-\x7e\u2581]+")


def trim_tokenizer(
    tokenizer: PreTrainedTokenizerFast,
    texts: Iterable[str],
    keep_tokens: Iterable[str] = (),
    common: int = COMMON_IDS,
) -> tuple[PreTrainedTokenizerFast, list[int]]:
    """A copy of the BPE `tokenizer` trimmed to `texts` (see the module docstring), and the
    original id of each new id. `keep_tokens` are added tokens to keep (others are dropped,
    except the tokenizer's own special tokens)."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise InvalidInputError(f"only BPE tokenizers can be trimmed, not {model.get('type')}")
    vocab: dict[str, int] = model["vocab"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    by_id = {i: t for t, i in vocab.items()}
    specials = set(tokenizer.all_special_tokens) | set(keep_tokens)
    added = [t for t in spec["added_tokens"] if t["content"] in specials]
    keep = {t["id"] for t in added}
    keep.update(i for t, i in vocab.items() if _BYTE_TOKEN.fullmatch(t))
    keep.update(i for i in range(min(common, len(by_id))) if _ASCII_PIECE.fullmatch(by_id[i]))
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        keep.update(ids)
    _close_under_merges(keep, vocab, merges)
    source_ids = sorted(keep)
    new_id = {old: new for new, old in enumerate(source_ids)}
    kept_tokens = {by_id[i] for i in keep if i in by_id}
    model["vocab"] = {t: new_id[i] for t, i in vocab.items() if i in new_id}
    model["merges"] = [
        list(m)
        for m in merges
        if m[0] in kept_tokens and m[1] in kept_tokens and m[0] + m[1] in kept_tokens
    ]
    for token in added:
        token["id"] = new_id[token["id"]]
    spec["added_tokens"] = added
    spec["post_processor"] = _remap_post_processor(spec.get("post_processor"), new_id)
    trimmed = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        **{k: getattr(tokenizer, k) for k in ("bos_token", "eos_token", "pad_token", "unk_token")},
        extra_special_tokens=[t for t in tokenizer.extra_special_tokens if t in specials],
        chat_template=tokenizer.chat_template,
    )
    return trimmed, source_ids


def _close_under_merges(
    keep: set[int], vocab: dict[str, int], merges: list[tuple[str, str]]
) -> None:
    """Add to `keep` the parts of every kept token's merge, recursively."""
    parts: dict[str, tuple[str, str]] = {}
    for a, b in merges:
        parts.setdefault(a + b, (a, b))
    by_id = {i: t for t, i in vocab.items()}
    todo = [by_id[i] for i in keep if i in by_id]
    while todo:
        pair = parts.get(todo.pop())
        for part in pair or ():
            index = vocab[part]
            if index not in keep:
                keep.add(index)
                todo.append(part)


def _remap_post_processor(processor: dict | None, new_id: dict[int, int]) -> dict | None:
    """The post-processor with the ids of its special tokens renumbered."""
    if processor is None:
        return None
    if processor.get("type") == "Sequence":
        processor["processors"] = [
            _remap_post_processor(p, new_id) for p in processor["processors"]
        ]
    for token in (processor.get("special_tokens") or {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    return processor
