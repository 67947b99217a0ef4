"""The tokenizer: our own byte-level BPE, or a pretrained LLaVA tokenizer, plus our special tokens.

Special tokens `<image>`, `<POSE>`, `<pose_in>` and the chat markers are registered as special,
so the tokenizer never splits them; `check_tokenizer` asserts it when a tokenizer is built or
loaded.
The chat template (a Jinja template stored on the tokenizer) renders a conversation as

    <s><|system|>...<|end|><|user|>...<|end|><|assistant|>...<|end|>...

and marks the assistant turns, end marker included, for the training labels. Note that a space
before `<POSE>` is a token of its own ("is <POSE>" -> "is", " ", "<POSE>").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from posegpt.errors import ModelFileError
from posegpt.records import IMAGE_TOKEN, POSE_INPUT_TOKEN, POSE_TOKEN, ROLES

PAD_TOKEN, BOS_TOKEN, EOS_TOKEN = "<pad>", "<s>", "</s>"
ROLE_TOKENS = {role: f"<|{role}|>" for role in ROLES}
END_TOKEN = "<|end|>"
#: Chat structure markers: never allowed inside a message's content.
CHAT_TOKENS = (*ROLE_TOKENS.values(), END_TOKEN)
#: Tokens PoseGPT adds to any tokenizer (ours or a pretrained one).
ADDED_TOKENS = (IMAGE_TOKEN, POSE_TOKEN, POSE_INPUT_TOKEN, *CHAT_TOKENS)
#: Added tokens that tokenizers saved before they existed may lack (their models read no poses).
OPTIONAL_TOKENS = (POSE_INPUT_TOKEN,)
#: A reply the tokenizer must encode with exactly one `<POSE>` id.
POSE_PROBE = "Sure, the SMPL pose is <POSE>."

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<|' + message['role'] + '|>' -}}"
    "{%- if message['role'] == 'assistant' -%}"
    "{% generation %}{{- message['content'] + '" + END_TOKEN + "' -}}{% endgeneration %}"
    "{%- else -%}"
    "{{- message['content'] + '" + END_TOKEN + "' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '" + ROLE_TOKENS["assistant"] + "' -}}{%- endif -%}"
)


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 6000) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `corpus` and wrap it with PoseGPT's special tokens and template.

    Byte-level means any text encodes (no unknown token). Occurrences of the special tokens in
    the corpus are removed before training so that no merges are wasted on their pieces.
    """
    specials = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, *ADDED_TOKENS]
    pattern = re.compile("|".join(re.escape(s) for s in specials))
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator((pattern.sub(" ", text) for text in corpus), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token=PAD_TOKEN,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        extra_special_tokens=list(ADDED_TOKENS),
        chat_template=CHAT_TEMPLATE,
    )
    check_tokenizer(tokenizer)
    return tokenizer


def extend_tokenizer(tokenizer: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """Add PoseGPT's special tokens and chat template to a pretrained (llava-hf) tokenizer."""
    missing = [t for t in ADDED_TOKENS if t not in tokenizer.get_vocab()]
    tokenizer.add_special_tokens(
        {"extra_special_tokens": missing}, replace_extra_special_tokens=False
    )
    if tokenizer.pad_token is None:
        tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    tokenizer.chat_template = CHAT_TEMPLATE
    check_tokenizer(tokenizer)
    return tokenizer


#: The files of a saved tokenizer that loading needs.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved with `save_pretrained` from a local folder (JSON files only)."""
    for name in TOKENIZER_FILES:
        if not (Path(path) / name).is_file():
            raise ModelFileError(f"cannot load the tokenizer: {Path(path) / name} is missing")
    try:
        tokenizer = AutoTokenizer.from_pretrained(os.fspath(path), local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot load the tokenizer from {path}: {err}") from err
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise ModelFileError(f"{path} does not hold a fast (tokenizer.json) tokenizer")
    if tokenizer.chat_template != CHAT_TEMPLATE:
        raise ModelFileError(
            f"the tokenizer in {path} lacks PoseGPT's chat template (chat_template.jinja)"
        )
    check_tokenizer(tokenizer)
    return tokenizer


def token_id(tokenizer: PreTrainedTokenizerFast, token: str) -> int:
    """The id of the special token `token` (e.g. POSE_TOKEN)."""
    index = tokenizer.get_vocab().get(token)
    if index is None:
        raise ModelFileError(f"the tokenizer has no {token} token")
    return index


def check_tokenizer(tokenizer: PreTrainedTokenizerFast) -> None:
    """Raise ModelFileError unless every special token encodes to exactly one id, in context too.

    A tokenizer saved before `<pose_in>` existed may lack it (OPTIONAL_TOKENS)."""
    vocab = tokenizer.get_vocab()
    for token in ADDED_TOKENS:
        if token in OPTIONAL_TOKENS and token not in vocab:
            continue
        ids = tokenizer.encode(token, add_special_tokens=False)
        if ids != [token_id(tokenizer, token)]:
            raise ModelFileError(f"the tokenizer splits {token} into {len(ids)} tokens")
    pose_id = token_id(tokenizer, POSE_TOKEN)
    if tokenizer.encode(POSE_PROBE, add_special_tokens=False).count(pose_id) != 1:
        raise ModelFileError(f"the tokenizer does not keep {POSE_TOKEN} whole in {POSE_PROBE!r}")
