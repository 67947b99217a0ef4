from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from posegpt.body.io import load_mesh
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.chat_defaults import COUNT_FROM_WORDS, DEFAULT_REFINE, AnswerOptions
from posegpt.cli import app
from posegpt.cli.serve import _engine
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.model.io import load_pretrained, save_pretrained

runner = CliRunner()


def test_one_shot_writes_answer_and_pose_files(model_dir, tmp_path, tiny):
    out = tmp_path / "answer"
    result = runner.invoke(
        app, ["chat", "--model", str(model_dir), "--prompt", tiny.POSE_REQUEST, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert tiny.POSE_ANSWER in result.output
    answer = json.loads((out / "answer.json").read_text())
    assert answer["text"] == tiny.POSE_ANSWER and len(answer["poses"]) == 1
    pose = answer["poses"][0]
    assert pose["files"] == {"npz": "pose_0.npz", "glb": "pose_0.glb", "png": "pose_0.png"}
    with np.load(out / "pose_0.npz") as npz:
        assert npz["pose"].shape == (72,) and npz["rotmat"].shape == (24, 3, 3)
        assert np.allclose(npz["pose"], pose["axis_angle"], atol=1e-6)
        assert np.allclose(npz["rotmat"], pose["rotmat"], atol=1e-6)
    assert len(load_mesh(out / "pose_0.glb").vertices) > 1000
    with Image.open(out / "pose_0.png") as picture:
        assert picture.width == 2 * picture.height


def test_one_shot_with_photo(model_dir, tmp_path, tiny):
    tiny.photo().save(tmp_path / "photo.png")
    out = tmp_path / "answer"
    args = ["chat", "--model", str(model_dir), "--prompt", tiny.PHOTO_QUESTION]
    result = runner.invoke(app, [*args, "--image", str(tmp_path / "photo.png"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads((out / "answer.json").read_text())["poses"]) == 1


def test_default_refinement_blends_only_for_a_model_with_a_pose_prior(model_dir, tmp_path):
    """With no --refine, chat and serve blend photo answers with the BlazePose fit where the
    model carries a pose prior, and turn them (`orient`) where it does not; 'none' keeps them."""
    plain = load_pretrained(model_dir)
    assert plain.pose_prior is None
    torch.manual_seed(0)
    plain.pose_prior = GaussianPosePrior.fit(axis_angle_to_rotmat(torch.randn(64, 24, 3) * 0.3))
    with_prior = save_pretrained(plain, tmp_path / "with-prior")
    cases = ((model_dir, None, "orient"), (with_prior, None, DEFAULT_REFINE))
    for folder, refine, expected in (*cases, (with_prior, "none", None)):
        options = AnswerOptions(refine=refine)
        engine = _engine(str(folder), None, tmp_path / "out", 16, 0.0, 0, options)
        assert engine.options.refine == expected


def test_chat_asks_each_step_alone_and_declines_unmatched_unless_told_not_to(
    model_dir, tmp_path, monkeypatch
):
    import posegpt.cli.serve as serve

    engines = []

    def engine(*args, **kwargs):
        engines.append(_engine(*args, **kwargs))
        return engines[-1]

    monkeypatch.setattr(serve, "_engine", engine)
    args = ["chat", "--model", str(model_dir), "--prompt", "Sit down, then stand up."]
    flags = ([], ["--steps-together"], ["--always-pose"], ["--count-from-words"], ["--any-count"])
    for flag in flags:
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "out"), *flag])
        assert result.exit_code == 0, result.output
    assert [e.options.steps_alone for e in engines] == [True, False, True, True, True]
    assert [e.options.decline_unmatched for e in engines] == [True, True, False, True, True]
    counted = [e.options.count_from_words for e in engines]
    assert counted == [COUNT_FROM_WORDS] * 3 + [True, False]
    assert all(e.options.keep_sides for e in engines)


def test_one_shot_errors_are_posegpt_errors(model_dir, tmp_path):
    missing = runner.invoke(
        app, ["chat", "--model", str(tmp_path), "-p", "hi", "-o", str(tmp_path)]
    )
    assert isinstance(missing.exception, ModelFileError)  # main() prints it as one line
    empty = runner.invoke(app, ["chat", "--model", str(model_dir), "-p", " ", "-o", str(tmp_path)])
    assert isinstance(empty.exception, InvalidInputError)
    strong = ["--repetition-penalty", "9", "-o", str(tmp_path)]
    too_strong = runner.invoke(app, ["chat", "--model", str(model_dir), "-p", "hi", *strong])
    assert isinstance(too_strong.exception, InvalidInputError)
    assert not (tmp_path / "answer.json").exists()


def test_interactive_session(model_dir, tmp_path, tiny):
    tiny.photo().save(tmp_path / "photo.png")
    out = tmp_path / "chat"
    lines = [
        tiny.GREETING,
        "/image /nonexistent.png",  # refused, the session goes on
        f"/image {tmp_path / 'photo.png'}",
        tiny.PHOTO_QUESTION,
        tiny.POSE_REQUEST,
        "/save",
        "/frobnicate",
        "",
        "/reset",
        tiny.POSE_REQUEST,
        f"/save {tmp_path / 'after_reset.json'}",
        "/quit",
        "never read",
    ]
    result = runner.invoke(
        app, ["chat", "--model", str(model_dir), "--out", str(out)], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert f"posegpt> {tiny.GREETING_ANSWER}" in result.output
    assert "posegpt: error: cannot open the image" in result.output
    assert "unknown command /frobnicate" in result.output
    saved = json.loads((out / "conversation.json").read_text())["turns"]
    assert [turn["prompt"] for turn in saved] == [
        tiny.GREETING,
        tiny.PHOTO_QUESTION,
        tiny.POSE_REQUEST,
    ]
    assert saved[1]["text"] == "<POSE>" and saved[1]["poses"][0]["files"]["npz"] == "pose_0.npz"
    after = json.loads((tmp_path / "after_reset.json").read_text())["turns"]
    assert [turn["prompt"] for turn in after] == [tiny.POSE_REQUEST]
    assert after[0]["text"] == tiny.POSE_ANSWER
    numbers = sorted(int(p.stem.split("_")[1]) for p in out.glob("pose_*.npz"))
    assert numbers == list(range(len(numbers))) and len(numbers) >= 3  # none overwritten


def test_interactive_chat_loads_everything_before_the_first_prompt(
    model_dir, tmp_path, monkeypatch
):
    """The prompt appears only once the model is loaded and warmed up (with a spinner)."""
    import builtins

    from posegpt.serve.engine import ChatEngine

    events = []
    warm_up = ChatEngine.warm_up

    def recorded_warm_up(self) -> None:
        warm_up(self)
        events.append("warm_up")

    def recorded_input(prompt: str = "") -> str:
        events.append("prompt")
        raise EOFError

    monkeypatch.setattr(ChatEngine, "warm_up", recorded_warm_up)
    monkeypatch.setattr(builtins, "input", recorded_input)
    result = runner.invoke(app, ["chat", "--model", str(model_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert events == ["warm_up", "prompt"]
    assert "loading the model" in result.output


def test_warm_up_loads_the_text_encoder(tmp_path, body):
    """A MiniLM model's encoder is loaded by warm_up, not by the user's first message."""
    from posegpt.model import build_model, get_config, train_tokenizer
    from posegpt.model.text_embedder import load_minilm
    from posegpt.serve.engine import ChatEngine

    tokenizer = train_tokenizer(["hello there, give me the pose <POSE>"] * 20, vocab_size=300)
    model = build_model(get_config("tiny", text_encoder="minilm"), tokenizer)
    engine = ChatEngine(model, body, tmp_path)
    load_minilm.cache_clear()
    engine.warm_up()
    assert load_minilm.cache_info().currsize == 1
    assert not any(tmp_path.iterdir())  # nothing written


def test_warm_up_embeds_the_known_situations_when_answers_use_them(tmp_path, body):
    from posegpt.model import build_model, get_config, train_tokenizer
    from posegpt.model.situations import KnownSituations
    from posegpt.serve.engine import ChatEngine

    tokenizer = train_tokenizer(["hello there, give me the pose <POSE>"] * 20, vocab_size=300)
    model = build_model(get_config("tiny", text_encoder="minilm"), tokenizer)
    for options in (
        AnswerOptions(),
        AnswerOptions(route_situations=True),
        AnswerOptions(nearest_family=True),
    ):
        model.situations = KnownSituations({"rowing": "rowing"}, ["proposing"], frozenset(), ["So"])
        ChatEngine(model, body, tmp_path, options=options).warm_up()

        def unused(texts: list[str]):
            raise AssertionError("embedded again")

        if options != AnswerOptions():  # kept: the first answer using them embeds nothing
            known, families = model.situations.embedded(unused)
            assert known.shape[0] == 1 and families.shape[0] == 1
        else:
            with pytest.raises(AssertionError, match="embedded again"):
                model.situations.embedded(unused)


def test_small_models_answer_on_one_thread(model_dir, monkeypatch):
    """A small model runs on one CPU thread (on 2 busy cores, 2 threads made a reply ~40x
    slower); OMP_NUM_THREADS, when set, is left to decide."""
    import torch

    from posegpt.cli.serve import _load_model

    threads = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        torch.set_num_threads(2)
        _load_model(str(model_dir))
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        torch.set_num_threads(2)
        _load_model(str(model_dir))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_photo_answers_are_blended_with_the_landmarks_by_default(tmp_path):
    """The packaged default carries a pose prior, so its photo answers are refined by
    DEFAULT_REFINE; `orient` turns the answer and keeps its pose; `none` keeps the answer."""
    photo = Path(__file__).resolve().parents[2] / "docs/examples/cameraman.png"
    args = ["chat", "-p", "What pose is the man with the camera in?", "--image", str(photo)]
    rotmats = {}
    for mode in ("default", DEFAULT_REFINE, "orient", "none"):
        extra = [] if mode == "default" else ["--refine", mode]
        result = runner.invoke(app, [*args, *extra, "-o", str(tmp_path / mode)])
        assert result.exit_code == 0, result.output
        with np.load(tmp_path / mode / "pose_0.npz") as npz:
            rotmats[mode] = npz["rotmat"]
    assert np.allclose(rotmats["default"], rotmats[DEFAULT_REFINE], atol=1e-6)
    assert np.allclose(rotmats["orient"][1:], rotmats["none"][1:], atol=1e-5)  # the same pose
    assert not np.allclose(rotmats["orient"][0], rotmats["none"][0], atol=1e-2)  # turned
    assert not np.allclose(rotmats["default"][1:], rotmats["orient"][1:], atol=1e-2)  # blended
    bad = runner.invoke(app, [*args, "--refine", "twist", "-o", str(tmp_path / "bad")])
    assert isinstance(bad.exception, InvalidInputError)
