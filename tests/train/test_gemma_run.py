"""A training run of the gemma-3-270m preset on the tiny random Gemma-3 (`gemma_cache`)."""

from __future__ import annotations

import pytest

from posegpt.model import load_pretrained
from posegpt.model.gemma import NOTICE
from posegpt.train.loop import train


class Stop(Exception):
    """Stands for a killed run."""


def stop_at_3(step: int) -> None:
    if step == 3:
        raise Stop


@pytest.mark.parametrize("preset", ["gemma-3-270m", "tiny"], ids=["lora", "tower"])
def test_gemma_run_checkpoints_resumes_and_exports(
    tmp_path, data, make_config, gemma_cache, tiny_gemma_settings, monkeypatch, preset
):
    gemma = "gemma-3-270m"
    model = tiny_gemma_settings if preset == gemma else {"text_encoder": gemma}
    monkeypatch.setenv("POSEGPT_CACHE", str(gemma_cache))
    config = make_config(tmp_path / "run", preset=preset, steps=4, checkpoint_every=2, model=model)
    with pytest.raises(Stop):
        train(config, data, progress=False, on_step=stop_at_3)
    result = train(config, data, resume=True, progress=False)
    assert result.steps == 4
    assert (result.final_dir / NOTICE).is_file()
    loaded = load_pretrained(result.final_dir)
    reply = loaded.chat([{"role": "user", "content": "The person waves. Give the SMPL pose."}])
    assert len(reply.poses) == reply.text.count("<POSE>")
