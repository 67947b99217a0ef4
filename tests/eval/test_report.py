"""The benchmark report: column labels, NaN handling, the Markdown tables and the sample figure."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.fake_smpl import write_fake_smpl_npz
from posegpt.eval.report import (
    FIGURE_FILE,
    JSON_FILE,
    LABEL_HEIGHT,
    MARKDOWN_FILE,
    PANEL,
    finite,
    label,
    markdown,
    write_report,
)

IDENTITY = np.eye(3)[None].repeat(24, 0).tolist()


def _results() -> dict:
    return {
        "meta": {
            "mode": "quick",
            "config": {"data": "data/synth"},
            "body_model": "smpl",
            "created": "2026-11-30",
            "seconds": 12,
            "machine": {"platform": "linux"},
            "command": "posegpt bench --quick",
        },
        "methods": ["posegpt", "mean pose"],
        "benchmarks": {
            "text2pose": {
                "title": "Text to pose",
                "n": 5,
                "columns": ["t2p_R@10", "pa_mpjpe"],
                "rows": {
                    "posegpt": {"t2p_R@10": 40.0, "pa_mpjpe": 81.25},
                    "mean pose": {"t2p_R@10": math.nan, "pa_mpjpe": 120.0},
                },
                "reference": {"true poses": {"t2p_R@10": 90.0}},
            }
        },
        "samples": {
            "text2pose": {
                "labels": ["<image>\nArms up."],
                "gt": [IDENTITY],
                "pred": {"posegpt": [IDENTITY]},
                "camera_frame": False,
            }
        },
    }


def test_labels_name_metrics():
    assert label("mpjpe") == "MPJPE" and label("t2p_R@10") == "T2P R@10"
    assert label("pa_mpjpe_behaviour") == "PA-MPJPE behaviour"
    assert label("family_acc") == "right family %"


def test_finite_replaces_nan_and_inf_anywhere():
    value = {"a": [1.0, math.nan, {"b": math.inf}], "c": (2, -math.inf), "d": "x"}
    assert finite(value) == {"a": [1.0, None, {"b": None}], "c": [2, None], "d": "x"}


def test_markdown_tables_summary_and_reproduce_command():
    text = markdown(finite(_results()))
    assert "Reproduce: `posegpt bench --quick`" in text
    assert "| method | text2pose: T2P R@10 | text2pose: PA-MPJPE |" in text
    assert "| posegpt | 40.0 | 81.2 |" in text  # one decimal
    assert "| mean pose | – | 120.0 |" in text  # NaN: the method does not do it
    assert "| *true poses* | 90.0 | – |" in text and "5 items." in text
    assert "## Reference only: the paper's published numbers" in text


@pytest.fixture(scope="module")
def body(tmp_path_factory):
    return load_body_model(write_fake_smpl_npz(tmp_path_factory.mktemp("smpl") / "smpl.npz"))


def test_write_report_writes_json_markdown_and_figure(tmp_path, body):
    paths = write_report(_results(), tmp_path, body)
    assert {p.name for p in paths.values()} == {JSON_FILE, MARKDOWN_FILE, FIGURE_FILE}
    saved = json.loads((tmp_path / JSON_FILE).read_text())
    assert saved["benchmarks"]["text2pose"]["rows"]["mean pose"]["t2p_R@10"] is None
    with Image.open(tmp_path / FIGURE_FILE) as image:
        # one strip: the caption, then the true pose and posegpt's, side by side
        assert image.size == (2 * PANEL, LABEL_HEIGHT + PANEL)


def test_figure_draws_answers_without_a_true_pose_and_says_when_there_is_none(tmp_path, body):
    results = _results()
    results["samples"] = {  # an everyday request: no true pose; one method answered none
        "everyday": {"labels": ["Lie on your back."], "gt": [None], "pred": {"posegpt": [None]}}
    }
    results["samples"]["everyday"]["pred"]["mean pose"] = [IDENTITY]
    write_report(results, tmp_path, body)
    with Image.open(tmp_path / FIGURE_FILE) as image:
        # one strip: the caption, then posegpt's and the mean pose's answers, no truth panel
        assert image.size == (2 * PANEL, LABEL_HEIGHT + PANEL)
        pixels = np.asarray(image.convert("RGB"))[LABEL_HEIGHT:]
    no_pose, posed = pixels[:, :PANEL], pixels[:, PANEL:]
    assert (no_pose < 128).mean() < 0.02  # only its words
    body_pixels = np.abs(posed.astype(int) - posed[0, 0]).sum(-1) > 30  # off the background
    assert body_pixels.mean() > 0.02
