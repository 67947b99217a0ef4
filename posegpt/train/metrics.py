"""The run's metrics: running loss means, one JSON line per logged step (`metrics.jsonl`) and a
loss-curve PNG."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from PIL import Image, ImageDraw

from posegpt.files import atomic_write_text
from posegpt.render.views import save_png

#: Curves drawn on the loss plot: (record key, colour).
CURVES = (("loss", (31, 119, 180)), ("val_loss", (214, 39, 40)))
_MARGIN = 48  # left, for the value labels


class MetricsLog:
    """Append-only JSON lines; each line is flushed, so a crash loses at most the last one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict[str, Any]]:
        """The complete records (a line cut short by a crash is skipped)."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def keep_until(self, step: int) -> None:
        """Drop the records after `step` (logged after the checkpoint a run resumes from)."""
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()


class LossWindow:
    """Running means of the losses between two log records, and the throughput."""

    def __init__(self, accelerator: Accelerator) -> None:
        self.accelerator = accelerator
        self.samples, self.seconds = 0, 0.0  # over all the closed windows
        self._open()

    def _open(self) -> None:
        self.sums = torch.zeros(3, device=self.accelerator.device)
        self.steps = 0.0
        self.since = time.perf_counter()

    def add(self, loss: torch.Tensor, output: Any, weight: float) -> None:
        """Add a micro-batch's weighted `loss` and its model output's `ce_loss` and `pose_loss`,
        counting `weight` steps."""
        losses = torch.stack([loss, output.ce_loss, output.pose_loss]).detach().float()
        self.sums += losses * weight
        self.steps += weight

    def record(self, step: int, samples_per_step: int) -> dict[str, Any]:
        """The window's mean losses (over all processes) and samples/s; opens a new window."""
        means = self.accelerator.reduce(self.sums / self.steps, reduction="mean").tolist()
        seconds = time.perf_counter() - self.since
        samples = round(self.steps) * samples_per_step
        self.samples += samples
        self.seconds += seconds
        self._open()
        loss, ce, pose = means
        return {
            "step": step,
            "loss": loss,
            "ce": ce,
            "pose": pose,
            "samples_per_s": samples / seconds,
        }

    @property
    def samples_per_s(self) -> float:
        """Throughput over all the closed windows."""
        return self.samples / self.seconds if self.seconds else math.nan


def plot_losses(
    records: Sequence[dict[str, Any]], path: Path, size: tuple[int, int] = (640, 400)
) -> None:
    """Draw training and validation loss against step (log scale) to the PNG `path`."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    series = {
        key: [(r["step"], r[key]) for r in records if _positive(r.get(key))] for key, _ in CURVES
    }
    points = [p for s in series.values() for p in s]
    box = (_MARGIN, 28, width - 16, height - 28)
    draw.rectangle(box, outline="black")
    if points:
        steps = [s for s, _ in points]
        logs = [math.log10(v) for _, v in points]
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)
        y0, y1 = min(logs), max(max(logs), min(logs) + 1e-3)

        def to_pixel(step: float, value: float) -> tuple[float, float]:
            fx = (step - x0) / (x1 - x0)
            fy = (math.log10(value) - y0) / (y1 - y0)
            return box[0] + fx * (box[2] - box[0]), box[3] - fy * (box[3] - box[1])

        for key, colour in CURVES:
            xy = [to_pixel(s, v) for s, v in series[key]]
            if len(xy) > 1:
                draw.line(xy, fill=colour, width=2)
            for x, y in xy if len(xy) == 1 else []:
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        draw.text((box[0], box[3] + 6), f"step {x0}", fill="black")
        draw.text((box[2] - 90, box[3] + 6), f"step {x1}", fill="black")
        draw.text((4, box[1]), f"{10**y1:.3g}", fill="black")
        draw.text((4, box[3] - 10), f"{10**y0:.3g}", fill="black")
    draw.text((box[0], 8), "loss (log scale)", fill="black")
    for i, (key, colour) in enumerate(CURVES):
        draw.text((box[2] - 160 + 80 * i, 8), key, fill=colour)
    save_png(path, np.asarray(image))


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0
