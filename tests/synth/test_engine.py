import json

import pytest
import torch
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.data.dataset import CROP_KEEP_KEY, TASKS, PoseDataset
from posegpt.data.formats import read_hmr, read_llava, read_posescript
from posegpt.records import POSE_TOKEN
from posegpt.synth.engine import PARTIAL_KEEP
from posegpt.synth.speculative import spg_split

TINY = [
    "--text-poses", "12", "--scenes", "3", "--spg", "8", "--instructions", "12",
    "--pose-tasks", "12", "--image-size", "64", "--crop-size", "48", "--quiet",
]  # fmt: skip
#: Smaller still, without scenes, for the re-run checks.
TINIER = [
    "--text-poses", "4", "--scenes", "0", "--spg", "4", "--instructions", "4",
    "--pose-tasks", "4", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "ds"
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(root), "--seed", "0", *TINY])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    return root


def test_card_counts_match_the_files(dataset):
    card = json.loads((dataset / "card.json").read_text())
    counts = card["counts"]
    text = read_posescript(dataset / "text2pose")
    assert {s: len(ids) for s, ids in text.splits.items()} == counts["text2pose"]
    assert sum(counts["text2pose"].values()) == 12
    for split, n in counts["image2pose"].items():
        if n:
            hmr = read_hmr(dataset / f"image2pose/{split}.npz")
            assert len(hmr) == n
            absent = sum(bool(text) for text in hmr.extras["absent_description"])
            assert counts["rpe"][split] == 5 * n + absent
            assert all((dataset / "images" / name).exists() for name in hmr.imgname)
            assert all((dataset / "images" / name).exists() for name in hmr.extras["crop_imgname"])
    assert len(list((dataset / "images/scenes").rglob("*.png"))) == 3
    for split, n in counts["speculative"].items():
        assert len(read_llava(dataset / f"speculative/{split}.json")) == n
    assert sum(counts["speculative"].values()) == 8
    assert sum(counts["instruction"].values()) == 12
    assert sum(card["families"]["text2pose"].values()) == 12
    assert card["seed"] == 0 and card["command"].startswith("posegpt data synth --out")
    assert "--text-poses 12" in card["command"]
    assert card["speed"]["text_pairs_per_s"] > 0 and card["disk_bytes"]["images"] > 0
    assert "| text2pose |" in (dataset / "README.md").read_text()


def test_partial_crops_change_the_crops_only(dataset, tmp_path):
    """--partial-crops 1 frames every crop from the waist or thighs up and records how much of
    the person each keeps; scenes, poses and texts stay those of the same seed without it."""
    root = tmp_path / "partial"
    args = ["data", "synth", "--out", str(root), "--seed", "0", *TINY, "--partial-crops", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lo, hi = PARTIAL_KEEP
    smaller = []
    for split in ("train", "val", "test"):
        if not (dataset / f"image2pose/{split}.npz").exists():
            continue
        whole, part = (read_hmr(d / f"image2pose/{split}.npz") for d in (dataset, root))
        assert all(lo <= k <= hi for k in part.extras[CROP_KEEP_KEY])
        assert all(k == 1.0 or lo <= k <= hi for k in whole.extras[CROP_KEEP_KEY])
        assert (part.pose == whole.pose).all() and (part.imgname == whole.imgname).all()
        smaller += list(part.scale < whole.scale)
    assert any(smaller)  # crops of part of the person are smaller (where whole ones were whole)
    for name in ("instructions/train.json", "speculative/train.json", "pose_input/train.json"):
        assert (root / name).read_text() == (dataset / name).read_text()


def test_wild_poses_change_the_scene_poses_only(dataset, tmp_path):
    """--wild-poses 1 poses the people of the scenes far from their templates; texts about no
    picture stay those of the same seed without it."""
    root = tmp_path / "wild"
    args = ["data", "synth", "--out", str(root), "--seed", "0", *TINY, "--wild-poses", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    tame, wild = (read_hmr(d / "image2pose/train.npz") for d in (dataset, root))
    assert tame.pose.shape == wild.pose.shape and not (tame.pose == wild.pose).all()
    for name in ("speculative/train.json", "pose_input/train.json", "text2pose"):
        path = root / name
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for f in files:
            assert f.read_text() == (dataset / f.relative_to(root)).read_text()
    assert json.loads((root / "card.json").read_text())["config"]["wild_poses"] == 1.0


def test_dataset_reads_back_every_split(dataset):
    card = json.loads((dataset / "card.json").read_text())
    for split in ("train", "val", "test", "test_seen"):
        data = PoseDataset(dataset, split)
        for task, size in data.sizes.items():
            counted = "text2pose" if task == "pose2text" else task  # the same pairs, read back
            assert size == card["counts"][counted].get(split, 0), (task, split)
        for i in range(len(data)):
            conversation = data[i]
            markers = sum(m.content.count(POSE_TOKEN) for m in conversation.messages)
            assert markers == len(conversation.poses)
            if conversation.image:
                assert (dataset / conversation.image).exists()
    spg = spg_split(0)
    val_situations = {s.name for s in spg["val"].situations}
    for conversation in read_llava(dataset / "speculative/val.json"):
        assert conversation.meta["situation"] in val_situations


def test_rerun_refuses_then_overwrites_identically(tmp_path):
    runner = CliRunner()
    out = str(tmp_path / "ds")
    assert runner.invoke(app, ["data", "synth", "--out", out, *TINIER]).exit_code == 0
    before = (tmp_path / "ds/speculative/train.json").read_text()
    (tmp_path / "ds/keep.txt").write_text("not ours")
    result = runner.invoke(app, ["data", "synth", "--out", out, *TINIER])
    assert result.exit_code != 0 and "--overwrite" in str(result.exception)
    result = runner.invoke(app, ["data", "synth", "--out", out, "--overwrite", *TINIER])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds/speculative/train.json").read_text() == before
    assert (tmp_path / "ds/keep.txt").exists()
    other = runner.invoke(
        app, ["data", "synth", "--out", str(tmp_path / "b"), "--seed", "1", *TINIER]
    )
    assert other.exit_code == 0
    assert (tmp_path / "b/speculative/train.json").read_text() != before


def test_show_prints_samples_and_draws_a_sheet(dataset, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = CliRunner().invoke(
        app, ["data", "show", str(dataset), "--n", "1", "--out", str(sheet), "--size", "64"]
    )
    assert result.exit_code == 0, result.output
    for task in TASKS:
        assert f"== {task}" in result.output
    assert POSE_TOKEN in result.output
    from PIL import Image

    with Image.open(sheet) as image:
        assert image.width == 3 * 64 and image.height == len(TASKS) * 64  # a sample per task


def test_bad_options_give_clean_errors(tmp_path):
    runner = CliRunner()
    out = ["data", "synth", "--out", str(tmp_path)]
    result = runner.invoke(app, [*out, *TINIER, "--val-fraction", "0.85"])
    assert result.exit_code != 0 and "fractions" in str(result.exception)
    result = runner.invoke(app, [*out, *TINIER, "--scenes", "-1"])
    assert result.exit_code != 0 and "scenes" in str(result.exception)
    result = runner.invoke(app, [*out, *TINIER, "--partial-crops", "1.5"])
    assert result.exit_code != 0 and "partial_crops" in str(result.exception)
    result = runner.invoke(app, [*out, *TINIER, "--wild-poses", "-0.1"])
    assert result.exit_code != 0 and "wild_poses" in str(result.exception)
    result = runner.invoke(app, ["data", "show", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "does not exist" in str(result.exception)


def test_another_draw_writes_new_items_with_the_seeds_splits(tmp_path):
    """--draw 1 writes new poses and conversations; every held-out set (SPG situations, the
    items of each split) stays the seed's, so more data never leaks a test set."""
    runner = CliRunner()
    roots = [tmp_path / "d0", tmp_path / "d1"]
    for draw, root in enumerate(roots):
        args = ["data", "synth", "--out", str(root), "--seed", "0", "--draw", str(draw), *TINIER]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    first, second = (json.loads((r / "card.json").read_text()) for r in roots)
    assert first["spg_splits"] == second["spg_splits"]
    assert first["counts"] == second["counts"] and second["config"]["draw"] == 1
    poses = [read_posescript(r / "text2pose") for r in roots]
    assert poses[0].splits == poses[1].splits
    assert not torch.equal(poses[0].pose(0), poses[1].pose(0))
    for name in ("speculative/train.json", "instructions/train.json", "pose_input/train.json"):
        assert (roots[0] / name).read_text() != (roots[1] / name).read_text()
    test_situations = {s.name for s in spg_split(0)["test"].situations}
    for conversation in read_llava(roots[1] / "speculative/test.json"):
        assert conversation.meta["situation"] in test_situations
    result = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "x"), "--draw", "-1"])
    assert result.exit_code != 0 and "draw" in str(result.exception)
