"""Retrieval evaluator: offline MiniLM, save/load, and learning on rule-captioned poses."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import numpy as np
import pytest
import roma
import torch

from posegpt.body.skeleton import JOINT_INDEX, NUM_JOINTS
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval.retrieval import (
    CONFIG_FILE,
    RetrievalConfig,
    RetrievalModel,
    TextPosePairs,
    evaluate_retrieval,
    train_retrieval,
)
from posegpt.model.text_embedder import EMBED_DIM, SentenceEmbedder

# Arm states: rotation vector of the left shoulder (the right one mirrors it).
ARMS = {"raised": (0.0, 0.0, 1.2), "lowered": (0.0, 0.0, -1.2), "held forward": (0.0, -1.5, 0.0)}
KNEES = {"bent": 1.6, "straight": 0.0}
TORSO = {"leans forward": 0.5, "stands upright": 0.0}


def rule_pairs(n: int, seed: int) -> TextPosePairs:
    """Random poses with a few discrete limb states and captions that name them."""
    rng = np.random.default_rng(seed)
    rotvec = torch.as_tensor(rng.normal(0.0, 0.05, (n, NUM_JOINTS, 3)), dtype=torch.float32)
    texts = []
    for i in range(n):
        left, right = rng.choice(list(ARMS), 2)
        knee_l, knee_r = rng.choice(list(KNEES), 2)
        torso = rng.choice(list(TORSO))
        rotvec[i, JOINT_INDEX["left_shoulder"]] += torch.tensor(ARMS[left])
        rotvec[i, JOINT_INDEX["right_shoulder"]] -= torch.tensor(ARMS[right]) * torch.tensor(
            [-1.0, 1.0, 1.0]
        )
        rotvec[i, JOINT_INDEX["left_knee"], 0] += KNEES[knee_l]
        rotvec[i, JOINT_INDEX["right_knee"], 0] += KNEES[knee_r]
        rotvec[i, JOINT_INDEX["spine1"], 0] += TORSO[torso]
        rotvec[i, 0, 1] = rng.uniform(-np.pi, np.pi)  # any facing direction
        texts.append(
            [
                f"The person {torso}, the left arm {left} and the right arm {right}. "
                f"The left knee is {knee_l} and the right knee is {knee_r}.",
                f"Left arm {left}, right arm {right}; {knee_l} left leg, {knee_r} right leg.",
            ]
        )
    return TextPosePairs(roma.rotvec_to_rotmat(rotvec), texts)


def _no_network(*args, **kwargs):
    raise OSError("network access attempted")


@pytest.fixture(scope="module")
def embedder() -> Iterator[SentenceEmbedder]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", _no_network)  # any download attempt fails
        model = SentenceEmbedder()
        model.embed(["load the model while offline"])
        yield model


def test_minilm_loads_offline(embedder):
    texts = ["The person raises both arms.", "Someone lifts their arms up.", "A man lies down."]
    emb = embedder.embed([*texts, texts[0]])
    assert emb.shape == (4, EMBED_DIM)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert torch.equal(emb[0], emb[3])
    assert emb[0] @ emb[1] > emb[0] @ emb[2]  # paraphrases are closer than unrelated texts


def test_trained_model_beats_chance_on_held_out_pairs(embedder):
    torch.manual_seed(0)
    train, test = rule_pairs(160, seed=1), rule_pairs(80, seed=2)
    config = RetrievalConfig(embed_dim=64, hidden_dim=128, dropout=0.0)
    model = train_retrieval(
        train, epochs=25, batch_size=40, lr=3e-3, config=config, embedder=embedder, progress=False
    )
    before = evaluate_retrieval(RetrievalModel(config, embedder), test.first_texts(), test.poses)
    after = evaluate_retrieval(model, test.first_texts(), test.poses)
    assert after["t2p_R@5"] > 60.0 and after["p2t_R@5"] > 60.0  # chance: 6 %
    assert after["mean"] > before["mean"] + 15.0
    assert len(model.history) == 25 and model.history[-1]["loss"] < model.history[0]["loss"]


def test_galleries_split_the_pairs(embedder):
    pairs = rule_pairs(50, seed=3)
    model = RetrievalModel(RetrievalConfig(embed_dim=32, hidden_dim=32), embedder)
    result = evaluate_retrieval(model, pairs.first_texts(), pairs.poses, gallery_size=20)
    assert result["n"] == 50 and result["gallery"] == 25  # two galleries of 25
    assert all(0.0 <= result[k] <= 100.0 for k in result if "R@" in k)
    with pytest.raises(InvalidInputError):
        evaluate_retrieval(model, pairs.first_texts(), pairs.poses[:10])


def test_save_load_round_trips_exactly(embedder, tmp_path):
    pairs = rule_pairs(8, seed=4)
    model = RetrievalModel(RetrievalConfig(embed_dim=16, hidden_dim=32), embedder).eval()
    with torch.no_grad():
        model.logit_scale.fill_(2.5)
    model.save(tmp_path / "retrieval")
    loaded = RetrievalModel.load(tmp_path / "retrieval", embedder)
    assert loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    with torch.no_grad():
        assert torch.equal(model.encode_pose(pairs.poses), loaded.encode_pose(pairs.poses))
        texts = pairs.first_texts()
        assert torch.equal(model.encode_text(texts), loaded.encode_text(texts))


def test_load_rejects_bad_files(embedder, tmp_path):
    with pytest.raises(ModelFileError):
        RetrievalModel.load(tmp_path, embedder)
    RetrievalModel(RetrievalConfig(embed_dim=8, hidden_dim=8), embedder).save(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(
        '{"format": "posegpt-retrieval", "version": 1, '
        '"config": {"embed_dim": 8, "hidden_dim": 16}}'
    )
    with pytest.raises(ModelFileError, match="cannot load retrieval weights"):
        RetrievalModel.load(tmp_path, embedder)


def test_cli_trains_on_a_posescript_folder_and_evaluates(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from posegpt.cli.eval import METRICS_FILE, app
    from posegpt.data.formats import write_posescript

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pairs = rule_pairs(60, seed=5)
    texts = dict(enumerate(pairs.texts))
    splits = {"train": list(range(40)), "val": list(range(40, 50)), "test": list(range(50, 60))}
    root = tmp_path / "data" / "text2pose"
    write_posescript(root, pairs.poses, {i: t[0] for i, t in texts.items()}, {}, splits)
    out = tmp_path / "retrieval"
    args = ["--data", str(root.parent), "--out", str(out), "--epochs", "2", "--batch-size", "16"]
    result = CliRunner().invoke(app, ["train-retrieval", *args])
    assert result.exit_code == 0, result.output
    assert "pairs: train 40, val 10, test 10" in result.output
    report = json.loads((out / METRICS_FILE).read_text())
    assert report["pairs"] == {"train": 40, "val": 10, "test": 10}
    assert len(report["history"]) == 2 and report["test"]["n"] == 10
    result = CliRunner().invoke(app, ["retrieval", "--model", str(out), "--data", str(root)])
    assert result.exit_code == 0, result.output
    assert "test (10 pairs): t2p_R@5" in result.output


def test_pairs_are_checked(tmp_path):
    from posegpt.eval.retrieval import read_text_pose_pairs

    pairs = rule_pairs(3, seed=6)
    with pytest.raises(InvalidInputError, match="one text list per pose"):
        TextPosePairs(pairs.poses, pairs.texts[:2])
    with pytest.raises(InvalidInputError, match="at least one text"):
        TextPosePairs(pairs.poses, [["a"], [], ["b"]])
    with pytest.raises(ModelFileError, match="no PoseScript-layout data"):
        read_text_pose_pairs(tmp_path)
