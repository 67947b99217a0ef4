"""`posegpt bench` without --data builds a small synthetic set once and reuses it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.eval import cached_data


def test_built_once_then_reused(tmp_path, monkeypatch, capsys):
    built = []

    def fake_synthesize(config, progress=True):
        built.append(config)
        (config.out / "card.json").write_text(json.dumps({"counts": {}}))
        return {}

    monkeypatch.setenv("POSEGPT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cached_data, "synthesize", fake_synthesize)
    first = cached_data.cached_bench_data(seed=0)
    assert "building a small synthetic set" in capsys.readouterr().err
    second = cached_data.cached_bench_data(seed=0)
    assert "using the small synthetic set" in capsys.readouterr().err
    assert first == second and first.parent == tmp_path and (first / "card.json").is_file()
    assert len(built) == 1 and built[0].text_poses == cached_data.SIZES["text_poses"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_incomplete_build_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEGPT_CACHE_DIR", str(tmp_path))

    def failing(config, progress=True):
        raise KeyboardInterrupt

    monkeypatch.setattr(cached_data, "synthesize", failing)
    with pytest.raises(KeyboardInterrupt):
        cached_data.cached_bench_data()
    assert list(tmp_path.iterdir()) == []


def test_bench_without_data_uses_the_cached_set(tmp_path, monkeypatch):
    import posegpt.eval.bench as bench

    seen = {}
    monkeypatch.setattr(cached_data, "cached_bench_data", lambda seed, progress: tmp_path / "c")

    def stop(cfg):
        seen["data"] = cfg.data
        raise SystemExit(0)

    monkeypatch.setattr(bench, "run_bench", stop)
    result = CliRunner().invoke(app, ["bench", "--quick", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert seen["data"] == tmp_path / "c"
