"""PoseGPT: a LLaVA backbone whose `<POSE>` tokens a pose head turns into SMPL poses.

Training interface (for posegpt.train): build a batch with `collate` (`model.collate_fn`) from
samples made by `model.encode(messages)` and `model.preprocess(image)`, then
`out = model(batch)`: `out.ce_loss` (next-token cross-entropy), `out.pose_loss` (L1 between
rotation matrices) and `out.pred_rotmat`; the training side weighs the two losses
(`TrainConfig.loss`). Works under `torch.autocast` (the head and the pose loss run in float32).

With `config.text_encoder` set the backbone reads input embeddings with frozen sentence features
(MiniLM or Gemma) of the user turns added (`posegpt.model.text_features`) instead of ids.
With `config.pose_tower == "blazepose"` an image's `<image>` placeholders hold the pose
tower's person tokens (`posegpt.model.pose_tower`) instead of pixel-tower patches, and an
image input (`pixel_values` in batches) is its (slots, FEATURE_DIM) person features (more with
`config.tower_colours`: `posegpt.model.pose_tower.features`).

With `config.pose_seq_length > 0` the pose-input tower (`posegpt.model.pose_input`) reads input
poses: each `<pose_in>` placeholder of a user message becomes that many embeddings of its pose
(`input_poses` in the batch).

Inference interface (for posegpt.serve): `model.chat(messages, image=..., poses=...)` ->
`Reply(text, poses)`; `text` keeps each `<POSE>` marker and `poses[i]` is the (24, 3, 3) pose
of the i-th. Messages may carry `poses`: an assistant message's answer poses enter the next
user message automatically.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import (
    BaseImageProcessor,
    GenerationConfig,
    LlavaForConditionalGeneration,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedTokenizerFast,
)
from transformers.models.llava.modeling_llava import LlavaCausalLMOutputWithPast

from posegpt.body.prior import GaussianPosePrior
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.images import ImageInput, load_image
from posegpt.model.ask_again import ONE_PERSON_AGAIN, again, close_enough, is_question
from posegpt.model.chat_format import (
    IGNORE_INDEX,
    MessageLike,
    check_messages,
    encode_conversation,
)
from posegpt.model.collate import collate
from posegpt.model.config import PoseGPTConfig
from posegpt.model.image import preprocess_image
from posegpt.model.pose_count import REPLY_ENDS, PoseCount, PoseCountBound, asked_count
from posegpt.model.pose_head import PoseHead, head_losses
from posegpt.model.pose_input import PoseInputTower, as_mapping, attach_poses, check_input_poses
from posegpt.model.pose_tower.cache import TowerInputs
from posegpt.model.pose_tower.chooser import (
    PersonChooser,
    focused,
    request_words,
    with_colours,
)
from posegpt.model.pose_tower.features import (
    NOBODY_REPLY,
    UNMATCHED_REPLY,
    feature_dim,
    guessed_note,
    guessed_parts,
    nobody,
    people_count,
)
from posegpt.model.pose_tower.fit import (
    best_match,
    check_refine_mode,
    matches_nobody,
    refine_to_people,
)
from posegpt.model.pose_tower.projector import PoseTowerProjector
from posegpt.model.refusal import describes_nobody, leans_to_refusal, refusal_start_ids
from posegpt.model.repetition import AnswerRepetitionPenalty, check_repetition_penalty
from posegpt.model.sides import opposite_side_ids
from posegpt.model.situations import ASK, KnownSituations
from posegpt.model.steps import joined_steps, step_clauses, two_steps
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.model.text_features import UserTextFeatures
from posegpt.model.tokenizer import (
    END_TOKEN,
    IMAGE_TOKEN,
    POSE_INPUT_TOKEN,
    POSE_TOKEN,
    ROLE_TOKENS,
    token_id,
)
from posegpt.records import with_image

if TYPE_CHECKING:
    from peft import PeftModel

    from posegpt.body.base import BodyModel

#: Most tokens one reply may have.
MAX_NEW_TOKENS = 1024
_NOT_FINITE = (
    "the model computed non-finite {what} (NaN or infinity): its weights are broken "
    "(a diverged training run or a damaged file); no answer is given"
)


def _user_messages(messages: Sequence[MessageLike]) -> list[dict]:
    return [m for m in (as_mapping(m, i) for i, m in enumerate(messages)) if m["role"] == "user"]


def last_user_text(messages: Sequence[MessageLike]) -> str:
    """The text of the last user message ("" if none)."""
    users = _user_messages(messages)
    return str(users[-1].get("content", "")) if users else ""


def asked_with_image(messages: Sequence[MessageLike]) -> bool:
    """Whether the last user message comes with the picture: it holds `<image>`, or none does
    and it is the first user message (where `PoseGPT.chat` puts the picture)."""
    users = _user_messages(messages)
    if not users:
        return False
    marked = [IMAGE_TOKEN in str(m.get("content", "")) for m in users]
    return marked[-1] or (not any(marked) and len(users) == 1)


@dataclass
class PoseGPTOutput:
    """What `PoseGPT.forward` returns. `ce_loss` is None when the batch has no labels."""

    ce_loss: torch.Tensor | None
    pose_loss: torch.Tensor
    pred_rotmat: torch.Tensor  # (N, 24, 3, 3), one per True in the batch's pose_mask
    logits: torch.Tensor  # (N, vocab) at the N positions that predict a label, else (B, L, vocab)
    keep_loss: torch.Tensor | None = None  # the keep gates' loss (heads with keep gates)


@dataclass
class Reply:
    """A generated answer: its text (with `<POSE>` markers) and one pose per marker, in order."""

    text: str
    poses: list[torch.Tensor]


def _asked_alone(
    chat: Callable[[list[dict[str, str]]], Reply], request: str, text: str, poses: torch.Tensor
) -> tuple[str, torch.Tensor]:
    """The reply `text` with `poses` to `request`, or, when the request lists as many steps as
    there are poses and `chat` answers each step asked alone with a pose, the reply made of those
    answers and their first poses."""
    steps = step_clauses(request)
    if len(steps) != len(poses) and len(poses) == 2:
        steps = two_steps(request) or steps
    if len(steps) != len(poses):
        return text, poses
    replies = [chat([{"role": "user", "content": step}]) for step in steps]
    if not all(r.poses for r in replies):
        return text, poses
    return joined_steps([r.text for r in replies]), torch.stack([r.poses[0] for r in replies])


def _asked_instead(messages: Sequence[MessageLike], content: str) -> list[MessageLike]:
    """`messages` with their last replaced by the user message `content`."""
    return [*messages[:-1], {"role": "user", "content": content}]


def _photo_asked_again(
    chat: Callable[[list[MessageLike]], Reply],
    messages: Sequence[MessageLike],
    message: str,
    one_person: bool,
) -> Reply | None:
    """`chat`'s reply with one pose to the last message, `message`, asked again for its pose,
    or, in a picture of `one_person`, then asked as ONE_PERSON_AGAIN; None if neither gives
    one pose."""
    questions = [again(message)] + ([with_image(ONE_PERSON_AGAIN)] if one_person else [])
    for question in questions:
        answer = chat(_asked_instead(messages, question))
        if len(answer.poses) == 1:
            return answer
    return None


def _asked_again(
    chat: Callable[[list], Reply],
    embed: Callable[[list[str]], torch.Tensor],
    messages: Sequence[MessageLike],
    message: str,
    text: str,
    poses: torch.Tensor | list,
    count: PoseCount | None = None,
) -> tuple[str, torch.Tensor | list]:
    """The reply `text` with `poses` to `messages`, or, when their last user message `message`
    is no question, the reply `chat` gives it asked again for its pose (AGAIN) if that holds as
    many poses as `count` (the words' count; None: one) and its words `embed` finds close to it
    (`posegpt.model.ask_again`)."""
    if is_question(message):
        return text, poses
    reply = chat(_asked_instead(messages, again(message)))
    count = count or PoseCount(1, 1)
    counted = count.least <= len(reply.poses) <= (count.most or len(reply.poses))
    if counted and close_enough(embed, message, reply.text.replace(POSE_TOKEN, "")):
        return reply.text, reply.poses
    return text, poses


def _asked_for_family(
    chat: Callable[[list], Reply],
    messages: Sequence[MessageLike],
    phrase: str | None,
    text: str,
    poses: torch.Tensor | list,
) -> tuple[str, torch.Tensor | list]:
    """The reply `chat` gives the last user message of `messages` asked as a request for the
    family `phrase` (ASK), if it holds one pose; else (or with no phrase) `text` and `poses`
    (`posegpt.model.situations`)."""
    if phrase is None:
        return text, poses
    reply = chat(_asked_instead(messages, ASK.format(phrase=phrase)))
    return (reply.text, reply.poses) if len(reply.poses) == 1 else (text, poses)


def is_lora(module: nn.Module) -> bool:
    """True if `module` is a peft LoRA wrapper (peft is imported only by models that use it)."""
    peft = sys.modules.get("peft")
    return peft is not None and isinstance(module, peft.PeftModel)


class PoseGPT(nn.Module):
    """The LLaVA backbone (plain or with LoRA adapters), the pose head, tokenizer and config."""

    def __init__(
        self,
        llava: LlavaForConditionalGeneration | PeftModel,
        tokenizer: PreTrainedTokenizerFast,
        config: PoseGPTConfig,
        image_processor: BaseImageProcessor | None = None,
    ) -> None:
        super().__init__()
        self.llava = llava
        self.tokenizer = tokenizer
        self.config = config
        # a pretrained checkpoint's own image processor (None: posegpt's own resizing)
        self.image_processor = image_processor
        hidden = self.backbone.config.text_config.hidden_size
        self.pose_head = PoseHead(
            hidden,
            config.pose_head_hidden or hidden,
            config.keep_threshold if config.keep_gates else None,
            config.photo_head,
        )
        self.pose_tower = (
            PoseTowerProjector(
                hidden, config.tower_slots, config.tower_tokens, config.tower_colours
            )
            if config.pose_tower == "blazepose"
            else None
        )
        self._tower_inputs = None  # the frozen detector, made on first use (not a submodule)
        # which person a request about a picture of several means; stored apart from the
        # weights (`posegpt.model.io`), trained apart (`posegpt.train.chooser`)
        self.chooser: PersonChooser | None = None
        self._chooser_embedder: SentenceEmbedder | None = None  # MiniLM, when text features differ
        # the training crops' pose prior, for refining photo answers by "blend"; stored apart
        # from the weights (`posegpt.model.io`), fitted apart (`posegpt.train.prior`)
        self.pose_prior: GaussianPosePrior | None = None
        # the situations its training data asked about, for `route_situations` and
        # `nearest_family`; stored apart (`posegpt.model.io`), written by `posegpt add-situations`
        self.situations: KnownSituations | None = None
        self.text_features = (
            UserTextFeatures(
                tokenizer,
                hidden,
                config.text_encoder,
                config.clause_features,
                config.request_hints,
                config.step_features,
                config.word_features,
            )
            if config.text_encoder != "none"
            else None
        )
        self.pose_input = (
            PoseInputTower(
                hidden, config.pose_seq_length, config.pose_input_joints, config.pose_input_codes
            )
            if config.pose_seq_length
            else None
        )
        # share of the user's word embeddings zeroed in training (set by the trainer; needs
        # text features: `UserTextFeatures.drop_words`)
        self.word_dropout = 0.0
        self.pose_token_id = token_id(tokenizer, POSE_TOKEN)
        self.image_token_id = token_id(tokenizer, IMAGE_TOKEN)
        self.pose_input_id = token_id(tokenizer, POSE_INPUT_TOKEN) if self.pose_input else None
        self.stop_token_ids = [token_id(tokenizer, END_TOKEN), tokenizer.eos_token_id]
        # marks that may end a reply after its last pose, those the tokenizer has whole
        ends = [tokenizer.encode(mark, add_special_tokens=False) for mark in REPLY_ENDS]
        self._reply_end_ids = [ids[0] for ids in ends if len(ids) == 1]
        banned = (
            IMAGE_TOKEN,
            POSE_INPUT_TOKEN,
            tokenizer.pad_token,
            tokenizer.bos_token,
            *ROLE_TOKENS.values(),
        )
        vocab = tokenizer.get_vocab()
        self._banned_token_ids = [token_id(tokenizer, t) for t in banned if t in vocab]

    @property
    def backbone(self) -> LlavaForConditionalGeneration:
        """The LlavaForConditionalGeneration (under the LoRA wrapper, if any)."""
        return self.llava.get_base_model() if is_lora(self.llava) else self.llava

    @property
    def image_seq_length(self) -> int:
        return self.config.image_seq_length

    def encode(
        self, messages: Sequence[MessageLike], add_generation_prompt: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`encode_conversation` with this model's tokenizer, image and pose lengths."""
        return encode_conversation(
            self.tokenizer,
            messages,
            self.image_seq_length,
            add_generation_prompt,
            self.config.pose_seq_length,
        )

    def preprocess(self, image: ImageInput) -> torch.Tensor:
        """A picture -> (3, S, S) pixel values for this model's vision tower, or with the pose
        tower (slots, FEATURE_DIM) person features (BlazePose runs here)."""
        cfg = self.config
        if self.pose_tower is not None:
            return self.tower_inputs(None, None, lambda: load_image(image))
        return preprocess_image(
            image, cfg.image_size, cfg.image_mean, cfg.image_std, self.image_processor
        )

    @property
    def collate_fn(self) -> functools.partial:
        """`collate` bound to this tokenizer's pad and `<POSE>` ids (picklable, for DataLoader)."""
        return functools.partial(
            collate, pad_id=self.tokenizer.pad_token_id, pose_token_id=self.pose_token_id
        )

    def forward(self, batch: Mapping[str, torch.Tensor]) -> PoseGPTOutput:
        """Training/evaluation pass over a `collate` batch.

        The pose head reads the last hidden state OF each `<POSE>` token (at the positions of
        `pose_mask`); `pose_targets` holds their true rotation matrices in the same order. With
        labels, the LM head runs only at the positions that predict one (the answers): with a
        large vocabulary the head is most of the cost.
        """
        labels = batch.get("labels")
        out = self._backbone_pass(batch, logits_to_keep=0 if labels is None else 1)
        hidden = out.hidden_states[-1]
        logits, ce_loss = out.logits, None
        if labels is not None:
            logits, ce_loss = self._answer_logits(hidden, labels)
        pose_mask = batch.get("pose_mask", torch.zeros_like(batch["input_ids"], dtype=torch.bool))
        targets = batch.get("pose_targets", torch.empty(0, NUM_JOINTS, 3, 3))
        if int(pose_mask.sum()) != len(targets):
            raise InvalidInputError(
                f"pose_mask marks {int(pose_mask.sum())} positions but there are "
                f"{len(targets)} pose targets"
            )
        # the poses the answers change are looked up only for a head with keep gates (trained
        # apart from the head's own answers, applied when answering in `chat`)
        sources = self._pose_sources(batch, pose_mask) if self.pose_head.keep is not None else None
        pictured = self._pictured(batch["input_ids"], pose_mask)
        pred, pose, gates = head_losses(
            self.pose_head, hidden[pose_mask], sources, targets, pictured
        )
        return PoseGPTOutput(ce_loss, pose, pred, logits, gates)

    def pose_hidden_states(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the pose head reads for each `<POSE>` of a `collate` batch, without running the
        LM head: its last hidden state (N, hidden), the pose it changes (N, 24, 3, 3) and
        whether its conversation has a picture (N,)."""
        mask = batch["pose_mask"]
        hidden = self._backbone_pass(batch, logits_to_keep=1).hidden_states[-1][mask]
        pictured = self._pictured(batch["input_ids"], mask)
        return hidden, self._pose_sources(batch, mask), pictured

    def _pictured(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """For each `<POSE>` at `mask` (B, T): whether its row holds a picture (N,)."""
        rows = (input_ids == self.image_token_id).any(1)
        return rows[:, None].expand_as(mask)[mask]

    def _pose_sources(self, batch: Mapping[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """For each `<POSE>` at `mask`, the pose it changes: the last input pose before it in its
        row (N, 24, 3, 3); all zeros where its row has none before it."""
        poses, input_ids = batch.get("input_poses"), batch["input_ids"]
        sources = torch.zeros(int(mask.sum()), NUM_JOINTS, 3, 3, device=input_ids.device)
        if self.pose_input is None or poses is None or not len(poses) or not len(sources):
            return sources
        placeholder = input_ids == self.pose_input_id
        # placeholders up to each <POSE>: over the whole batch (row-major, the order of the
        # poses) and within its row
        seen = placeholder.flatten().cumsum(0).view_as(placeholder)[mask]
        in_row = placeholder.cumsum(1)[mask] > 0
        index = (seen // self.pose_input.tokens - 1).clamp(min=0).to(poses.device)
        return poses[index].float() * in_row.to(poses.device)[:, None, None, None]

    def _backbone_pass(
        self, batch: Mapping[str, torch.Tensor], logits_to_keep: int
    ) -> LlavaCausalLMOutputWithPast:
        """The backbone's output for a `collate` batch, with its last hidden states."""
        input_ids = batch["input_ids"]
        pixel_values = self._check_images(input_ids, batch.get("pixel_values"))
        return self.llava(
            **self._inputs(input_ids, pixel_values, batch.get("input_poses")),
            attention_mask=batch.get("attention_mask"),
            pixel_values=None if self.pose_tower is not None else pixel_values,
            output_hidden_states=-1,
            logits_to_keep=logits_to_keep,
        )

    def _answer_logits(
        self, hidden: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N, vocab) at the positions whose next token is a label, and their mean CE
        (as the backbone's own loss: position t predicts label t + 1)."""
        targets = labels[:, 1:]
        keep = targets != IGNORE_INDEX
        logits = self.backbone.lm_head(hidden[:, :-1][keep])
        return logits, nn.functional.cross_entropy(logits.float(), targets[keep])

    @torch.inference_mode()
    def chat(
        self,
        messages: Sequence[MessageLike],
        image: ImageInput | torch.Tensor | None = None,
        poses: object = None,
        max_new_tokens: int = 64,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        refine_with: BodyModel | None = None,
        refine: str = "fit",
        repetition_penalty: float = 1.0,
        decline_unmatched: bool = False,
        keep_sides: bool = False,
        steps_alone: bool = False,
        count_from_words: bool = False,
        ask_again: bool = False,
        photo_ask_again: bool = False,
        route_situations: bool = False,
        nearest_family: bool = False,
    ) -> Reply:
        """Answer the last user message; every `<POSE>` in the answer yields one pose.

        `messages` may hold earlier turns (assistant turns included). `image` is a picture (PIL,
        path or encoded bytes) or ready (3, S, S) pixel values; if no user message holds
        `<image>`, one is put at the start of the first user message. `poses` (a list of
        (24, 3, 3) or 72 axis-angle poses) are the last user message's input poses; messages may
        also carry `poses` (see `posegpt.model.pose_input`), earlier answers' poses entering the
        next user message. Decoding is greedy unless `do_sample`; `seed` makes sampling
        repeatable without touching the global RNG. With `refine_with` (a body model) and a pose
        tower, the poses answering a question asked with the picture are refined to the
        landmarks of the people in it, `refine` (one of REFINE_MODES) saying how
        (`posegpt.model.pose_tower.fit.refine_to_people`). `repetition_penalty` > 1 makes words
        the answer already used (not the question's) less likely (`posegpt.model.repetition`).
        With a pose tower and `decline_unmatched`, an answer to a question asked with the picture
        that leans to refusing (`posegpt.model.refusal`) and whose every pose matches nobody in
        it (`posegpt.model.pose_tower.fit.matches_nobody`) is replaced by words saying so, with
        no pose. With `keep_sides`, a reply to a last user message that names one side only
        ("your right knee") cannot say the other side's word (`posegpt.model.sides`). With
        `steps_alone`, a reply with no picture or input pose whose poses are as many as the
        steps the last user message lists ("Squat, then jump") takes each pose from its step
        asked alone, if each gives one (`posegpt.model.steps`). With `count_from_words`, a reply
        with no picture or input pose that has given a pose gives as many as the last user
        message's words ask for ("two ways", "then"; one when they give no sign of more:
        `posegpt.model.pose_count`).
        With `ask_again` and sentence features, a words-only last user message that is no
        question and got no pose ("cobra") is asked again for its pose, and answered so if that
        gives one pose whose words are close to it (`posegpt.model.ask_again`). With a pose
        tower and `photo_ask_again`, a question asked with the picture of someone that got no
        pose and does not lean to refusing is asked again for its pose (in a picture of one
        person, then as the training data asks for it), and if that gives one, the answer is
        the first reply's words followed by that reply. A question about a picture of one person
        in words that describe nobody in particular (`refusal.describes_nobody`: "Copy her
        pose") means that person: it is asked again whatever its lean to refusing (the reply
        then without its refusing words) and never declined as matching nobody. With
        `route_situations`, known situations (`posegpt.model.situations`) and sentence features,
        a words-only one-pose answer in the speculative style to a situation far from every
        known one is the answer to a request for the family MiniLM finds nearest it, if that
        gives one pose. With `nearest_family`, known situations (their families) and sentence
        features, a words-only one-pose answer to a request for one pose that names no body
        part is the answer to a request for the family MiniLM finds nearest the request, when
        that family is clearly nearer it than the answer's words
        (`KnownSituations.nearer_family`).
        """
        if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
            raise InvalidInputError(f"max_new_tokens must be in 1..{MAX_NEW_TOKENS}")
        check_refine_mode(refine)
        check_repetition_penalty(repetition_penalty)
        if image is not None and not isinstance(image, torch.Tensor):
            image = load_image(image)  # decoded once: the tower and the chooser both read it
        input_ids, pixel_values, input_poses = self._prompt(messages, image, poses)
        towered = self.pose_tower is not None and pixel_values is not None
        if towered and nobody(pixel_values[0]):
            return Reply(NOBODY_REPLY, [])
        if input_ids.shape[1] + max_new_tokens + 1 > self.config.max_length:
            raise InvalidInputError(
                f"the conversation ({input_ids.shape[1]} tokens) and reply ({max_new_tokens}) "
                f"exceed the model's {self.config.max_length}-token context"
            )
        spared = [self.pose_token_id, *self.stop_token_ids]
        processors = (
            [AnswerRepetitionPenalty(repetition_penalty, input_ids, spared)]
            if repetition_penalty != 1.0
            else []
        )
        message = last_user_text(messages)
        words_only = pixel_values is None and not len(input_poses)
        count = asked_count(message) if count_from_words and words_only else None
        if count is not None:
            bound = PoseCountBound(
                count,
                input_ids.shape[1],
                self.pose_token_id,
                self.stop_token_ids,
                self._reply_end_ids,
            )
            processors.append(bound)
        generation = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature if do_sample else None,
            top_p=top_p if do_sample else None,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            suppress_tokens=self._banned_token_ids
            + (opposite_side_ids(self.tokenizer, message) if keep_sides else []),
            return_dict_in_generate=True,
            output_hidden_states=-1,
            output_logits=True,
        )
        reply = functools.partial(
            self._reply, input_ids, input_poses, generation, processors, seed=seed
        )
        text, poses, first_scores = reply(pixel_values)
        asked = functools.partial(
            self.chat,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            repetition_penalty=repetition_penalty,
            keep_sides=keep_sides,
        )
        if steps_alone and words_only and len(poses) > 1:
            text, poses = _asked_alone(asked, message, text, poses)
        embedder = self.text_features.embedder if self.text_features is not None else None
        if ask_again and words_only and not len(poses) and embedder is not None:
            # asked again held to the count its words ask for, as the message was
            held = functools.partial(
                asked, count_from_words=count_from_words, steps_alone=steps_alone
            )
            text, poses = _asked_again(held, embedder.embed, messages, message, text, poses, count)
        known = self.situations
        if known is not None and embedder is not None and words_only and len(poses) == 1:
            ask_for = functools.partial(_asked_for_family, asked, messages)
            if route_situations:
                phrase = known.unknown_family(message, text, embedder.embed)
                text, poses = ask_for(phrase, text, poses)
            if nearest_family and (count is None or count.most == 1):
                phrase = known.nearer_family(message, text.replace(POSE_TOKEN, " "), embedder.embed)
                text, poses = ask_for(phrase, text, poses)
        one_person = towered and people_count(pixel_values[0]) == 1
        # the one person in the picture, asked about in words that describe nobody else
        anyone = one_person and describes_nobody(message)
        if (
            photo_ask_again
            and towered
            and not len(input_poses)
            and asked_with_image(messages)
            and not len(poses)
        ):
            refusing = leans_to_refusal(first_scores, refusal_start_ids(self.tokenizer))
            photo_asked = functools.partial(
                asked,
                image=image,
                refine_with=refine_with,
                refine=refine,
                decline_unmatched=decline_unmatched,
            )
            answer = (
                _photo_asked_again(photo_asked, messages, message, one_person)
                if anyone or not refusing
                else None
            )
            if answer is not None:  # the words asked for (a refusal's left out), and the pose
                words = "" if refusing else f"{text.strip()} "
                return Reply(f"{words}{answer.text}", answer.poses)
        about_picture = towered and len(poses) and asked_with_image(messages)
        if about_picture and self.chooser is not None and not isinstance(image, torch.Tensor):
            slot = self._chosen_slot(pixel_values, image, messages)
            # 0: the largest person, whom the model reads first (and whom a crop is of)
            if slot and slot != int(best_match(poses[:1], pixel_values[0].cpu())[0]):
                pixel_values = focused(pixel_values[0], slot)[None]
                text, poses, first_scores = reply(pixel_values)  # again, reading only them
                about_picture = len(poses) > 0
        may_decline = (
            decline_unmatched
            and about_picture
            and not anyone
            and leans_to_refusal(first_scores, refusal_start_ids(self.tokenizer))
        )
        if may_decline and matches_nobody(poses, pixel_values[0]):
            return Reply(UNMATCHED_REPLY, [])
        if about_picture and refine_with is not None:
            poses = refine_to_people(
                poses, pixel_values[0].cpu(), refine_with, refine, prior=self.pose_prior
            )
        if towered and len(poses) and guessed_parts(pixel_values[0]):
            text = f"{text} {guessed_note(guessed_parts(pixel_values[0]))}"
        return Reply(text, list(poses))

    def _reply(
        self,
        input_ids: torch.Tensor,
        input_poses: torch.Tensor,
        generation: GenerationConfig,
        processors: list[LogitsProcessor],
        pixel_values: torch.Tensor | None,
        seed: int | None = None,
    ) -> tuple[str, torch.Tensor | list, torch.Tensor]:
        """The reply's text, its poses (N, 24, 3, 3) and its first step's scores of the
        vocabulary (V,; how much it leans to refusing: `posegpt.model.refusal`) to a ready
        prompt."""
        was_training = self.training
        self.eval()
        try:
            rng = torch.random.fork_rng(devices=[]) if seed is not None else nullcontext()
            with rng:
                if seed is not None:
                    torch.manual_seed(seed)
                new_ids, hidden, first_scores = self._generate(
                    input_ids, pixel_values, input_poses, generation, processors
                )
        finally:
            self.train(was_training)
        positions = (new_ids == self.pose_token_id).nonzero()[:, 0]
        changed = input_poses[-1:].expand(len(positions), -1, -1, -1) if len(input_poses) else None
        pictured = torch.full((len(positions),), pixel_values is not None)
        poses = self.pose_head(hidden[positions], changed, pictured).cpu() if len(positions) else []
        if len(positions) and not torch.isfinite(poses).all():
            raise ModelFileError(_NOT_FINITE.format(what="poses"))
        text_ids = [i for i in new_ids.tolist() if i not in self.stop_token_ids]
        text = self.tokenizer.decode(text_ids, skip_special_tokens=False)
        return text, poses, first_scores

    def _chosen_slot(
        self, pixel_values: torch.Tensor, picture: Image.Image, messages: Sequence[MessageLike]
    ) -> int | None:
        """The slot of the person the last request means in a picture of several, when the
        chooser is sure of one (`PersonChooser.choose`)."""
        features = pixel_values[0].float().cpu()
        if people_count(features) < 2:  # before any embedding: the chooser has nobody to pick
            return None
        people = with_colours(features, np.asarray(picture))  # decoded as RGB by `chat`
        request = request_words(last_user_text(messages))
        embedder = self.text_features.embedder if self.text_features is not None else None
        if embedder is None or embedder.dim != self.chooser.text_dim:
            if self._chooser_embedder is None:
                self._chooser_embedder = SentenceEmbedder()
            embedder = self._chooser_embedder
        return self.chooser.choose(embedder.embed([request])[0], people)

    def prepare(
        self, messages: Sequence[MessageLike], poses: object = None
    ) -> tuple[list[dict[str, str]], torch.Tensor]:
        """Messages that may carry `poses` (and `poses` for the last user message) -> checked
        plain messages with `<pose_in>` markers and the (N, 24, 3, 3) input poses in order
        (`posegpt.model.pose_input.attach_poses`). A model without pose-input tower ignores earlier
        answers' poses and refuses the user's."""
        messages = [as_mapping(m, i) for i, m in enumerate(messages)]
        if poses is not None and messages and messages[-1].get("role") == "user":
            last = check_input_poses(messages[-1].get("poses"), "message poses")
            messages[-1]["poses"] = [*last, *check_input_poses(poses)]
        if self.pose_input is None:
            messages = [{**m, "poses": None} if m.get("role") != "user" else m for m in messages]
        messages, input_poses = attach_poses(messages)
        if self.pose_input is None and len(input_poses):
            raise InvalidInputError("this model does not read poses (it has no pose-input tower)")
        return check_messages(messages), input_poses

    def _prompt(
        self,
        messages: Sequence[MessageLike],
        image: ImageInput | torch.Tensor | None,
        poses: object,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(1, T) prompt ids ending in the assistant marker, (1, 3, S, S) pixels or None, and
        the (N, 24, 3, 3) input poses."""
        messages, input_poses = self.prepare(messages, poses)
        if messages[-1]["role"] != "user":
            raise InvalidInputError("the last message must be the user's")
        pixel_values = None
        if image is not None:
            pixel_values = self._pixel_values(image)
            if not any(IMAGE_TOKEN in m["content"] for m in messages):
                first = next(m for m in messages if m["role"] == "user")
                first["content"] = with_image(first["content"])
        input_ids = self.encode(messages, add_generation_prompt=True)[0][None].to(self.device)
        return input_ids, self._check_images(input_ids, pixel_values), input_poses

    def _generate(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None,
        input_poses: torch.Tensor,
        generation: GenerationConfig,
        processors: list[LogitsProcessor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The new token ids (N,), the last hidden state of each of them (N, hidden) and the
        first step's scores of the vocabulary (V,)."""
        images = {}
        if pixel_values is not None and self.pose_tower is None:
            images = {"pixel_values": pixel_values}
        inputs = {"input_ids": input_ids, **self._inputs(input_ids, pixel_values, input_poses)}
        features = self.text_features
        # with step features, each new token gets its step's clause as it is fed back in
        stepping = (
            features.stepping(self.backbone.get_input_embeddings(), input_ids)
            if features is not None
            else nullcontext()
        )
        with stepping:
            out = self.llava.generate(
                **inputs,
                attention_mask=torch.ones_like(input_ids),
                generation_config=generation,
                logits_processor=LogitsProcessorList(processors),
                **images,
            )
            if not all(torch.isfinite(step).all() for step in out.logits):
                raise ModelFileError(_NOT_FINITE.format(what="token scores"))
            prompt_length = input_ids.shape[1]
            new_ids = out.sequences[0, prompt_length:]
            # hidden_states[0] covers the prompt, then one state per new token fed back in; the
            # last new token was never fed back in.
            hidden = torch.cat([step[-1][0] for step in out.hidden_states])[prompt_length:]
            if new_ids[-1] == self.pose_token_id:  # its state is needed: one more decode step
                step = self.llava(
                    input_ids=new_ids[None, -1:],
                    attention_mask=torch.ones_like(out.sequences),
                    cache=out.cache,
                    output_hidden_states=-1,
                )
                hidden = torch.cat([hidden, step.hidden_states[-1][0]])
        return new_ids, hidden, out.logits[0][0]

    @property
    def tower_inputs(self) -> TowerInputs:
        """Pictures -> pose tower features (the config's detector, made on first use)."""
        cfg, inputs = self.config, self._tower_inputs
        if inputs is None or inputs.bundle != cfg.tower_bundle:
            self._tower_inputs = TowerInputs(
                None, cfg.tower_slots, cfg.tower_bundle, cfg.tower_colours
            )
        return self._tower_inputs

    def _inputs(
        self,
        input_ids: torch.Tensor,
        images: torch.Tensor | None = None,
        input_poses: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The backbone's input: the ids, or their embeddings with the text features added,
        (pose tower) the person tokens written at the `<image>` placeholders and the input poses
        at their `<pose_in>` placeholders."""
        towered = self.pose_tower is not None and images is not None
        if self.text_features is None and not towered and self.pose_input is None:
            if input_poses is not None and len(input_poses):
                raise InvalidInputError(
                    "this model does not read poses (it has no pose-input tower)"
                )
            return {"input_ids": input_ids}
        embeds = self.backbone.get_input_embeddings()(input_ids)
        if self.text_features is not None:
            if self.training and self.word_dropout:
                embeds = self.text_features.drop_words(input_ids, embeds, self.word_dropout)
            embeds = self.text_features(input_ids, embeds)
        if towered:
            tokens = self.pose_tower(images).to(embeds.dtype)
            embeds = embeds.masked_scatter((input_ids == self.image_token_id)[..., None], tokens)
        if self.pose_input is not None:
            poses = torch.empty(0, NUM_JOINTS, 3, 3) if input_poses is None else input_poses
            embeds = self.pose_input.scatter(input_ids, embeds, poses, self.pose_input_id)
        return {"inputs_embeds": embeds}

    @property
    def device(self) -> torch.device:
        return self.pose_head.mlp[0].weight.device

    def _pixel_values(self, image: ImageInput | torch.Tensor) -> torch.Tensor:
        """(1, 3, S, S) pixel values from a picture or from ready pixel values."""
        if isinstance(image, torch.Tensor) and self.pose_tower is not None:
            shape = (self.config.tower_slots, feature_dim(self.config.tower_colours))
            if image.shape != shape or not image.is_floating_point():
                raise InvalidInputError(
                    f"pose tower features must be a float {shape} tensor, "
                    f"got {image.dtype} {tuple(image.shape)}"
                )
            pixels = image
        elif isinstance(image, torch.Tensor):
            size = self.config.image_size
            if image.shape != (3, size, size) or not image.is_floating_point():
                raise InvalidInputError(
                    f"pixel values must be a float (3, {size}, {size}) tensor, "
                    f"got {image.dtype} {tuple(image.shape)}"
                )
            pixels = image
        else:
            pixels = self.preprocess(image)
        return pixels[None].to(self.device)

    def _check_images(
        self, input_ids: torch.Tensor, pixel_values: torch.Tensor | None
    ) -> torch.Tensor | None:
        """Check there are image_seq_length placeholders per image; cast to the tower's dtype."""
        placeholders = int((input_ids == self.image_token_id).sum())
        images = 0 if pixel_values is None else len(pixel_values)
        if placeholders != images * self.image_seq_length:
            raise InvalidInputError(
                f"{images} image(s) need {images * self.image_seq_length} {IMAGE_TOKEN} "
                f"placeholders, found {placeholders}"
            )
        if pixel_values is None or self.pose_tower is not None:
            return pixel_values
        return pixel_values.to(self.backbone.model.vision_tower.dtype)
