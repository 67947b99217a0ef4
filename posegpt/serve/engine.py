"""The chat engine every front end shares: sessions, bounded history, poses with their files.

One engine wraps one model and one body model. Replies are generated one at a time under a lock
(on a few CPU cores parallel generation gains nothing and multiplies memory); pictures are
decoded under it too, so one full-size picture at most is in memory. Rendering and file output
run outside the lock. Admission is bounded: at most `max_pending` replies may be in progress or
waiting; beyond that `reply` fails at once with ServerBusyError, so an overloaded server answers
"busy" quickly instead of piling up work. A Session is one conversation, not thread-safe.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from posegpt.body.base import BodyModel
from posegpt.body.io import save_mesh, save_pose
from posegpt.body.rotations import identity_pose, rotmat_to_axis_angle
from posegpt.chat_defaults import OWN_ANSWERS, AnswerOptions
from posegpt.errors import InvalidInputError, PoseGPTError, TooLargeError
from posegpt.images import load_image
from posegpt.model import PoseGPT
from posegpt.model.pose_input import check_input_poses
from posegpt.model.pose_tower.fit import PRIOR_MODES, check_refine_mode
from posegpt.model.repetition import check_repetition_penalty
from posegpt.records import IMAGE_TOKEN, Message, with_image
from posegpt.render.views import PALETTE, render_pose_views, save_png
from posegpt.serve.store import OutputStore

#: Largest picture accepted, in pixels (checked from the header, before decoding).
MAX_IMAGE_PIXELS = 16_000_000
#: Largest sampling seed (a turn number is added to it; torch takes seeds below 2**64).
MAX_SEED = 2**63 - 1
#: Most poses per reply that get files (every pose still gets its rotations).
MAX_POSE_FILES = 4
#: Colour of the exported meshes: the renderer's first body colour, as RGBA bytes.
MESH_RGBA = (*(round(255 * c) for c in PALETTE[0]), 255)

#: A picture (PIL, encoded bytes, file path) or pixel values already made by `load_image`.
ImageSource = Image.Image | bytes | str | os.PathLike | torch.Tensor


class ServerBusyError(PoseGPTError):
    """Too many replies are in progress; the caller should retry shortly."""


@dataclass
class PoseResult:
    """One pose of a reply: rotations and the files written for it (kind -> path)."""

    rotmat: torch.Tensor  # (24, 3, 3)
    axis_angle: torch.Tensor  # (72,)
    files: dict[str, Path]  # "npz", "glb", "png"; empty beyond MAX_POSE_FILES


@dataclass
class EngineReply:
    """The assistant's text (with its `<POSE>` markers) and one PoseResult per marker."""

    text: str
    poses: list[PoseResult]

    def to_json(self, file_ref: Callable[[Path], str]) -> dict:
        """A JSON-ready dict; `file_ref` turns each file path into what the caller shows."""
        return {
            "text": self.text,
            "poses": [
                {
                    "axis_angle": pose.axis_angle.tolist(),
                    "rotmat": pose.rotmat.tolist(),
                    "files": {kind: file_ref(path) for kind, path in pose.files.items()},
                }
                for pose in self.poses
            ],
        }


@dataclass
class Session:
    """One conversation: its messages, its current image and the folder its files go to."""

    folder: Path
    history: list[Message] = field(default_factory=list)
    image: torch.Tensor | None = None  # pixel values of the current image
    image_turn: int | None = None  # index in `history` of the user message that brought it
    poses_written: int = 0  # pose files are numbered on across resets, never overwritten
    in_store: bool = False  # a folder of the output store, claimed when first written to

    def reset(self) -> None:
        """Forget the conversation and the image (files already written stay)."""
        self.history.clear()
        self.image = None
        self.image_turn = None


class ChatEngine:
    """Answers chat turns with a PoseGPT and writes each pose as .npz, .glb and .png."""

    def __init__(
        self,
        model: PoseGPT,
        body: BodyModel,
        out_dir: str | os.PathLike,
        max_turns: int = 8,
        max_prompt_chars: int = 4000,
        max_new_tokens: int = 64,
        seed: int = 0,
        *,
        temperature: float = 0.0,
        max_pending: int = 32,
        max_sessions: int = 256,
        wait_timeout: float = 60.0,
        render_size: int = 256,
        options: AnswerOptions = OWN_ANSWERS,
    ) -> None:
        if max_turns < 1 or max_prompt_chars < 1 or max_new_tokens < 1 or max_pending < 1:
            raise InvalidInputError("engine limits must be positive")
        if options.refine is not None:
            check_refine_mode(options.refine)
        if options.refine in PRIOR_MODES and model.pose_prior is None:
            raise InvalidInputError(
                f"--refine {options.refine} needs the model's pose prior: add one with "
                "`posegpt fit-prior`"
            )
        check_repetition_penalty(options.repetition_penalty)
        self.model = model.eval()
        self.body = body.eval()
        self.store = OutputStore(out_dir, max_sessions)
        self.store.check_writable()
        self.max_turns = max_turns
        self.max_prompt_chars = max_prompt_chars
        self.max_new_tokens = max_new_tokens
        self.seed = _check_seed(seed)
        self.temperature = _check_temperature(temperature)
        self.max_pending = max_pending
        self.wait_timeout = wait_timeout
        self.render_size = render_size
        self.options = options  # how every reply is made (`PoseGPT.chat`)
        self._model_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._pending = 0

    def warm_up(self) -> None:
        """Load what is otherwise loaded by the first reply (the text encoder, generation and
        skinning code, the known situations' embeddings when answers use them): one short reply
        to "hello" that writes nothing."""
        with self._model(), torch.no_grad():
            answer = self.model.chat([{"role": "user", "content": "hello"}], max_new_tokens=1)
            self.body(identity_pose(1))
            features, known = self.model.text_features, self.model.situations
            uses_known = self.options.route_situations or self.options.nearest_family
            if uses_known and features is not None and known is not None:
                known.embedded(features.embedder.embed)
        del answer

    @property
    def pending(self) -> int:
        """Replies in progress or waiting for the model."""
        return self._pending

    def new_session(
        self, folder: str | os.PathLike | None = None, history: Sequence[Message] = ()
    ) -> Session:
        """A conversation writing into `folder` (default: a new folder of the output store),
        optionally continuing from earlier `history` messages."""
        messages = []
        for i, message in enumerate(history):
            self._check_text(message.content, allow_empty=True)
            poses = check_input_poses(message.poses, f"message {i} poses")
            messages.append(Message(message.role, message.content, list(poses)))
        path = self.store.reserve_folder() if folder is None else Path(folder)
        return Session(path, messages, in_store=folder is None)

    def reply(
        self,
        session: Session,
        text: str,
        image: ImageSource | None = None,
        *,
        poses: object = None,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> EngineReply:
        """Answer `text` (with an optional new image and input `poses`: (24, 3, 3) matrices or
        72 axis-angle values each) in `session`, which then holds the turn. The poses of the
        session's earlier answers enter the model with the next message, so a follow-up sees
        the pose it changes.

        Sampling (temperature > 0) is seeded with `seed` (default: the engine's) plus the turn
        number, so a conversation replays identically; temperature 0 decodes greedily.
        """
        self._check_text(text)
        if IMAGE_TOKEN in text:
            raise InvalidInputError(f"send pictures as an image, not as the {IMAGE_TOKEN} marker")
        tokens = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        if not 1 <= tokens <= self.max_new_tokens:
            raise InvalidInputError(f"max_new_tokens must be in 1..{self.max_new_tokens}")
        temperature = self.temperature if temperature is None else _check_temperature(temperature)
        user_poses = list(check_input_poses(poses))
        seed = self.seed if seed is None else _check_seed(seed)
        turn = sum(m.role == "user" for m in session.history)
        with self._admitted():
            with self._model():
                pixels = session.image if image is None else self.load_image(image)
                image_turn = len(session.history) if image is not None else session.image_turn
                history = [*session.history, Message("user", text, user_poses)]
                messages = self._window(history, image_turn if pixels is not None else None, tokens)
                answer = self.model.chat(
                    messages,
                    image=pixels,
                    max_new_tokens=tokens,
                    do_sample=temperature > 0,
                    temperature=temperature or 1.0,
                    seed=seed + turn,
                    **self.options.chat_kwargs(self.body),
                )
                rotmats = torch.stack(answer.poses) if answer.poses else torch.empty(0, 24, 3, 3)
                # Every answer is in POSE_FRAME, photo or not: files and pictures show the same.
                with torch.no_grad():
                    vertices = self.body(rotmats).vertices if len(rotmats) else rotmats
            poses = [
                self._pose(session, r, v, with_files=i < MAX_POSE_FILES)
                for i, (r, v) in enumerate(zip(rotmats, vertices, strict=True))
            ]
        answered = Message("assistant", answer.text, list(rotmats))
        self._commit(session, [*history, answered], pixels, image_turn)
        return EngineReply(answer.text, poses)

    def _commit(
        self,
        session: Session,
        history: list[Message],
        pixels: torch.Tensor | None,
        image_turn: int | None,
    ) -> None:
        """Store the conversation in `session`, keeping only the last `max_turns` turns."""
        system = history[:1] if history[0].role == "system" else []
        starts = [i for i, m in enumerate(history) if m.role == "user"]
        cut = starts[-self.max_turns] if len(starts) > self.max_turns else len(system)
        session.history = system + history[cut:]
        session.image = pixels
        if image_turn is not None:  # a cut image turn moves to the first user message kept
            image_turn = len(system) + max(image_turn - cut, 0)
        session.image_turn = image_turn

    def _check_text(self, text: object, allow_empty: bool = False) -> None:
        if not isinstance(text, str):
            raise InvalidInputError("a message must be text")
        if not allow_empty and not text.strip():
            raise InvalidInputError("the message is empty")
        if len(text) > self.max_prompt_chars:
            raise TooLargeError(
                f"the message has {len(text):,} characters; at most {self.max_prompt_chars:,}"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise InvalidInputError(
                f"the message holds a lone surrogate (U+{ord(text[err.start]):04X}) at "
                f"character {err.start}: it is not valid Unicode text"
            ) from None

    def load_image(self, source: ImageSource) -> torch.Tensor:
        """A picture -> the model's pixel values; its size is checked before it is decoded."""
        if isinstance(source, torch.Tensor):
            return source
        return self.model.preprocess(load_image(source, max_pixels=MAX_IMAGE_PIXELS))

    def _window(
        self, history: list[Message], image_turn: int | None, max_new_tokens: int
    ) -> list[dict]:
        """The latest turns (at most `max_turns`) that fit the model's context with the reply
        and hold at most MAX_INPUT_POSES input poses (each message with its `poses`).

        A leading system message is always kept. The image marker goes on the user message that
        brought the image, or on the first user message kept if that one was cut.
        """
        messages = [{"role": m.role, "content": m.content, "poses": m.poses} for m in history]
        system = messages[:1] if messages[0]["role"] == "system" else []
        starts = [i for i, m in enumerate(messages) if m["role"] == "user"][-self.max_turns :]
        budget = self.model.config.max_length - max_new_tokens - 1
        for start in starts:
            window = [dict(m) for m in messages[start:]]
            if image_turn is not None:
                marked = window[max(image_turn - start, 0)]
                marked["content"] = with_image(marked["content"])
            window = system + window
            try:
                prompt = self.model.encode(self.model.prepare(window)[0], True)[0]
            except TooLargeError:  # too many input poses: try fewer turns
                continue
            if len(prompt) <= budget:
                return window
        raise TooLargeError(
            f"the message and a {max_new_tokens}-token reply do not fit the model's "
            f"{self.model.config.max_length}-token context (or the message has too many poses)"
        )

    def _pose(
        self, session: Session, rotmat: torch.Tensor, vertices: torch.Tensor, with_files: bool
    ) -> PoseResult:
        """A pose of the reply; with `with_files`, written as pose_K.npz, .glb and .png."""
        files: dict[str, Path] = {}
        if with_files:
            if session.in_store:
                self.store.claim(session.folder)
            stem = session.folder / f"pose_{session.poses_written}"
            files["npz"] = save_pose(stem.with_suffix(".npz"), rotmat)
            files["glb"] = save_mesh(stem.with_suffix(".glb"), vertices, self.body.faces, MESH_RGBA)
            files["png"] = stem.with_suffix(".png")
            save_png(files["png"], render_pose_views(vertices, self.body.faces, self.render_size))
            session.poses_written += 1
        return PoseResult(rotmat, rotmat_to_axis_angle(rotmat).reshape(-1), files)

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        with self._count_lock:
            if self._pending >= self.max_pending:
                raise ServerBusyError(
                    f"the server is busy ({self._pending} requests in progress); retry shortly"
                )
            self._pending += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._pending -= 1

    @contextmanager
    def _model(self) -> Iterator[None]:
        if not self._model_lock.acquire(timeout=self.wait_timeout):
            raise ServerBusyError("timed out waiting for the model; retry shortly")
        try:
            yield
        finally:
            self._model_lock.release()


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise InvalidInputError("temperature must be a number")
    if not 0.0 <= temperature <= 2.0:  # also refuses NaN
        raise InvalidInputError(f"temperature must be in [0, 2], got {temperature}")
    return float(temperature)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInputError(f"seed must be a whole number in 0..{MAX_SEED}")
    return seed
