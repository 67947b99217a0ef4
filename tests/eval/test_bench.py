"""`posegpt bench`: every method on every benchmark of a tiny synthetic dataset, and the scoring
rules it relies on."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from posegpt.chat_defaults import DEFAULT_REFINE
from posegpt.cli import app
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval import scoring
from posegpt.eval.baselines import Method
from posegpt.eval.bench import BenchConfig, model_methods
from posegpt.eval.items import ImageSet, LazyImages, TextSet
from posegpt.eval.report import FIGURE_FILE, JSON_FILE, MARKDOWN_FILE
from posegpt.eval.retention import answer_matches, references
from posegpt.eval.scoring import predict_images
from posegpt.model import build_model, load_chat_model, save_pretrained, train_tokenizer
from posegpt.records import Conversation, Message

TINY = [
    "--text-poses", "20", "--scenes", "4", "--spg", "20", "--instructions", "20",
    "--pose-tasks", "150", "--image-size", "80", "--crop-size", "64", "--quiet",
    "--partial-crops", "0.5",
]  # fmt: skip
RPE = {"rpe", "rpe_absent"}  # a picture and a description of someone in it, or not in it
CROPS = {"image2pose", "image2pose_partial"}  # every crop, and those of part of a person
BASELINES = {
    "mean pose": {"text2pose", "spg", "spg_seen", *CROPS, *RPE, "speed", "everyday", "parts"},
    "nearest caption": {"text2pose", "spg", "spg_seen", "speed", "everyday", "parts"},
    "nearest request": {"text2pose", "spg", "spg_seen", "speed", "everyday", "parts"},
    "nearest family": {"text2pose", "spg", "spg_seen", "speed", "everyday", "parts"},
    "text regressor": {"text2pose", "spg", "spg_seen", "speed", "everyday", "parts"},
    "crop regressor": {*CROPS, *RPE, "speed"},
    "crop regressor + largest person": RPE,
    "keypoints as text + fit": {*CROPS, *RPE, "speed"},
    "keypoints as text + fit + largest person": RPE,
    "BlazePose fit": {*CROPS, *RPE, "speed"},
    "BlazePose fit + largest person": RPE,
}
POSEGPT = {
    "text2pose", "spg", "spg_seen", *CROPS, *RPE, "retention", "speed", "everyday", "parts",
    "image2pose_everyday",  # the crops asked in everyday words: methods that chat only
}  # fmt: skip
#: Columns without a value where a method answered no pose (text/pose agreement).
NO_POSE_NO_VALUE = {"agreement", "named"}
POSE_INPUT_BASELINES = {
    "pose2text": {"nearest caption", "rule captioner"},
    "pose_edit": {"copy pose A", "target class mean"},
    "followup": {"repeat the previous pose"},
    "pose_diff": {"nearest pair"},
}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """A tiny dataset, a tiny untrained PoseGPT, and one quick bench run over them."""
    root = tmp_path_factory.mktemp("bench")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "synth", "--out", str(root / "data"), *TINY])
    assert result.exit_code == 0, result.output
    corpus = ["Sure, the SMPL pose is <POSE>.", "The person raises the left arm."] * 20
    torch.manual_seed(0)
    save_pretrained(build_model("tiny", train_tokenizer(corpus, vocab_size=400)), root / "model")
    args = ["bench", "--data", str(root / "data"), "--out", str(root / "out"), "--quick"]
    args += ["--model", str(root / "model"), "--max-items", "4", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return root, result.output


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_quick_writes_every_row_and_column(bench_run):
    root, output = bench_run
    out = root / "out"
    results = json.loads((out / JSON_FILE).read_text())
    assert results["methods"] == ["posegpt", *BASELINES]
    tables = results["benchmarks"]
    assert set(tables) == {
        "text2pose",
        "text2pose_retrieval_split",  # PoseScript's protocol (too few items for 32-pools)
        "spg",
        "spg_seen",
        "image2pose",
        "image2pose_everyday",
        "image2pose_partial",
        "rpe",
        "rpe_absent",
        "retention",
        "speed",
        "everyday",
        "parts",
        *POSE_INPUT_BASELINES,
    }
    for name, baselines in POSE_INPUT_BASELINES.items():  # their own baselines, all scored
        table = tables.pop(name)
        assert set(table["rows"]) == {"posegpt", *baselines}
        assert "ground truth" in table["reference"]
        for method, row in table["rows"].items():
            assert list(row) == table["columns"]
            assert all(v is not None and math.isfinite(v) for v in row.values()), (name, method)
    for name, table in tables.items():
        assert set(table["rows"]) == set(results["methods"])
        for method, row in table["rows"].items():
            assert list(row) == table["columns"]
            supported = POSEGPT if method == "posegpt" else BASELINES[method]
            for column, value in row.items():
                base = name.removesuffix("_retrieval_split")
                if base in supported and column in NO_POSE_NO_VALUE and value is None:
                    assert method == "posegpt"  # the untrained model may answer no pose
                elif base in supported:
                    assert value is not None and math.isfinite(value), (name, method, column)
                else:
                    assert value is None, (name, method, column)
    assert {"t2p_R@10", "p2t_R@20", "pa_mpjpe", "mpjre"} <= set(tables["text2pose"]["columns"])
    assert {f"pa_mpjpe_{k}" for k in ("behaviour", "outfit", "pose", "shape", "summary")} <= set(
        tables["rpe"]["columns"]
    )
    for name in ("text2pose", "spg", "spg_seen"):  # the evaluator's own recall: a reference row
        reference = tables[name]["reference"]["ground truth (retrieval evaluator)"]
        assert 0.0 <= reference["t2p_R@5"] <= 100.0
    for name in ("spg", "spg_seen", "image2pose", "rpe"):  # the family classifier, its ceiling
        assert "family_acc" in tables[name]["columns"]
        reference = tables[name]["reference"]["ground truth (family classifier)"]
        assert 0.0 <= reference["family_acc"] <= 100.0
    assert "family_acc" not in tables["text2pose"]["columns"]  # no families there
    assert (out / "retrieval" / "model.safetensors").exists()
    assert 0.0 <= tables["retention"]["rows"]["posegpt"]["emission"] <= 100.0
    assert 0.0 <= tables["rpe_absent"]["rows"]["posegpt"]["declined"] <= 100.0
    assert tables["rpe_absent"]["rows"]["mean pose"]["declined"] == 0.0  # always gives a pose
    everyday = tables["everyday"]
    assert everyday["n"] == 12  # --max-items 4 per category
    assert everyday["rows"]["mean pose"]["one_pose"] == 100.0  # baselines: one pose for all
    assert everyday["rows"]["mean pose"]["no_pose"] == 0.0
    assert len(everyday["details"]["posegpt"]["items"]) == 12
    shown = results["samples"]["everyday"]  # the figure: a request's answers, no true pose
    assert shown["gt"] == [None] and {"posegpt", "mean pose"} <= set(shown["pred"])
    assert torch.tensor(shown["pred"]["mean pose"][0]).shape == (24, 3, 3)
    assert 1 <= tables["parts"]["n"] <= 4  # --max-items, poses with something to name
    assert 0.0 <= tables["parts"]["reference"]["another test pose (chance)"]["satisfied"] <= 100

    markdown = (out / MARKDOWN_FILE).read_text()
    for heading in ("## Summary", "## Reference only: the paper's published numbers", "RPE"):
        assert heading in markdown
    assert all(f"| {method} |" in markdown for method in results["methods"])
    assert "| *ground truth (retrieval evaluator)* |" in markdown
    assert "## Summary" in output  # the summary is printed too

    with Image.open(out / FIGURE_FILE) as figure:
        assert figure.width >= 160 * 5 and figure.height >= 5 * 160  # 5 benchmarks, >= 5 panels


def test_bench_warns_about_an_unloadable_model_before_any_work(tmp_path):
    args = ["bench", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--model", str(tmp_path / "nope"), "--quick"])
    assert "warning: no posegpt row" in result.output  # said first; then the missing data stops it
    assert isinstance(result.exception, ModelFileError) and "missing" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_retention_scoring_rules():
    assert answer_matches("Yes, it is.", "Yes.")
    assert not answer_matches("No.", "Yes.")
    assert answer_matches("I can see 3 people here.", "There are three people in the image.")
    assert not answer_matches("I can see two people.", "There are three people in the image.")
    assert answer_matches("the man is waving his hand", "The man in red is waving his hand.")
    assert not answer_matches("Hello there!", "The man in red is waving his hand.")
    chat = Conversation(
        [Message("user", "Thanks!"), Message("assistant", "Glad I could help.")],
        meta={"kind": "chat", "topic": "thanks"},
    )
    answers = references(chat)
    assert answers[0] == "Glad I could help." and len(answers) > 1
    assert any(answer_matches("My pleasure.", a) for a in answers)


class CountingMethod(Method):
    """Answers each picture with a pose that encodes how many pictures it was asked about."""

    tasks = ("rpe",)

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence | None = None,
    ) -> torch.Tensor:
        self.calls.append(len(images))
        return torch.eye(3).expand(len(images), 24, 3, 3).clone()


def test_methods_that_ignore_descriptions_answer_once_per_picture():
    pictures = [Image.new("RGB", (4, 4), c) for c in ("red", "blue")]
    items = ImageSet(
        LazyImages([lambda i=i: pictures[i % 2] for i in range(5)]),
        torch.eye(3).expand(5, 24, 3, 3),
        descriptions=["a", "b", "c", "d", "e"],
        groups=["p0", "p1", "p0", "p1", "p0"],
    )
    method = CountingMethod()
    assert predict_images(method, items).shape == (5, 24, 3, 3)
    assert method.calls == [2]


def test_real_test_sets_load_from_their_own_formats(tmp_path):
    from posegpt.body.rotations import identity_pose
    from posegpt.data.formats import HmrData, coco17_to_hmr24, write_hmr, write_posescript
    from posegpt.eval.bench_data import load_real_hmr, load_real_posescript

    Image.new("RGB", (100, 80), "white").save(tmp_path / "frame.png")
    keypoints = torch.zeros(2, 17, 3)
    keypoints[:, 0] = torch.tensor([50.0, 30.0, 1.0])  # the nose, at the box centre
    hmr = HmrData(
        imgname=["frame.png", "frame.png"],
        center=[[50.0, 30.0], [40.0, 40.0]],
        scale=[0.2, 0.3],  # 40- and 60-pixel boxes
        pose=identity_pose(2),
        shape=torch.zeros(2, 10).numpy(),
        part=coco17_to_hmr24(keypoints.numpy()),
    )
    write_hmr(tmp_path / "3dpw_test.npz", hmr)
    crops = load_real_hmr(tmp_path / "3dpw_test.npz", tmp_path)
    assert len(crops) == 2 and crops.images[1].size == (60, 60)
    assert crops.keypoints[0, 0].tolist() == [0.5, 0.5, 1.0]
    assert crops.prompts[0].startswith("<image>")

    # mmpose's Human3.6M layout: bare names, images in SUBJECT/SEQUENCE/ folders
    nested = tmp_path / "h36m" / "S1" / "S1_Directions_1.54138969"
    nested.mkdir(parents=True)
    Image.new("RGB", (100, 80), "white").save(nested / "S1_Directions_1.54138969_000001.jpg")
    hmr.imgname = ["S1_Directions_1.54138969_000001.jpg"] * 2
    write_hmr(tmp_path / "h36m" / "test_h36m.npz", hmr)
    h36m = load_real_hmr(tmp_path / "h36m" / "test_h36m.npz", tmp_path / "h36m")
    assert h36m.images[1].size == (60, 60)

    texts = {i: f"Pose number {i} with the arms down." for i in range(6)}
    splits = {"train": [0, 1, 2], "val": [3], "test": [4, 5]}
    write_posescript(tmp_path / "posescript", identity_pose(6), texts, {}, splits)
    test, pairs = load_real_posescript(tmp_path / "posescript", None)
    assert test.texts == [texts[4], texts[5]] and test.references == test.texts
    assert all(t in p for t, p in zip(test.texts, test.prompts, strict=True))
    assert len(pairs["train"]) == 3


@pytest.mark.slow
def test_bench_compares_models_on_chosen_tasks(bench_run):
    root, _ = bench_run
    model = str(root / "model")
    out = root / "compare"
    args = ["bench", "--data", str(root / "data"), "--out", str(out), "--quick", "--quiet"]
    args += ["--model", model, "--model", "default", "--tasks", "spg,speed", "--max-items", "4"]
    args += ["--retrieval", str(root / "out" / "retrieval")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / JSON_FILE).read_text())
    assert set(results["benchmarks"]) == {"spg", "spg_seen", "speed"}
    text_baselines = [m for m, tasks in BASELINES.items() if "spg" in tasks]
    assert results["methods"] == [f"posegpt ({model})", "posegpt (default)", *text_baselines]
    rows = results["benchmarks"]["spg"]["rows"]
    assert rows[f"posegpt ({model})"]["t2p_R@10"] != rows["posegpt (default)"]["t2p_R@10"] or (
        rows[f"posegpt ({model})"]["pa_mpjpe"] != rows["posegpt (default)"]["pa_mpjpe"]
    )


def _default_bench(
    bench_run, tasks: str, *extra: str, retrieval: bool = True
) -> tuple[list[str], dict]:
    """The CLI arguments and results of a quick bench of the default model on `tasks` (with the
    fixture's retrieval evaluator unless `retrieval` is False)."""
    root, _ = bench_run
    out = root / extra[0].strip("-")
    args = ["bench", "--data", str(root / "data"), "--out", str(out), "--quick", "--quiet"]
    args += ["--model", "default", "--tasks", tasks, "--max-items", "4"]
    args += ["--retrieval", str(root / "out" / "retrieval")] if retrieval else []
    args += extra
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return args, json.loads((out / JSON_FILE).read_text())


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_adds_rows_of_refined_photo_answers(bench_run):
    args, results = _default_bench(
        bench_run, "image2pose,rpe,retention", "--refined-rows", "fit,orient", "--no-baselines"
    )
    refined = ["posegpt, refined to the landmarks", "posegpt, turned to the landmarks"]
    assert results["methods"][:3] == ["posegpt", *refined]
    tables = results["benchmarks"]
    for row in refined:
        assert tables["image2pose"]["rows"][row]["pa_mpjpe"] is not None
        assert tables["rpe"]["rows"][row]["pa_mpjpe"] is not None
        assert not any(tables["retention"]["rows"][row].values())  # photo answers only
        assert tables["rpe_absent"]["rows"][row]["declined"] is None  # the model's replies
    bad = CliRunner().invoke(app, [*args, "--refined-rows", "twist"])
    assert isinstance(bad.exception, InvalidInputError)  # main() prints it as one line
    assert "refine must be one of" in str(bad.exception)


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_adds_rows_decoded_with_a_repetition_penalty(bench_run):
    args, results = _default_bench(
        bench_run, "everyday,image2pose", "--penalty-rows", "1.5", "--no-baselines"
    )
    row = "posegpt, repetition penalty 1.5"
    assert results["methods"][:2] == ["posegpt", row]
    tables = results["benchmarks"]
    assert tables["everyday"]["rows"][row]["pass"] is not None
    assert not any(tables["image2pose"]["rows"][row].values())  # words-only rows
    bad = CliRunner().invoke(app, [*args, "--penalty-rows", "0.5"])
    assert isinstance(bad.exception, InvalidInputError)
    assert "repetition_penalty" in str(bad.exception)


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_adds_a_row_answering_as_chat_does(bench_run):
    _, results = _default_bench(bench_run, "everyday,image2pose", "--chat-rows", "--no-baselines")
    row = "posegpt, as posegpt chat answers"
    assert results["methods"][:2] == ["posegpt", row]
    tables = results["benchmarks"]
    assert tables["everyday"]["rows"][row]["pass"] is not None  # words
    assert tables["image2pose"]["rows"][row]["pa_mpjpe"] is not None  # and photos


def test_chat_rows_answer_as_posegpt_chat_does(tmp_path):
    """`--chat-rows`: a row of each model with chat's defaults: photo answers refined as chat
    refines them (DEFAULT_REFINE with a pose prior, "orient" without; none without a pose
    tower), the named side kept, each step asked alone; words and photos both."""
    body = object()  # passed through to the refinement only
    torch.manual_seed(0)
    tiny = build_model("tiny", train_tokenizer(["Sure, the SMPL pose is <POSE>."] * 20, 400))
    models = {"posegpt (default)": load_chat_model("default"), "posegpt (tiny)": tiny}
    config = BenchConfig(
        data=tmp_path, out=tmp_path, chat_rows=True, chat_variants=["count_from_words"]
    )
    methods = {m.name: m for m in model_methods(models, body, config)}
    counted = "as posegpt chat answers, count_from_words off"  # chat holds the count
    assert list(methods) == [
        "posegpt (default)",
        "posegpt (default), as posegpt chat answers",
        f"posegpt (default), {counted}",
        "posegpt (tiny)",
        "posegpt (tiny), as posegpt chat answers",
        f"posegpt (tiny), {counted}",
    ]
    counted_options = methods[f"posegpt (default), {counted}"].options
    chat_row = methods["posegpt (default), as posegpt chat answers"].options
    assert chat_row.count_from_words and not counted_options.count_from_words
    assert replace(counted_options, count_from_words=chat_row.count_from_words) == chat_row
    default, tiny_chat = (
        methods["posegpt (default), as posegpt chat answers"],
        methods["posegpt (tiny), as posegpt chat answers"],
    )
    assert default.options.chat_kwargs(body)["refine"] == DEFAULT_REFINE
    assert default.options.chat_kwargs(body)["refine_with"] is body
    assert tiny_chat.options.refine == "orient"  # no pose prior to blend with
    for method in (default, tiny_chat):
        assert method.options.keep_sides and method.options.steps_alone and method.chats
        assert method.options.decline_unmatched
        assert set(method.tasks) == set(methods["posegpt (default)"].tasks)
    plain = methods["posegpt (default)"].options.chat_kwargs(body)
    assert not (plain["keep_sides"] or plain["steps_alone"] or plain["refine_with"])


def test_bench_rejects_unknown_chat_switches(tmp_path):
    config = BenchConfig(data=tmp_path, out=tmp_path, chat_variants=["refine"])  # not a switch
    with pytest.raises(InvalidInputError, match="chat switch"):
        model_methods({}, object(), config)


def test_bench_rejects_unknown_tasks(tmp_path):
    args = ["bench", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--tasks", "spg,x"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, InvalidInputError) and "tasks" in str(result.exception)


def test_bench_limits_the_baselines_training_items(tmp_path):
    from posegpt.eval.bench import BenchConfig

    assert BenchConfig(tmp_path, tmp_path, max_train=500).mode.max_train == 500
    assert BenchConfig(tmp_path, tmp_path, quick=True).mode.max_train == 2000
    assert BenchConfig(tmp_path, tmp_path).mode.max_train is None
    with pytest.raises(InvalidInputError, match="max_train"):
        _ = BenchConfig(tmp_path, tmp_path, max_train=1).mode


def test_declined_counts_replies_without_a_pose():
    from posegpt.eval.bench import _declined

    assert _declined([1, 0, 2, 0]) == 50.0
    assert _declined([]) == 0.0  # a method that keeps no counts (a baseline) always gives a pose


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_scores_the_everyday_items_it_is_given(bench_run):
    args, results = _default_bench(
        bench_run, "everyday", "--everyday-items", "dev", "--no-baselines", retrieval=False
    )
    out = Path(args[args.index("--out") + 1])
    details = results["benchmarks"]["everyday"]["details"]["posegpt"]["items"]
    assert len(details) == 12 and all(row["id"].startswith("d") for row in details)
    assert results["meta"]["config"]["everyday_items"].endswith("dev_requests.jsonl")
    assert not (out / "retrieval").exists()  # no task of this run needs the evaluator


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_reads_the_development_split_when_asked(bench_run):
    from posegpt.data.dataset import PoseDataset
    from posegpt.eval.bench_data import load_bench_data

    root, _ = bench_run
    val = PoseDataset(root / "data", "val", 0, ("image2pose",))
    start = val.offsets["image2pose"]
    poses = torch.stack([val[start + i].poses[0] for i in range(val.sizes["image2pose"])])

    def in_val(crops: ImageSet) -> list[bool]:
        return [bool((poses - p).abs().flatten(1).amax(1).lt(1e-6).any()) for p in crops.poses]

    caption = lambda pose, seed: "a pose"  # noqa: E731
    dev = load_bench_data(root / "data", caption, max_items=4, split="val")
    held_out = load_bench_data(root / "data", caption, max_items=4)
    assert all(in_val(dev.crops)) and not any(in_val(held_out.crops))
    assert set(held_out.spg) == {"spg", "spg_seen"}
    assert set(dev.spg) == {"spg"}  # unseen situations: val's own; seen ones have no val wording
    queries = PoseDataset(root / "data", "val", 0, ("speculative",)).items["speculative"]
    assert set(dev.spg["spg"].texts) <= {c.messages[0].content for c in queries}
    with pytest.raises(InvalidInputError, match="split"):
        load_bench_data(root / "data", caption, split="train")
    args, results = _default_bench(bench_run, "image2pose", "--split", "val", "--no-baselines")
    assert results["meta"]["config"]["split"] == "val"
    report = (Path(args[args.index("--out") + 1]) / MARKDOWN_FILE).read_text()
    assert "val split of dataset" in report


@pytest.mark.slow  # the bench_run fixture takes ~45 s
def test_bench_without_baselines_has_the_models_rows_only(bench_run):
    _, results = _default_bench(bench_run, "text2pose,rpe", "--no-baselines")
    assert results["methods"] == ["posegpt"]
    assert results["training"] == {}
    assert results["benchmarks"]["rpe"]["rows"]["posegpt"]["pa_mpjpe"] is not None


class _SlowFirstCall(Method):
    """Answers text requests with the rest pose; its first call costs 10 s of a fake clock
    (`clock`), each later one 1 s."""

    tasks = ("text2pose",)

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.calls = clock, 0

    def predict_text(self, texts: Sequence[str], prompts: Sequence[str]) -> torch.Tensor:
        self.clock[0] += 10.0 if self.calls == 0 else 1.0
        self.calls += 1
        return torch.eye(3).expand(len(texts), 24, 3, 3)


def test_speed_leaves_first_use_untimed(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(scoring.time, "perf_counter", lambda: clock[0])
    texts = [f"pose {i}" for i in range(40)]
    items = TextSet(texts, torch.eye(3).expand(40, 24, 3, 3))
    method = _SlowFirstCall(clock)
    measured = scoring.measure_speed(method, items, None)
    assert measured["ms_per_pose"] == 1000.0  # the 10 s first call is not in it
    assert method.calls == 1 + scoring.SPEED_SINGLE + 1
    assert measured["batch"] == scoring.SPEED_BATCH
