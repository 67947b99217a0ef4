"""Benchmarks of the tasks that read poses (`posegpt bench --tasks pose2text,pose_edit,followup,
pose_diff`), each with its baselines measured in the same run.

- pose2text: the text2pose test poses, asked "Describe this pose." with the pose as input.
  R-precision R@1/2/3 with the retrieval evaluator (each pose ranks its generated text among 32:
  its own + 31 generated for other test poses, 10 draws; PoseScript / UniPose protocol), BLEU-4,
  ROUGE-L and METEOR against all of the pose's texts (`posegpt.eval.text_metrics`), and the
  error of the pose regenerated from the text (the train pose the evaluator retrieves for it:
  one fixed text->pose for every row). Baselines: nearest caption (the first text of the
  nearest train pose, 6D rotation distance) and the rule captioner (a fresh caption of the
  true pose); the reference row scores the test texts themselves.
- pose_edit: edits and corrections of the pose_input test split (pose A + instruction ->
  pose B). MPJPE / PA-MPJPE / MPJRE to B, and "follows %": B' carries out the instruction on A
  (the edit's posecode predicate, and the joints it does not mention kept;
  `posegpt.synth.pose_edits.follows`). Baselines: copy pose A (PoseFix's floor) and the target
  class mean (the mean train-split target of the same edit and side).
- followup: the pose_input test chains (a described pose, then 2-3 edits, each of the last
  pose), replayed with each method's own answers fed back; success % of the n-th turn's pose
  following its instruction from the method's previous pose, per turn and over all edit turns,
  and % of chains where every edit succeeded. Baseline: repeating the previous pose; the
  reference row is the true chain (the predicates' ceiling on the families).
- pose_diff: two poses -> the difference in words. R-precision as above with a second
  evaluator trained on the train split's (relative pose A^T B, difference text) pairs, and the
  caption metrics. Baseline: the text of the nearest train pair (relative-pose distance).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import roma
import torch
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.body.rotations import identity_pose, rotmat_to_6d
from posegpt.data.dataset import POSE_INPUT_DIR, TEXT2POSE_DIR, face_forward
from posegpt.data.formats import read_llava, read_posescript
from posegpt.data.templates import POSE_DESCRIBE_QUESTIONS
from posegpt.errors import InvalidInputError
from posegpt.eval.retrieval import (
    RetrievalModel,
    TextPosePairs,
    r_precision,
    text_pose_embeddings,
    train_retrieval,
)
from posegpt.eval.scoring import POSE_METRICS, mean_pose_errors
from posegpt.eval.text_metrics import caption_metrics
from posegpt.model import PoseGPT
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.records import POSE_INPUT_TOKEN, POSE_TOKEN, Conversation
from posegpt.synth.pose_edits import EDIT_INFO, Step, follows
from posegpt.synth.pose_tasks import DIFFERENCE_QUESTIONS, codes_of

POSE_INPUT_TASKS = ("pose2text", "pose_edit", "followup", "pose_diff")
TITLES = {
    "pose2text": "pose -> text (describe the pose)",
    "pose_edit": "pose + instruction -> edited pose",
    "followup": "follow-up chains: each turn changes the last pose",
    "pose_diff": "two poses -> the difference in words",
}
TEXT_COLUMNS = ("R@1", "R@2", "R@3", "bleu4", "rougeL", "meteor")
GROUND_TRUTH = "ground truth"
#: Most tokens of a generated description or answer.
TEXT_TOKENS = 96
POSE_TOKENS = 48


@dataclass
class PoseInputData:
    """What the benchmarks read: text2pose test poses with all their texts, train poses with
    their first texts, and the pose_input conversations of the test and train splits."""

    test_poses: torch.Tensor
    test_texts: list[list[str]]
    train_poses: torch.Tensor
    train_texts: list[str]
    test: list[Conversation]
    train: list[Conversation]


def load_pose_input_data(
    root: Path, max_items: int | None, max_train: int | None, seed: int
) -> PoseInputData:
    """Read the dataset's text2pose and pose_input splits (up to `max_items` test items of
    each kind and `max_train` training items, drawn at random with `seed`)."""
    rng = np.random.default_rng(seed)
    text = read_posescript(root / TEXT2POSE_DIR, splits=("train", "test"))
    test_ids = _subset(text.splits.get("test", []), max_items, rng)
    train_ids = _subset(text.splits.get("train", []), max_train, rng)
    convs = {}
    for split in ("test", "train"):
        path = root / POSE_INPUT_DIR / f"{split}.json"
        convs[split] = read_llava(path) if path.exists() else []
    by_kind: dict[str, list[Conversation]] = {}
    for c in convs["test"]:
        by_kind.setdefault(c.meta.get("kind", ""), []).append(c)
    test = [c for kind in sorted(by_kind) for c in _subset(by_kind[kind], max_items, rng)]

    def stack(ids: list[int]) -> torch.Tensor:
        return face_forward(torch.stack([text.pose(i) for i in ids])) if ids else identity_pose(0)

    return PoseInputData(
        stack(test_ids),
        [text.texts(i) for i in test_ids],
        stack(train_ids),
        [text.texts(i)[0] for i in train_ids],
        test,
        _subset(convs["train"], max_train, rng),
    )


def _subset(items: list, limit: int | None, rng: np.random.Generator) -> list:
    if limit is None or len(items) <= limit:
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), limit, replace=False))]


class PoseInputBench:
    """Runs the pose-input benchmarks for the PoseGPT `models`; `tables()` returns one table
    per benchmark in `posegpt.eval.bench`'s format."""

    def __init__(
        self,
        data: PoseInputData,
        models: dict[str, PoseGPT],
        body: BodyModel,
        evaluator: RetrievalModel | None,
        embedder: SentenceEmbedder,
        retrieval_epochs: int,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.data, self.body = data, body
        #: Models without a pose tower cannot read poses: their rows stay empty ("–").
        self.models = {n: m for n, m in models.items() if m.pose_input is not None}
        self.blind = [n for n in models if n not in self.models]
        self.evaluator, self.embedder = evaluator, embedder
        self.retrieval_epochs, self.seed, self.progress = retrieval_epochs, seed, progress

    def tables(self, tasks: Sequence[str]) -> dict[str, dict]:
        runs: dict[str, Callable[[], dict | None]] = {
            "pose2text": self.pose2text,
            "pose_edit": self.pose_edit,
            "followup": self.followup,
            "pose_diff": self.pose_diff,
        }
        out = {}
        for name in POSE_INPUT_TASKS:
            if name in tasks:
                table = runs[name]()
                if table is not None:
                    for blind in self.blind:
                        table["rows"][blind] = dict.fromkeys(table["columns"])
                    out[name] = table
        return out

    # -- pose -> text ---------------------------------------------------------------------

    def pose2text(self) -> dict | None:
        poses, refs = self.data.test_poses, self.data.test_texts
        if len(poses) < 2 or self.evaluator is None:
            return None
        columns = [*TEXT_COLUMNS, "regen_mpjpe", "regen_pa_mpjpe"]
        table = _table("pose2text", columns, len(poses))
        question = POSE_DESCRIBE_QUESTIONS[0]
        methods: dict[str, Callable[[], list[str]]] = {
            name: self._describe(model, question) for name, model in self.models.items()
        }
        methods["nearest caption"] = self._nearest_caption
        methods["rule captioner"] = self._rule_captions
        _score_rows(table, methods, lambda texts: self._text_scores(texts, refs, poses, True))
        truth = [r[0] for r in refs]
        table["reference"][GROUND_TRUTH] = self._text_scores(truth, refs, poses, regenerate=True)
        return table

    def _describe(self, model: PoseGPT, question: str) -> Callable[[], list[str]]:
        def run() -> list[str]:
            return [
                _text(_reply(model, [{"role": "user", "content": question, "poses": [p]}]))
                for p in self._bar(self.data.test_poses, "pose2text")
            ]

        return run

    def _nearest_caption(self) -> list[str]:
        if len(self.data.train_poses) == 0:
            return [""] * len(self.data.test_poses)
        nearest = _nearest(_features(self.data.test_poses), _features(self.data.train_poses))
        return [self.data.train_texts[i] for i in nearest]

    def _rule_captions(self) -> list[str]:
        from posegpt.synth.captioner import PoseCaptioner

        captioner = PoseCaptioner(self.body)
        return [
            captioner.caption(p, "long", self.seed + i) for i, p in enumerate(self.data.test_poses)
        ]

    def _text_scores(
        self,
        texts: list[str],
        refs: list[list[str]],
        poses: torch.Tensor,
        regenerate: bool = False,
        evaluator: RetrievalModel | None = None,
    ) -> dict:
        evaluator = evaluator or self.evaluator
        text, pose = text_pose_embeddings(evaluator, [t or "." for t in texts], poses)
        scores: dict = {**r_precision(text, pose, seed=self.seed), **caption_metrics(texts, refs)}
        if regenerate and len(self.data.train_poses):
            gallery = text_pose_embeddings(evaluator, ["."], self.data.train_poses)[1]
            regenerated = self.data.train_poses[(text @ gallery.T).argmax(dim=1)]
            errors = mean_pose_errors(regenerated, poses, self.body)
            scores.update(regen_mpjpe=errors["mpjpe"], regen_pa_mpjpe=errors["pa_mpjpe"])
        return scores

    # -- editing --------------------------------------------------------------------------

    def pose_edit(self) -> dict | None:
        items = [c for c in self.data.test if c.meta.get("kind") in ("edit", "correction")]
        if not items:
            return None
        columns = [*POSE_METRICS, "follows"]
        table = _table("pose_edit", columns, len(items))
        starts = torch.stack([c.input_poses[0] for c in items])
        targets = torch.stack([c.poses[0] for c in items])
        steps = [_step(c, 0) for c in items]
        methods: dict[str, Callable[[], torch.Tensor]] = {
            name: self._editor(model, items) for name, model in self.models.items()
        }
        methods["copy pose A"] = lambda: starts.clone()
        methods["target class mean"] = lambda: self._class_means(items)
        _score_rows(table, methods, lambda pred: self._edit_scores(starts, pred, targets, steps))
        table["reference"][GROUND_TRUTH] = self._edit_scores(starts, targets, targets, steps)
        return table

    def _editor(self, model: PoseGPT, items: list[Conversation]) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            return torch.stack(
                [
                    _pose(
                        _reply(
                            model,
                            [_user_turn(c.messages[0].content, c.input_poses[:1])],
                            POSE_TOKENS,
                        )
                    )
                    for c in self._bar(items, "pose_edit")
                ]
            )

        return run

    def _class_means(self, items: list[Conversation]) -> torch.Tensor:
        """Per item, the mean train target of the same (edit, side) (identity if none)."""
        groups: dict[tuple, list[torch.Tensor]] = {}
        for c in self.data.train:
            if c.meta.get("kind") in ("edit", "correction"):
                groups.setdefault(tuple(c.meta["edits"][0]), []).append(c.poses[0])
        means = {k: roma.special_procrustes(torch.stack(v).mean(0)) for k, v in groups.items()}
        return torch.stack([means.get(tuple(c.meta["edits"][0]), identity_pose()) for c in items])

    def _edit_scores(
        self, starts: torch.Tensor, pred: torch.Tensor, targets: torch.Tensor, steps: list[Step]
    ) -> dict:
        scores = mean_pose_errors(pred, targets, self.body)
        before, after = codes_of(self.body, starts), codes_of(self.body, pred)
        ok = [
            follows(a, p, cb, ca, s)
            for a, p, cb, ca, s in zip(starts, pred, before, after, steps, strict=True)
        ]
        return {**scores, "follows": 100.0 * float(np.mean(ok))}

    # -- follow-up chains -----------------------------------------------------------------

    def followup(self) -> dict | None:
        chains = [c for c in self.data.test if c.meta.get("kind") == "chain"]
        if not chains:
            return None
        turns = max(len(c.poses) for c in chains)
        columns = [f"turn{n}" for n in range(2, turns + 1)] + ["edit_turns", "chains"]
        table = _table("followup", columns, len(chains))
        methods: dict[str, Callable[[Conversation], list[torch.Tensor]]] = {
            name: self._replayer(model) for name, model in self.models.items()
        }
        methods["repeat the previous pose"] = lambda c: [c.poses[0]] * len(c.poses)
        replays = {
            name: lambda run=run, name=name: [run(c) for c in self._bar(chains, f"followup {name}")]
            for name, run in methods.items()
        }
        _score_rows(table, replays, lambda answers: self._chain_scores(chains, answers, columns))
        truth = [list(c.poses) for c in chains]
        table["reference"][GROUND_TRUTH] = self._chain_scores(chains, truth, columns)
        return table

    def _replayer(self, model: PoseGPT) -> Callable[[Conversation], list[torch.Tensor]]:
        def run(chain: Conversation) -> list[torch.Tensor]:
            """The chain's turns asked one by one, each answer (and its pose) fed back."""
            history: list[dict] = []
            poses = []
            for turn in range(len(chain.poses)):
                content = chain.messages[2 * turn].content
                history.append(_user_turn(content, []))
                reply = _reply(model, history, POSE_TOKENS)
                poses.append(_pose(reply, poses[-1] if poses else None))
                text = POSE_TOKEN if reply is None else reply.text  # no room: a bare answer
                history.append({"role": "assistant", "content": text, "poses": poses[-1:]})
            return poses

        return run

    def _chain_scores(
        self, chains: list[Conversation], answers: list[list[torch.Tensor]], columns: list[str]
    ) -> dict:
        per_turn: dict[int, list[bool]] = {}
        whole = []
        for chain, poses in zip(chains, answers, strict=True):
            stacked = torch.stack(poses)
            codes = codes_of(self.body, stacked)
            ok = [
                follows(stacked[n - 1], stacked[n], codes[n - 1], codes[n], _step(chain, n - 1))
                for n in range(1, len(poses))
            ]
            for n, good in enumerate(ok, start=2):
                per_turn.setdefault(n, []).append(good)
            whole.append(all(ok))
        scores = {f"turn{n}": 100.0 * float(np.mean(v)) for n, v in per_turn.items()}
        every = [g for v in per_turn.values() for g in v]
        scores["edit_turns"] = 100.0 * float(np.mean(every))
        scores["chains"] = 100.0 * float(np.mean(whole))
        return {c: scores.get(c) for c in columns}

    # -- difference captions --------------------------------------------------------------

    def pose_diff(self) -> dict | None:
        items = [c for c in self.data.test if c.meta.get("kind") == "difference"]
        train = [c for c in self.data.train if c.meta.get("kind") == "difference"]
        if len(items) < 2 or len(train) < 2:
            return None
        evaluator = train_retrieval(
            TextPosePairs(_relative(train), [[c.messages[-1].content] for c in train]),
            epochs=self.retrieval_epochs,
            seed=self.seed,
            embedder=self.embedder,
            progress=self.progress,
        )
        table = _table("pose_diff", list(TEXT_COLUMNS), len(items))
        relative = _relative(items)
        refs = [[c.messages[-1].content] for c in items]
        question = DIFFERENCE_QUESTIONS[0]
        methods: dict[str, Callable[[], list[str]]] = {
            name: self._comparer(model, items, question) for name, model in self.models.items()
        }
        train_texts = [c.messages[-1].content for c in train]
        methods["nearest pair"] = lambda: [
            train_texts[i] for i in _nearest(_features(relative), _features(_relative(train)))
        ]
        _score_rows(
            table, methods, lambda texts: self._text_scores(texts, refs, relative, False, evaluator)
        )
        truth = [r[0] for r in refs]
        table["reference"][GROUND_TRUTH] = self._text_scores(
            truth, refs, relative, evaluator=evaluator
        )
        return table

    def _comparer(
        self, model: PoseGPT, items: list[Conversation], question: str
    ) -> Callable[[], list[str]]:
        def run() -> list[str]:
            return [
                _text(_reply(model, [_user_turn(question, c.input_poses[:2])]))
                for c in self._bar(items, "pose_diff")
            ]

        return run

    def _bar(self, items, desc: str):
        return tqdm(items, desc=desc, unit="item", disable=not self.progress, leave=False)


# -- helpers ----------------------------------------------------------------------------------


def _table(name: str, columns: list[str], items: int) -> dict:
    return {
        "title": TITLES[name],
        "n": items,
        "columns": columns,
        "rows": {},
        "reference": {},
        "seconds": {},
    }


def _score_rows(table: dict, methods: dict[str, Callable[[], object]], score: Callable) -> None:
    """Run each method, score its output into its row, and time it."""
    for name, run in methods.items():
        start = time.perf_counter()
        table["rows"][name] = score(run())
        table["seconds"][name] = round(time.perf_counter() - start, 2)


def _user_turn(content: str, poses: Sequence[torch.Tensor]) -> dict:
    """A user message whose `<pose_in>` markers (if any) stand for `poses`."""
    text = content.replace(POSE_INPUT_TOKEN, "").strip()
    return {"role": "user", "content": text, "poses": list(poses)}


def _reply(model: PoseGPT, messages: list[dict], max_new_tokens: int = TEXT_TOKENS):
    """The model's greedy reply, cut to fit its context (None if the prompt alone fills it)."""
    prompt = model.encode(model.prepare(messages)[0], add_generation_prompt=True)[0]
    room = model.config.max_length - len(prompt) - 1
    if room < 1:
        return None
    return model.chat(messages, max_new_tokens=min(max_new_tokens, room))


def _text(reply) -> str:
    return "" if reply is None else reply.text.replace(POSE_TOKEN, "").strip()


def _pose(reply, fallback: torch.Tensor | None = None) -> torch.Tensor:
    """The reply's first pose; without one the previous pose (a follow-up that changed
    nothing) or the T-pose."""
    if reply is not None and reply.poses:
        return reply.poses[0]
    return fallback if fallback is not None else identity_pose()


def _step(conversation: Conversation, index: int) -> Step:
    edit, side = conversation.meta["edits"][index]
    if edit not in EDIT_INFO:
        raise InvalidInputError(f"unknown edit {edit!r} in {conversation.meta.get('id')}")
    return Step(edit, side, conversation.meta["instructions"][index])


def _relative(items: list[Conversation]) -> torch.Tensor:
    """Per item, the rotation from its first to its second input pose, joint by joint."""
    first = torch.stack([c.input_poses[0] for c in items])
    second = torch.stack([c.input_poses[1] for c in items])
    return first.transpose(-1, -2) @ second


def _features(rotmat: torch.Tensor) -> torch.Tensor:
    return rotmat_to_6d(rotmat).reshape(len(rotmat), -1)


def _nearest(queries: torch.Tensor, gallery: torch.Tensor) -> list[int]:
    return torch.cdist(queries, gallery).argmin(dim=1).tolist()
