"""Conversations -> token ids and training labels.

A conversation is a list of messages: `posegpt.records.Message`s, or plain `{"role": "system" |
"user" | "assistant", "content": str}` mappings; `check_messages` checks them all, once.
A user message may hold one `<image>` (at most one image per conversation); assistant messages
hold `<POSE>` where a pose goes. User messages may hold `<pose_in>`, one per input pose
(`posegpt.model.pose_input`). `encode_conversation` is the primitive the data pipeline
collates: it returns the ids with each `<image>` already expanded to the model's
`image_seq_length` placeholders (each `<pose_in>` to `pose_seq_length`), and labels that are
-100 everywhere but the assistant turns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from transformers import PreTrainedTokenizerFast

from posegpt.errors import InvalidInputError
from posegpt.model.tokenizer import (
    BOS_TOKEN,
    CHAT_TOKENS,
    EOS_TOKEN,
    IMAGE_TOKEN,
    PAD_TOKEN,
    POSE_INPUT_TOKEN,
    token_id,
)
from posegpt.records import POSE_TOKEN, ROLES, Message

#: Label value that the cross-entropy ignores.
IGNORE_INDEX = -100
#: Longest message accepted, in characters (a bound on what a user can make us tokenize).
MAX_MESSAGE_CHARS = 20_000

_FORBIDDEN = (*CHAT_TOKENS, BOS_TOKEN, EOS_TOKEN, PAD_TOKEN)

#: A chat message as the model's entry points take it.
MessageLike = Message | Mapping[str, str]


def _fields(message: object, i: int) -> tuple[object, object]:
    if isinstance(message, Message):
        return message.role, message.content
    if isinstance(message, Mapping):
        return message.get("role"), message.get("content")
    raise InvalidInputError(f"message {i} must be a Message or a {{'role', 'content'}} mapping")


def check_messages(messages: Sequence[MessageLike]) -> list[dict[str, str]]:
    """Validate a conversation and return it as plain `{"role", "content"}` dicts."""
    if not messages:
        raise InvalidInputError("a conversation needs at least one message")
    checked = []
    for i, message in enumerate(messages):
        role, content = _fields(message, i)
        if role not in ROLES:
            raise InvalidInputError(f"message {i}: role must be one of {ROLES}, got {role!r}")
        if not isinstance(content, str):
            raise InvalidInputError(f"message {i}: content must be a string")
        if len(content) > MAX_MESSAGE_CHARS:
            raise InvalidInputError(f"message {i} is longer than {MAX_MESSAGE_CHARS} characters")
        if role == "system" and i:
            raise InvalidInputError("only the first message may be a system message")
        if any(token in content for token in _FORBIDDEN):
            raise InvalidInputError(f"message {i} contains a reserved chat marker")
        for marker in (IMAGE_TOKEN, POSE_INPUT_TOKEN):
            if marker in content and role != "user":
                raise InvalidInputError(f"{marker} may only appear in user messages")
        checked.append({"role": role, "content": content})
    if sum(m["content"].count(IMAGE_TOKEN) for m in checked) > 1:
        raise InvalidInputError(f"a conversation may hold at most one {IMAGE_TOKEN}")
    return checked


def format_conversation(
    tokenizer: PreTrainedTokenizerFast,
    messages: Sequence[MessageLike],
    add_generation_prompt: bool = False,
) -> str:
    """Render a conversation as text with the tokenizer's chat template."""
    return tokenizer.apply_chat_template(
        check_messages(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )


def expand_image_tokens(
    input_ids: torch.Tensor, labels: torch.Tensor, image_token_id: int, image_seq_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat every `<image>` id `image_seq_length` times (one per image patch), in ids and labels.

    The LLaVA backbone overwrites these placeholders with the image features, so positions after
    the image move; anything positional (the `<POSE>` positions) is found after this step.
    """
    return expand_placeholders(input_ids, labels, {image_token_id: image_seq_length})


def expand_placeholders(
    input_ids: torch.Tensor, labels: torch.Tensor, lengths: Mapping[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat every placeholder id `lengths[id]` times, in ids and labels."""
    repeats = torch.ones_like(input_ids)
    for placeholder, length in lengths.items():
        repeats = torch.where(input_ids == placeholder, length, repeats)
    return input_ids.repeat_interleave(repeats), labels.repeat_interleave(repeats)


def encode_conversation(
    tokenizer: PreTrainedTokenizerFast,
    messages: Sequence[MessageLike],
    image_seq_length: int,
    add_generation_prompt: bool = False,
    pose_seq_length: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode a conversation: (input_ids, labels), both (T,) int64, placeholders expanded.

    Labels equal the ids on the assistant turns' tokens (their `<|end|>` marker included) and are
    IGNORE_INDEX elsewhere (system, user, role markers, image and pose placeholders). Like
    Hugging Face causal LMs, labels are not shifted: the model shifts them when computing the
    loss. `pose_seq_length` 0 (a model that reads no poses) refuses `<pose_in>` markers. A
    message holding one of the tokenizer's own special tokens (e.g. Gemma's `<eos>`) is refused.
    """
    messages = check_messages(messages)
    reserved = set(tokenizer.all_special_tokens) - {IMAGE_TOKEN, POSE_TOKEN, POSE_INPUT_TOKEN}
    for i, message in enumerate(messages):
        if any(token in message["content"] for token in reserved):
            raise InvalidInputError(f"message {i} contains a reserved token of the tokenizer")
    lengths = {token_id(tokenizer, IMAGE_TOKEN): image_seq_length}
    if any(POSE_INPUT_TOKEN in m["content"] for m in messages):
        if not pose_seq_length or POSE_INPUT_TOKEN not in tokenizer.get_vocab():
            raise InvalidInputError("this model does not read poses (it has no pose-input tower)")
        lengths[token_id(tokenizer, POSE_INPUT_TOKEN)] = pose_seq_length
    encoded = tokenizer.apply_chat_template(
        messages,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
        add_generation_prompt=add_generation_prompt,
    )
    input_ids = torch.tensor(encoded["input_ids"], dtype=torch.long)
    mask = torch.tensor(encoded["assistant_masks"], dtype=torch.bool)
    labels = torch.where(mask, input_ids, IGNORE_INDEX)
    return expand_placeholders(input_ids, labels, lengths)
