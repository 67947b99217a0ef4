"""Benchmark results -> files: `results.json`, `results.md` (one table per benchmark, rows =
methods, columns = metrics, and the paper's numbers in a separate reference-only section) and
`samples.png` (each benchmark's first test item: the true pose, where it has one, beside every
method's)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from posegpt.body.base import BodyModel
from posegpt.files import atomic_write_text
from posegpt.records import IMAGE_TOKEN
from posegpt.render.views import PALETTE, render_pose_views, save_png

JSON_FILE, MARKDOWN_FILE, FIGURE_FILE = "results.json", "results.md", "samples.png"
PANEL, LABEL_HEIGHT = 160, 16

#: The paper's published numbers (PoseGPT/ChatPose, CVPR 2024; LLaVA-1.5-13B, 8xA100, real
#: data, SMPL): for reference only, never comparable with a run of this benchmark.
PAPER_NUMBERS: tuple[dict, ...] = (
    {
        "benchmark": "image -> pose, 3DPW",
        "metric": "PA-MPJPE (mm)",
        "values": {"PoseGPT": 81.9, "HMR 2.0": 58.4},
    },
    {
        "benchmark": "RPE, averaged over description kinds",
        "metric": "PA-MPJPE (mm)",
        "values": {"PoseGPT": 101.8, "LLaVA + PoseScript": 186.8, "HMR 2.0": 105.7},
    },
    {
        "benchmark": "SPG",
        "metric": "T2P R@5 / R@10 / R@20",
        "values": {"PoseGPT": "3.5 / 5.8 / 11.0", "PoseScript": "1.7 / 3.2 / 5.5"},
    },
)

LABELS = {
    "mean": "mean R",
    "mpjpe": "MPJPE",
    "pa_mpjpe": "PA-MPJPE",
    "mpjre": "MPJRE",
    "accuracy": "accuracy %",
    "family_acc": "right family %",
    "exact": "exact %",
    "emission_asked": "one <POSE> when asked %",
    "emission_other": "no <POSE> otherwise %",
    "emission": "right <POSE> count %",
    "ms_per_pose": "ms / pose (one at a time)",
    "poses_per_s": "poses / s (batched)",
    "batch": "batch",
    "pass": "pass %",
    "pass_request": "pass % (one pose)",
    "pass_multi": "pass % (several poses)",
    "pass_other": "pass % (no pose wanted)",
    "one_pose": "exactly one pose %",
    "no_pose": "no pose when none wanted %",
    "declined": "answered with no pose %",
    "multi_count": "right count, several poses %",
    "two_pose": "two poses when two asked %",
    "multi_distinct": "several poses, all different %",
    "agreement": "text/pose agree %",
    "named": "words name a family %",
    "bleu4": "BLEU-4",
    "rougeL": "ROUGE-L",
    "meteor": "METEOR",
    "regen_mpjpe": "regenerated MPJPE",
    "regen_pa_mpjpe": "regenerated PA-MPJPE",
    "follows": "follows the instruction %",
    "edit_turns": "all edit turns %",
    "chains": "whole chains %",
    "satisfied": "clauses satisfied %",
}
#: Headline columns of the summary table: (benchmark, metric).
SUMMARY = (
    ("text2pose", "t2p_R@10"),
    ("text2pose", "pa_mpjpe"),
    ("spg", "t2p_R@10"),
    ("spg", "family_acc"),
    ("spg_seen", "t2p_R@10"),
    ("spg_seen", "family_acc"),
    ("image2pose", "pa_mpjpe"),
    ("image2pose", "family_acc"),
    ("image2pose_everyday", "declined"),
    ("image2pose_partial", "pa_mpjpe"),
    ("rpe", "pa_mpjpe"),
    ("rpe", "family_acc"),
    ("rpe", "right_person"),
    ("rpe_absent", "declined"),
    ("retention", "accuracy"),
    ("retention", "emission"),
    ("everyday", "pass"),
    ("everyday", "agreement"),
    ("parts", "satisfied"),
    ("speed", "ms_per_pose"),
    ("pose2text", "R@1"),
    ("pose_edit", "pa_mpjpe"),
    ("followup", "edit_turns"),
    ("pose_diff", "R@1"),
)
UNITS = "MPJPE and PA-MPJPE in mm, MPJRE = mean joint rotation error in radians x 100, R@K in %."


def label(metric: str) -> str:
    """A column header for a metric key."""
    if metric in LABELS:
        return LABELS[metric]
    if metric.startswith("R@"):
        return f"R-precision {metric}"
    if metric.startswith("turn") and metric[4:].isdigit():
        return f"turn {metric[4:]} %"
    if "_R@" in metric:
        direction, k = metric.split("_", 1)
        return f"{direction.upper()} {k}"
    base, _, kind = metric.rpartition("_")
    return f"{LABELS.get(base, base)} {kind}"


def finite(value: object) -> object:
    """`value` with NaN / infinite floats (anywhere inside) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write_report(results: dict, out: str | os.PathLike, body: BodyModel) -> dict[str, Path]:
    """Write the JSON, Markdown and PNG files into `out`; returns their paths by kind."""
    out = Path(out)
    paths = {"json": out / JSON_FILE, "markdown": out / MARKDOWN_FILE, "figure": out / FIGURE_FILE}
    results = finite(results)
    atomic_write_text(paths["json"], json.dumps(results, indent=2, allow_nan=False))
    atomic_write_text(paths["markdown"], markdown(results))
    save_png(paths["figure"], figure(results, body))
    return paths


def _cell(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def markdown(results: dict) -> str:
    """The results as Markdown."""
    meta, tables, methods = results["meta"], results["benchmarks"], results["methods"]
    lines = [
        "# posegpt benchmark",
        "",
        f"{meta['mode']} mode, {meta['config'].get('split', 'test')} split of dataset "
        f"`{meta['config']['data']}`, body model "
        f"{meta['body_model']}, {meta['created']}, {meta.get('seconds', '?')} s on "
        f"{meta['machine']['platform']}.",
        "",
        f"Reproduce: `{meta['command'] or 'posegpt bench'}`",
        "",
        UNITS + " '–': the method does not do this task.",
        "",
        "## Summary",
        "",
    ]
    summary = [(b, m) for b, m in SUMMARY if b in tables and m in tables[b]["columns"]]
    header = ["method"] + [f"{b}: {label(m)}" for b, m in summary]
    rows = [
        [name] + [_cell(tables[b]["rows"].get(name, {}).get(m)) for b, m in summary]
        for name in methods
    ]
    lines += _table(header, rows)
    for number, table in enumerate(tables.values(), start=1):
        lines += ["", f"## {number}. {table['title']}", ""]
        if table["n"]:
            lines += [f"{table['n']} items.", ""]
        names = [m for m in methods if m in table["rows"]]
        names += [m for m in table["rows"] if m not in names]  # a benchmark's own baselines
        rows = [[m] + [_cell(table["rows"][m].get(c)) for c in table["columns"]] for m in names]
        rows += [
            [f"*{ref}*"] + [_cell(values.get(c)) for c in table["columns"]]
            for ref, values in table["reference"].items()
        ]
        lines += _table(["method"] + [label(c) for c in table["columns"]], rows)
    lines += [
        "",
        "## Reference only: the paper's published numbers",
        "",
        "PoseGPT (ChatPose, CVPR 2024): LLaVA-1.5-13B fine-tuned on 8 A100s, real data (3DPW, "
        "PoseScript, their RPE and SPG sets), the SMPL body model. Different data, models and "
        "body model: these numbers cannot be compared with the tables above.",
        "",
    ]
    rows = [
        [p["benchmark"], p["metric"], "; ".join(f"{k} {v}" for k, v in p["values"].items())]
        for p in results.get("paper", PAPER_NUMBERS)
    ]
    lines += _table(["benchmark", "metric", "published"], rows)
    protocol = results.get("protocol")
    if protocol:
        lines += ["", "## Protocol", "", protocol.strip()]
    return "\n".join(lines) + "\n"


def figure(results: dict, body: BodyModel) -> np.ndarray:
    """One strip per benchmark sample: its label, then the true pose and each method's."""
    strips = []
    for name, sample in results["samples"].items():
        for item, text in enumerate(sample["labels"]):
            truth = sample["gt"][item]
            panels = [_panel("ground truth", truth, body, True)] if truth is not None else []
            panels += [
                _panel(m, sample["pred"][m][item], body, False)
                for m in results["methods"]
                if m in sample["pred"]
            ]
            strip = np.concatenate(panels, axis=1)
            caption = Image.new("RGB", (strip.shape[1], LABEL_HEIGHT), (255, 255, 255))
            words = " ".join(text.replace(IMAGE_TOKEN, " ").split())
            ImageDraw.Draw(caption).text((3, 2), f"{name}: {words}"[:200], fill=(0, 0, 0))
            strips.append(np.concatenate([np.asarray(caption), strip], axis=0))
    if not strips:
        return np.full((LABEL_HEIGHT, PANEL, 3), 255, dtype=np.uint8)
    width = max(s.shape[1] for s in strips)
    padded = [
        np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips
    ]
    return np.concatenate(padded, axis=0)


@torch.no_grad()
def _panel(title: str, pose: list | None, body: BodyModel, truth: bool) -> np.ndarray:
    """A front view of `pose` (POSE_FRAME for every task) titled `title`; a blank panel saying
    so for an answer with no pose (None)."""
    if pose is None:
        image = Image.new("RGB", (PANEL, PANEL), (255, 255, 255))
        ImageDraw.Draw(image).text((3, PANEL // 2), "(no pose)", fill=(0, 0, 0))
    else:
        vertices = body(torch.tensor(pose, dtype=torch.float32)[None]).vertices[0]
        color = PALETTE[1] if truth else PALETTE[0]
        image = Image.fromarray(render_pose_views(vertices, body.faces, PANEL, ("front",), color))
    ImageDraw.Draw(image).text((3, 2), title[:28], fill=(0, 0, 0))
    return np.asarray(image)
