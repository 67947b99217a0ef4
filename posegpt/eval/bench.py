"""`posegpt bench`: posegpt and every baseline on the same held-out data, side by side.

Protocol:
- Methods learn from the dataset's train split and select their best epoch on val; the test
  split is only predicted (never used for any choice). The retrieval evaluator is trained on
  the train split's text-pose pairs (best epoch on val) or loaded (`retrieval`); its recall on
  the true test poses is reported as the "ground truth" reference row.
- text2pose: the test descriptions (first text of each pose); R@K of the generated poses
  against their descriptions, and pose errors against the true poses.
- spg / spg_seen: speculative queries of unseen situations and wordings (SPG "test") and of
  seen situations in unseen wordings ("test_seen"). As in the paper, where each query was
  derived from a PoseScript description of its true pose, R@K pairs each generated pose with a
  description of the true pose (the captioner's, a stand-in for PoseScript's), since a
  retrieval model trained on pose descriptions cannot read situations; pose errors are also
  given, though many poses fit a situation. "right family %": how often the generated pose's
  family (`posegpt.eval.family_classifier.every_family_classifier`: that of the nearest of 60
  samples of every pose family, root left out) is the test item's; the classifier's accuracy on
  the true poses is its ceiling (reference row). A situation may fit several families; only the
  item's own counts.
- image2pose: person crops; MPJPE, PA-MPJPE, MPJRE, and the right family % as for SPG;
  image2pose_everyday (methods that chat): the same crops asked in held-out everyday words
  (`posegpt/eval/everyday/photo_requests.txt`; `--photo-items dev` the development set's);
  "declined": % answered with no pose;
  image2pose_partial: the test crops that show a person from the waist or thighs up only
  (`posegpt data synth --partial-crops`; none in older datasets).
- rpe: whole pictures + one description of one person; per description kind and averaged
  over the kinds. "+ largest person" baselines use an oracle detector (the true boxes).
  "right_person": % of answers nearest the described person's true pose among the people of
  the picture (`posegpt.eval.right_person`; pictures of two or more people). "declined": %
  answered with no pose (wrong here; baselines always give one).
- rpe_absent: whole pictures + a description of someone not in them (a pose unlike everyone's
  there); "declined": % answered in words with no pose (right here).
- literature protocols, on data converted from the real datasets (`posegpt data prepare`):
  text -> pose retrieval as PoseScript reports it, R@1/5/10 both ways and mRecall, over the
  whole test split and over 32-candidate pools (separate, labelled tables: the numbers differ
  a lot and papers mix them); image -> pose per source dataset on its protocol's joints: 3DPW
  on SMPL's 24 joints, Human3.6M on its 14 joints (regressed from the SMPL mesh by the user's
  `--h36m-regressor`, root at the mid-hips; without it SMPL's 24, labelled), RPE on SMPL's 22
  joints (as the RPE-Refined script), per description kind.
- retention (methods that chat): accuracy on held-out non-pose questions and the `<POSE>`
  emission rate (exactly one pose per pose request, none otherwise); `posegpt.eval.retention`.
- everyday (`posegpt.eval.everyday`): held-out requests worded as people write them (single
  and multi-pose requests, questions wanting no pose), each asked in a fresh conversation and
  scored by the number of poses and geometric predicates on each pose; text/pose agreement
  compares the family a reply's words name with the pose's family by the same classifier (its
  agreement on other samples of the families is the ceiling, reference row). Baselines answer
  every text with one pose. `max_items` applies per category, taking each form in turn.
- parts (`posegpt.eval.part_requests`): one request naming body parts per test pose, in the
  engine's own phrasings ("seated, left hand on a knee"); "satisfied": % answered with exactly
  one pose whose posecodes hold every clause named; the chance row scores another test pose.
- speed: ms per pose one request at a time, poses/s in one batched call (posegpt answers one
  request at a time, so its "batch" is sequential).
- pose2text, pose_edit, followup, pose_diff (tasks that read poses, with their own baselines):
  `posegpt.eval.pose_input_bench`.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from posegpt.body import load_body_model
from posegpt.body.base import BodyModel
from posegpt.body.rotations import identity_pose
from posegpt.chat_defaults import CHAT_SWITCHES, OWN_ANSWERS, AnswerOptions, chat_options
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval.baselines import IMAGE_TASKS, TEXT_TASKS, Budget, Method, make_baselines
from posegpt.eval.bench_data import (
    BenchData,
    Caption,
    load_bench_data,
    load_real_hmr,
    load_real_posescript,
)
from posegpt.eval.chat_method import PoseGPTMethod
from posegpt.eval.everyday.items import (
    PHOTO_REQUESTS_FILE,
    EverydayItem,
    load_everyday,
    load_photo_requests,
    subset,
)
from posegpt.eval.everyday.score import COLUMNS as EVERYDAY_COLUMNS
from posegpt.eval.everyday.score import ask_all, score_everyday
from posegpt.eval.family_classifier import FamilyClassifier, every_family_classifier
from posegpt.eval.items import ImageSet, TextSet
from posegpt.eval.metrics import SMPL22, SMPL24, JointSet, load_joint_regressor
from posegpt.eval.part_requests import CHANCE as PART_CHANCE
from posegpt.eval.part_requests import COLUMNS as PART_COLUMNS
from posegpt.eval.part_requests import chance as part_chance
from posegpt.eval.part_requests import part_items, pose_codes, score_parts
from posegpt.eval.pose_input_bench import POSE_INPUT_TASKS, PoseInputBench, load_pose_input_data
from posegpt.eval.report import PAPER_NUMBERS
from posegpt.eval.retention import evaluate_retention
from posegpt.eval.retrieval import (
    LITERATURE_PROTOCOLS,
    RetrievalModel,
    TextPosePairs,
    literature_recalls,
    train_retrieval,
)
from posegpt.eval.right_person import candidates
from posegpt.eval.scoring import (
    POSE_METRICS,
    RETRIEVAL_METRICS,
    Scored,
    image_metrics,
    measure_speed,
    retrieval_metrics,
    score_image,
    score_text,
)
from posegpt.model import PoseGPT, load_chat_model
from posegpt.model.pose_tower.fit import check_refine_mode
from posegpt.model.repetition import check_repetition_penalty
from posegpt.model.text_embedder import SentenceEmbedder
from posegpt.records import Conversation, with_image


@dataclass(frozen=True)
class Mode:
    """How big a run is: test items per benchmark (None: all), training items per set, the
    baselines' budget and the retrieval evaluator's epochs."""

    max_items: int | None
    max_train: int | None
    budget: Budget
    retrieval_epochs: int


MODES = {
    "quick": Mode(48, 2000, Budget(epochs=15, fit_steps=100), retrieval_epochs=10),
    "full": Mode(None, None, Budget(epochs=40, fit_steps=200), retrieval_epochs=30),
}
TITLES = {
    "text2pose": "text -> pose, explicit descriptions",
    "spg": "SPG, unseen situations and wordings",
    "spg_seen": "SPG, seen situations, unseen wordings",
    "image2pose": "image -> pose on person crops",
    "image2pose_everyday": "image -> pose on person crops, asked in everyday words (held out)",
    "image2pose_partial": "image -> pose on crops of people from the waist or thighs up",
    "rpe": "RPE: whole picture + description of one person",
    "rpe_absent": "RPE: whole picture + description of someone not in it",
    "retention": "conversation retention (non-pose questions) and <POSE> emission",
    "speed": "speed on this machine",
    "everyday": "everyday requests (held-out wordings): pass %, pose counts, text/pose agreement",
    "parts": "requests naming body parts (training phrasings, test poses): clauses satisfied %",
}
#: What `--tasks` may choose ("spg" runs both SPG test splits).
BENCH_TASKS = (
    "text2pose",
    "spg",
    "image2pose",
    "rpe",
    "retention",
    "speed",
    "everyday",
    "parts",
    *POSE_INPUT_TASKS,
)
#: Tasks that never use the retrieval evaluator: a run of only these neither loads nor trains one.
UNEVALUATED_TASKS = {"image2pose", "rpe", "retention", "speed", "everyday", "parts"}
GROUND_TRUTH = "ground truth (retrieval evaluator)"
GROUND_TRUTH_FAMILY = "ground truth (family classifier)"
#: The everyday reference row: the agreement of the families' own samples, each named right.
GROUND_TRUTH_AGREEMENT = "family samples named right (the classifier's ceiling)"
RETRIEVAL_DIR = "retrieval"
#: Items per benchmark drawn in the figure.
FIGURE_ITEMS = 1


@dataclass
class BenchConfig:
    """What to benchmark. models: PoseGPT folders or packaged model names ("default", "small"),
    each a row; none: baselines only (also a model that cannot be loaded is left out, with a
    warning); tasks: a subset of BENCH_TASKS (default: all); retrieval: a trained retrieval
    evaluator folder (default: train one); real_*: real test sets in their own formats;
    refined_rows: modes (REFINE_MODES) of `PoseGPT.chat`'s refinement of photo answers to
    the landmarks, each also a photo-only row of each pose-tower model; penalty_rows: repetition
    penalties (`PoseGPT.chat`), each also a words-only row of each model; decline_rows: also a
    photo-only row of each pose-tower model that answers in words with no pose when its answer
    matches nobody in the picture (`PoseGPT.chat`'s `decline_unmatched`); sides_rows: also a
    words-only row of each model that keeps the side a request names (`PoseGPT.chat`'s
    `keep_sides`); steps_rows: also a words-only row of each model that asks each step of a
    several-pose request alone (`PoseGPT.chat`'s `steps_alone`); chat_rows: also a row of each
    model answering as `posegpt chat` does when not told otherwise (photo answers refined by
    `default_refine`, the named side kept, each step asked alone, as many poses as the words
    ask for, terse requests and photo questions answered in words asked again);
    chat_variants: switches of `AnswerOptions` (`CHAT_SWITCHES`), each also a row of each model
    answering as `posegpt chat` does with that switch the other way; everyday_items: the
    everyday benchmark's items file (default: the held-out test set; the packaged development
    set, `DEV_REQUESTS_FILE`, is the one to tune on); photo_items: the file of everyday photo
    requests the crops are asked in (default: the held-out one; `PHOTO_FILES`); split: "test"
    (held out) or "val" (the dataset's development split, to decide on; SPG on its val
    situations, `load_bench_data`); baselines: False to run the text and photo tasks for the
    models only (an earlier run on the same data, seed and sizes holds the baselines' figures).
    """

    data: Path
    out: Path
    models: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=lambda: list(BENCH_TASKS))
    retrieval: Path | None = None
    quick: bool = False
    seed: int = 0
    max_items: int | None = None
    max_train: int | None = None
    gallery: int | None = None
    body: str | None = None
    real_posescript: Path | None = None
    amass_root: Path | None = None
    real_hmr: list[Path] = field(default_factory=list)
    real_images: Path | None = None
    h36m_regressor: Path | None = None
    refined_rows: list[str] = field(default_factory=list)
    penalty_rows: list[float] = field(default_factory=list)
    decline_rows: bool = False
    sides_rows: bool = False
    steps_rows: bool = False
    chat_rows: bool = False
    chat_variants: list[str] = field(default_factory=list)
    everyday_items: Path | None = None
    photo_items: Path = PHOTO_REQUESTS_FILE
    split: str = "test"
    baselines: bool = True
    progress: bool = True
    command: str = ""

    @property
    def mode(self) -> Mode:
        """The quick or full mode, with this run's `max_items`, `max_train` and seed."""
        mode = MODES["quick" if self.quick else "full"]
        unknown = sorted(set(self.tasks) - set(BENCH_TASKS))
        if unknown or not self.tasks:
            raise InvalidInputError(
                f"tasks must be among {', '.join(BENCH_TASKS)}, got {', '.join(self.tasks)}"
            )
        if self.max_items is not None and self.max_items < 2:
            raise InvalidInputError(f"max_items must be >= 2, got {self.max_items}")
        if self.max_train is not None and self.max_train < 2:
            raise InvalidInputError(f"max_train must be >= 2, got {self.max_train}")
        return replace(
            mode,
            max_items=self.max_items if self.max_items is not None else mode.max_items,
            max_train=self.max_train if self.max_train is not None else mode.max_train,
            budget=replace(mode.budget, seed=self.seed),
        )


def h36m_joints(regressor: Path | None, body: BodyModel) -> JointSet | None:
    """Human3.6M's 14-joint set from the regressor file, checked against `body` at once (a
    regressor made for SMPL's mesh needs the SMPL body), or None without a file."""
    if regressor is None:
        return None
    joints = load_joint_regressor(regressor)
    with torch.no_grad():
        joints.select(body(identity_pose(1)))
    return joints


def run_bench(cfg: BenchConfig) -> dict:
    """Fit the baselines, run every benchmark for every method; returns the results (see
    `posegpt.eval.report` for their files)."""
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    mode = cfg.mode
    body = load_body_model(cfg.body)
    h36m = h36m_joints(cfg.h36m_regressor, body)  # a wrong file or body fails before any work
    embedder = SentenceEmbedder()
    stages: dict[str, float] = {}
    with _timed(stages, "model loading"):  # first, so that a bad path shows before any work
        models, model_errors = _load_models(cfg.models)
    with _timed(stages, "data"):
        data = load_bench_data(
            cfg.data, _captioner(body), cfg.seed, mode.max_items, mode.max_train, cfg.split
        )
    tasks = set(cfg.tasks)
    evaluator = None
    if tasks - UNEVALUATED_TASKS or cfg.real_posescript is not None:
        with _timed(stages, "retrieval evaluator"):
            evaluator = _evaluator(cfg, data.retrieval_pairs, embedder, mode.retrieval_epochs, "")
    posed = tasks | ({"text2pose"} if tasks & {"everyday", "parts"} else set())
    scored = posed & {*TEXT_TASKS, *IMAGE_TASKS} or {*TEXT_TASKS, *IMAGE_TASKS}
    if not tasks - set(POSE_INPUT_TASKS) or not cfg.baselines:  # (pose input: their own)
        scored = set()
    baselines = [b for b in make_baselines(body, embedder, mode.budget) if scored & set(b.tasks)]
    methods, training = _fit_baselines(baselines, data, cfg.progress)
    methods[:0] = model_methods(models, body, cfg)
    results: dict = {"meta": _meta(cfg, mode, body), "methods": [m.name for m in methods]}
    results["meta"]["model_error"] = "; ".join(model_errors) or None
    bench = _Runner(cfg, body, methods, h36m)
    with _timed(stages, "benchmarks"):
        if data.text2pose is not None and "text2pose" in tasks:
            bench.text("text2pose", data.text2pose, evaluator)
        for name, items in data.spg.items() if "spg" in tasks else ():
            bench.text(name, items, evaluator)
        if data.crops is not None and "image2pose" in tasks:
            bench.image("image2pose", data.crops)
            requests = load_photo_requests(cfg.photo_items)
            everyday = _asked_in_everyday_words(data.crops, requests)
            bench.image("image2pose_everyday", everyday, chat_only=True)
        if data.partial_crops is not None and "image2pose" in tasks:
            bench.image("image2pose_partial", data.partial_crops)
        if data.rpe is not None and "rpe" in tasks:
            bench.image("rpe", data.rpe)
        if data.absent and "rpe" in tasks:
            bench.absent(data.absent, data.load_image)
        _real(cfg, bench, embedder, evaluator, mode)
    chatters = [m for m in methods if m.chats]
    if chatters and data.instructions and "retention" in tasks:
        with _timed(stages, "retention"):
            bench.retention(chatters, data)
    if "everyday" in tasks:
        with _timed(stages, "everyday"):
            bench.everyday(load_everyday(cfg.everyday_items), mode.max_items)
    if "parts" in tasks and data.text2pose is not None:
        with _timed(stages, "parts"):
            bench.parts(data.text2pose, mode.max_items)
    if "speed" in tasks:
        with _timed(stages, "speed"):
            bench.speed(data.text2pose, data.crops)
    if tasks & set(POSE_INPUT_TASKS):
        with _timed(stages, "pose input"):
            pose_data = load_pose_input_data(cfg.data, mode.max_items, mode.max_train, cfg.seed)
            pose_bench = PoseInputBench(
                pose_data,
                models,
                body,
                evaluator,
                embedder,
                mode.retrieval_epochs,
                cfg.seed,
                cfg.progress,
            )
            bench.tables.update(pose_bench.tables(sorted(tasks)))
    results["benchmarks"] = bench.tables
    results["samples"] = bench.samples
    results["training"] = training
    results["paper"] = list(PAPER_NUMBERS)
    results["protocol"] = __doc__.split("Protocol:\n", 1)[1]
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["seconds_by_stage"] = {k: round(v, 1) for k, v in stages.items()}
    return results


@contextmanager
def _timed(stages: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    stages[name] = time.perf_counter() - start


class _Runner:
    """Runs benchmarks and collects one table per benchmark (rows: every method)."""

    def __init__(
        self,
        cfg: BenchConfig,
        body: BodyModel,
        methods: list[Method],
        h36m: JointSet | None = None,
    ) -> None:
        self.cfg, self.body, self.methods = cfg, body, methods
        self.h36m = h36m  # Human3.6M's 14 joints, given a regressor
        self.tables: dict[str, dict] = {}
        self.samples: dict[str, dict] = {}
        self.pose_counts: dict[str, list[int]] = {}

    @property
    def families(self) -> FamilyClassifier:
        """The pose families of answers (`every_family_classifier`, built on first use)."""
        return every_family_classifier(self.body)[0]

    @property
    def family_ceiling(self) -> float:
        """How often `families` names other samples of the families right."""
        return every_family_classifier(self.body)[1]

    def _table(self, name: str, columns: list[str], items: int, title: str | None = None) -> dict:
        table = {
            "title": title or TITLES[name],
            "n": items,
            "columns": columns,
            "rows": {m.name: dict.fromkeys(columns) for m in self.methods},
            "reference": {},
            "seconds": {},
        }
        self.tables[name] = table
        return table

    def _record(
        self, name: str, table: dict, method: Method, scored: Scored, items: TextSet | ImageSet
    ) -> None:
        table["rows"][method.name].update(
            {k: v for k, v in scored.metrics.items() if k in table["columns"]}
        )
        table["seconds"][method.name] = round(scored.seconds, 2)
        self.pose_counts.setdefault(method.name, []).extend(scored.pose_counts)
        sample = self.samples.setdefault(name, _sample(items))
        sample["pred"][method.name] = scored.poses[:FIGURE_ITEMS].tolist()

    def _methods(self, task: str) -> Iterator[Method]:
        chosen = [m for m in self.methods if task in m.tasks]
        bar = tqdm(chosen, desc=task, unit="method", disable=not self.cfg.progress)
        for method in bar:
            bar.set_postfix_str(method.name)
            yield method

    def text(
        self,
        name: str,
        items: TextSet,
        evaluator: RetrievalModel | None,
        title: str | None = None,
    ) -> None:
        task = "spg" if name.startswith("spg") else "text2pose"
        columns = [*RETRIEVAL_METRICS, *POSE_METRICS] if evaluator else list(POSE_METRICS)
        families = self._family_column(items, columns)
        table = self._table(name, columns, len(items), title)
        if evaluator is not None and len(items) > 1:
            refs = items.references or items.texts
            table["reference"][GROUND_TRUTH] = retrieval_metrics(
                evaluator, refs, items.poses, self.cfg.gallery, self.cfg.seed
            )
        self._family_reference(table, items, families)
        predictions = {}
        for method in self._methods(task):
            scored = score_text(
                method, items, self.body, evaluator, self.cfg.gallery, self.cfg.seed, families
            )
            self._record(name, table, method, scored, items)
            predictions[method.name] = scored.poses
        if evaluator is not None and len(items) > 1 and task == "text2pose":
            self._literature_retrieval(name, items, evaluator, predictions, table["title"])

    def _literature_retrieval(
        self,
        name: str,
        items: TextSet,
        evaluator: RetrievalModel,
        predictions: dict[str, torch.Tensor],
        title: str,
    ) -> None:
        """One table per LITERATURE_PROTOCOLS: R@1/5/10 both ways and mRecall of each method's
        poses (and of the true poses, the reference row)."""
        refs = items.references or items.texts
        truth = literature_recalls(evaluator, refs, items.poses, self.cfg.seed)
        scores = {
            m: literature_recalls(evaluator, refs, p, self.cfg.seed) for m, p in predictions.items()
        }
        for protocol, reference in truth.items():
            pool = LITERATURE_PROTOCOLS[protocol]
            key = f"{name}_retrieval_" + ("split" if pool is None else f"pool{pool}")
            columns = list(reference)
            table = self._table(
                key, columns, len(items), f"{title}: retrieval as PoseScript, {protocol}"
            )
            table["reference"][GROUND_TRUTH] = reference
            for method, by_protocol in scores.items():
                table["rows"][method].update(by_protocol[protocol])

    def image(
        self,
        name: str,
        items: ImageSet,
        title: str | None = None,
        joint_set: JointSet = SMPL24,
        chat_only: bool = False,
    ) -> None:
        task = "rpe" if items.kinds is not None else "image2pose"
        columns = list(POSE_METRICS)
        if items.kinds is not None:
            kinds = sorted(set(items.kinds))
            columns += [f"{m}_{k}" for m in POSE_METRICS for k in kinds]
            if candidates(items):
                qualified = sorted({items.kinds[row] for row in candidates(items)})
                columns += ["right_person", *(f"right_person_{k}" for k in qualified)]
        columns.append("declined")
        families = self._family_column(items, columns)
        table = self._table(name, columns, len(items), title)
        self._family_reference(table, items, families)
        predictions = {}
        for method in self._methods(task):
            if chat_only and not method.chats:
                continue
            scored = score_image(method, items, self.body, families, joint_set)
            self._record(name, table, method, scored, items)
            table["rows"][method.name]["declined"] = _declined(scored.pose_counts)
            predictions[method.name] = scored.poses
        for source in sorted(set(items.sources or []) - {""}):
            rows = [i for i, s in enumerate(items.sources) if s == source]
            subset, joints = items.subset(rows), self._joint_set(source)
            key = f"{name}/{source}"
            source_title = f"{table['title']}: {source} ({joints.name})"
            source_table = self._table(
                key, [c for c in columns if c != "family_acc"], len(rows), source_title
            )
            for method, poses in predictions.items():
                metrics = image_metrics(poses[rows], subset, self.body, None, joints)
                known = source_table["columns"]  # right-person rates of the whole set's kinds
                source_table["rows"][method].update({k: metrics.get(k) for k in known})

    def absent(
        self,
        conversations: list[Conversation],
        load_image: Callable[[Conversation], Image.Image | None],
    ) -> None:
        """RPE requests for someone who is not in the picture: % answered with no pose."""
        table = self._table("rpe_absent", ["declined"], len(conversations))
        images = [load_image(c) for c in conversations]
        questions = [c.messages[0].content for c in conversations]
        for method in self._methods("rpe"):
            if isinstance(method, PoseGPTMethod) and not method.chats:
                continue  # a refined row: the same replies as its model's row
            if method.chats:
                method.predict_image(images, prompts=questions)
            table["rows"][method.name]["declined"] = _declined(getattr(method, "pose_counts", []))

    def _joint_set(self, source: str) -> JointSet:
        """The joints a source dataset's protocol scores (see the module docstring)."""
        if source == "rpe":
            return SMPL22
        return self.h36m if source == "h36m" and self.h36m is not None else SMPL24

    def _family_column(
        self, items: TextSet | ImageSet, columns: list[str]
    ) -> FamilyClassifier | None:
        """The family classifier if the items' families are known (then a column too)."""
        if items.families is None:
            return None
        columns.append("family_acc")
        return self.families

    @staticmethod
    def _family_reference(
        table: dict, items: TextSet | ImageSet, families: FamilyClassifier | None
    ) -> None:
        """The classifier's accuracy on the true poses: the ceiling of "right family %"."""
        if families is not None:
            accuracy = families.accuracy(items.poses, items.families)
            table["reference"][GROUND_TRUTH_FAMILY] = {"family_acc": accuracy}

    def retention(self, methods: list[Method], data: BenchData) -> None:
        columns = ["accuracy", "exact", "emission_asked", "emission_other", "emission"]
        table = self._table("retention", columns, len(data.instructions))
        for method in methods:
            scores = evaluate_retention(
                method, data.instructions, data.load_image, self.cfg.progress
            )
            asked = self.pose_counts.get(method.name, [])
            right = sum(c == 1 for c in asked)
            total = len(asked) + scores["n"]
            table["rows"][method.name].update(
                accuracy=scores["accuracy"],
                exact=scores["exact"],
                emission_asked=100.0 * right / len(asked) if asked else None,
                emission_other=scores["emission"],
                emission=100.0 * (right + scores["emission_ok"]) / total,
            )
            table.setdefault("details", {})[method.name] = scores

    def everyday(self, items: list[EverydayItem], max_items: int | None) -> None:
        items = subset(items, max_items)
        table = self._table("everyday", list(EVERYDAY_COLUMNS), len(items))
        table["reference"][GROUND_TRUTH_AGREEMENT] = {"agreement": self.family_ceiling}
        # the figure shows the first requests' first answered poses; they have no true pose
        shown = [i for i, item in enumerate(items) if item.category == "request"][:FIGURE_ITEMS]
        sample = {"labels": [items[i].text for i in shown], "gt": [None] * len(shown), "pred": {}}
        self.samples["everyday"] = sample
        for method in self._methods("text2pose"):
            answers = ask_all(method, items, self.cfg.progress)
            metrics, details = score_everyday(items, answers, self.body, self.families.predict)
            table["rows"][method.name].update(metrics)
            table.setdefault("details", {})[method.name] = details
            sample["pred"][method.name] = [
                answers[i].poses[0].tolist() if answers[i].poses else None for i in shown
            ]

    def parts(self, text: TextSet, max_items: int | None) -> None:
        codes = pose_codes(text.poses, self.body)
        items = part_items(codes, max_items or len(text), self.cfg.seed)
        table = self._table("parts", list(PART_COLUMNS), len(items))
        table["reference"][PART_CHANCE] = part_chance(items, codes)
        for method in self._methods("text2pose"):
            table["rows"][method.name].update(
                score_parts(method, items, self.body, self.cfg.progress)
            )

    def speed(self, text: TextSet | None, crops: ImageSet | None) -> None:
        table = self._table("speed", ["ms_per_pose", "poses_per_s", "batch"], 0)
        for method in tqdm(
            self.methods, desc="speed", unit="method", disable=not self.cfg.progress
        ):
            measured = measure_speed(method, text, crops)
            if measured is not None:
                table["rows"][method.name].update(measured)


def _sample(items: TextSet | ImageSet) -> dict:
    """The first FIGURE_ITEMS items' labels and true poses, for the figure."""
    if isinstance(items, TextSet):
        labels = items.texts[:FIGURE_ITEMS]
    else:
        labels = (items.descriptions or items.prompts or [""] * len(items))[:FIGURE_ITEMS]
    return {
        "labels": list(labels),
        "gt": items.poses[:FIGURE_ITEMS].tolist(),
        "pred": {},
    }


def _captioner(body: BodyModel) -> Caption:
    """caption(pose, seed): a detailed description of a pose by the data engine's captioner."""
    from posegpt.synth.captioner import PoseCaptioner

    captioner = PoseCaptioner(body)
    return lambda pose, seed: captioner.caption(pose, "long", seed)


#: Row name suffix of each refinement mode (`BenchConfig.refined_rows`).
REFINED_ROWS = {
    "orient": "turned to the landmarks",
    "fit": "refined to the landmarks",
    "auto": "refined to one person's landmarks, turned to several's",
    "blend": "blended with the BlazePose fit where seen",
    "auto-blend": "blended for one person, turned for several",
}


def model_methods(models: dict[str, PoseGPT], body: BodyModel, cfg: BenchConfig) -> list:
    """A method per model; for each mode of `cfg.refined_rows`, a photo-only row of each
    pose-tower model's answers refined to the landmarks that way; for each of
    `cfg.penalty_rows`, a words-only row of each model decoding with that repetition penalty;
    with `cfg.decline_rows`, a photo-only row of each pose-tower model that declines answers
    matching nobody in the picture; with `cfg.sides_rows`, a words-only row of each model that
    keeps the side a request names; with `cfg.steps_rows`, a words-only row of each model that
    asks each step of a several-pose request alone; with `cfg.chat_rows`, a row of each model
    answering as `posegpt chat` does by default."""
    for mode in cfg.refined_rows:
        check_refine_mode(mode)
    for switch in cfg.chat_variants:
        if switch not in CHAT_SWITCHES:
            raise InvalidInputError(
                f"unknown chat switch {switch!r}: one of {', '.join(CHAT_SWITCHES)}"
            )
    for penalty in cfg.penalty_rows:
        check_repetition_penalty(penalty)
    methods = []
    for name, model in models.items():
        for suffix, options, tasks in _model_rows(model, cfg):
            methods.append(PoseGPTMethod(model, name + suffix, cfg.progress, body, options))
            if tasks is not None:
                methods[-1].tasks = tasks
            # a refined row's words are those of the row of the model's own answers
            methods[-1].chats = tasks != IMAGE_TASKS or options.refine is None
    return methods


def _model_rows(
    model: PoseGPT, cfg: BenchConfig
) -> list[tuple[str, AnswerOptions, tuple[str, ...] | None]]:
    """The rows of one model (`model_methods`): each row's name suffix, answer options and tasks
    (None: all the model does)."""
    rows: list[tuple[str, AnswerOptions, tuple[str, ...] | None]] = [("", OWN_ANSWERS, None)]
    rows += [
        (f", repetition penalty {p:g}", AnswerOptions(repetition_penalty=p), TEXT_TASKS)
        for p in cfg.penalty_rows
    ]
    towered = model.pose_tower is not None
    rows += [
        (f", {REFINED_ROWS[mode]}", AnswerOptions(refine=mode), IMAGE_TASKS)
        for mode in (cfg.refined_rows if towered else ())
    ]
    if cfg.sides_rows:
        rows.append((", keeps the named side", AnswerOptions(keep_sides=True), TEXT_TASKS))
    if cfg.steps_rows:
        rows.append((", each step asked alone", AnswerOptions(steps_alone=True), TEXT_TASKS))
    chat = chat_options(model.pose_prior is not None)
    if cfg.chat_rows:
        rows.append((", as posegpt chat answers", chat, None))
    for switch in cfg.chat_variants:
        turned = not getattr(chat, switch)
        suffix = f", as posegpt chat answers, {switch} {'on' if turned else 'off'}"
        rows.append((suffix, replace(chat, **{switch: turned}), None))
    if cfg.decline_rows and towered:
        rows.append((", declines unmatched", AnswerOptions(decline_unmatched=True), IMAGE_TASKS))
    return rows


def _load_models(specs: list[str]) -> tuple[dict[str, PoseGPT], list[str]]:
    """The PoseGPT models of `--model` (folders, or packaged names such as "default") by
    row name ("posegpt", or "posegpt (SPEC)" when there are several), and why any could not be
    loaded: those are left out with a warning."""
    models, errors = {}, []
    for spec in specs:
        name = "posegpt" if len(specs) == 1 else f"posegpt ({spec})"
        try:
            models[name] = load_chat_model(spec)
        except ModelFileError as err:
            print(f"posegpt bench: warning: no {name} row: {err}", file=sys.stderr, flush=True)
            errors.append(f"{spec}: {err}")
    return models, errors


def _evaluator(
    cfg: BenchConfig,
    pairs: dict[str, TextPosePairs],
    embedder: SentenceEmbedder,
    epochs: int,
    tag: str,
) -> RetrievalModel | None:
    """The retrieval evaluator: loaded from `cfg.retrieval` (main data only), else trained on
    the train pairs (best epoch on val) and saved beside the results; None without pairs."""
    if cfg.retrieval is not None and not tag:
        return RetrievalModel.load(cfg.retrieval, embedder)
    train = pairs.get("train")
    if train is None or len(train) < 2:
        return None
    model = train_retrieval(
        train, pairs.get("val"), epochs, seed=cfg.seed, embedder=embedder, progress=cfg.progress
    )
    model.save(Path(cfg.out) / (f"{RETRIEVAL_DIR}_{tag}" if tag else RETRIEVAL_DIR))
    return model


def _fit_baselines(
    methods: list[Method], data: BenchData, progress: bool
) -> tuple[list[Method], dict[str, dict]]:
    """Fit each baseline on the training data (dropping those with no training data for any
    of their tasks); returns the fitted ones and a summary of each one's training."""
    kept, training = [], {}
    for method in methods:
        if not method.can_fit(data.train):
            continue
        if progress:
            tqdm.write(f"fitting {method.name}")
        start = time.perf_counter()
        method.fit(data.train, progress)
        training[method.name] = {"seconds": round(time.perf_counter() - start, 1)}
        training[method.name].update(_history(method))
        kept.append(method)
    return kept, training


def _real(
    cfg: BenchConfig,
    bench: _Runner,
    embedder: SentenceEmbedder,
    evaluator: RetrievalModel | None,
    mode: Mode,
) -> None:
    """The real test sets the user pointed at."""
    if cfg.real_posescript is not None:
        items, pairs = load_real_posescript(
            cfg.real_posescript, cfg.amass_root, cfg.seed, mode.max_items
        )
        own = _evaluator(cfg, pairs, embedder, mode.retrieval_epochs, "posescript")
        bench.text(
            "real_posescript", items, own or evaluator, "text -> pose, PoseScript test (real)"
        )
    for path in cfg.real_hmr:
        path = Path(path)
        items = load_real_hmr(path, cfg.real_images or path.parent, cfg.seed, mode.max_items)
        joints = bench._joint_set("h36m" if "h36m" in path.stem.lower() else "")
        title = f"image -> pose on crops, {path.stem} (real, {joints.name})"
        bench.image(f"real_{path.stem}", items, title, joints)


def _history(method: Method) -> dict:
    """A summary of a learned baseline's training records (empty for the others)."""
    history = getattr(method, "history", None)
    if not history:
        return {}
    summary = {"epochs": len(history), "final_loss": history[-1]["loss"]}
    val = [r["val_loss"] for r in history if "val_loss" in r]
    if val:
        summary["best_val_loss"] = min(val)
        summary["best_epoch"] = 1 + val.index(min(val))
    return summary


def _asked_in_everyday_words(crops: ImageSet, requests: list[str]) -> ImageSet:
    """The crops, each asked with one of the everyday photo `requests` in turn."""
    prompts = [with_image(requests[i % len(requests)]) for i in range(len(crops))]
    return replace(crops, prompts=prompts)


def _declined(pose_counts: list[int]) -> float:
    """% of replies with no pose, from a chat method's pose counts (a method that keeps none,
    a baseline, always gives a pose)."""
    return 100.0 * pose_counts.count(0) / len(pose_counts) if pose_counts else 0.0


def _meta(cfg: BenchConfig, mode: Mode, body: BodyModel) -> dict:
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    config["real_hmr"] = [str(p) for p in cfg.real_hmr]
    return {
        "command": cfg.command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if cfg.quick else "full",
        "config": config,
        "budget": asdict(mode.budget),
        "max_items": mode.max_items,
        "body_model": body.name,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
    }
