"""ec-hw plot: runs of one configuration become mean and band; x is env steps or wall-clock."""

import numpy as np
import pytest

from ec_hw.cli import main
from ec_hw.config import CoreConfig, NetConfig, TrainConfig
from ec_hw.train.checkpoint import append_metrics, write_config
from ec_hw.train.plot import group_band, group_runs, load_run

NET = NetConfig(n_neurons=16, obs_dim=4, act_dim=1)


def _run(root, name, slope, gens=5, **cfg):
    """A run folder whose det_return is slope * env steps and whose wall time runs 2x steps."""
    d = root / name
    d.mkdir()
    write_config(d, TrainConfig(env_id="InvertedPendulum-v5", **cfg), NET, CoreConfig())
    for g in range(gens):
        steps = 1000 * (g + 1) + 10 * cfg.get("seed", 0)  # seeds see slightly different steps
        append_metrics(d, {"generation": g, "total_env_steps": steps, "time_s": 2.0 * steps,
                           "det_return": slope * steps, "mean_return": 0.5 * slope * steps})
    return d


def test_seeds_of_one_config_group_and_the_label_names_what_differs(tmp_path):
    runs = [_run(tmp_path, f"ec{s}", 1.0 + s, seed=s, workers=1 + s) for s in range(3)]
    runs.append(_run(tmp_path, "eclr", 1.0, lr=0.1))
    runs.append(_run(tmp_path, "gru", 1.0, algo="es", network="gru", seed=4))
    groups = group_runs([load_run(r) for r in runs])
    assert [g.label for g in groups] == ["EC lr=0.15 3 seeds", "EC lr=0.1 seed 0",
                                         "ES-GRU lr=0.15 seed 4"]
    assert [len(g.runs) for g in groups] == [3, 1, 1]


def test_band_is_mean_and_min_max_or_std_over_seeds_on_the_chosen_axis(tmp_path):
    runs = [_run(tmp_path, f"s{s}", 1.0 + s, seed=s) for s in range(3)]
    (g,) = group_runs([load_run(r) for r in runs])
    x, mean, lo, hi = group_band(g, "steps", "det_return")
    # common range: from the latest first point to the earliest last point (in millions)
    assert x[0] == pytest.approx(1020e-6) and x[-1] == pytest.approx(5000e-6)
    slopes = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(mean, slopes.mean() * x * 1e6, rtol=1e-9)
    np.testing.assert_allclose(lo, x * 1e6, rtol=1e-9)
    np.testing.assert_allclose(hi, 3 * x * 1e6, rtol=1e-9)
    _, m2, lo2, hi2 = group_band(g, "steps", "det_return", band="std")
    np.testing.assert_allclose(hi2 - m2, slopes.std() * x * 1e6, rtol=1e-9)
    np.testing.assert_allclose(m2 - lo2, hi2 - m2, rtol=1e-9)
    xw, mw, _, _ = group_band(g, "wall", "det_return")
    # wall time is 2 s per step here: minutes = 2 * steps / 60
    np.testing.assert_allclose(xw, x * 1e6 * 2 / 60, rtol=1e-9)
    np.testing.assert_allclose(mw, mean, rtol=1e-9)
    (one,) = group_runs([load_run(runs[1])])
    x1, m1, l1, h1 = group_band(one, "steps", "det_return")
    assert len(x1) == 5 and np.array_equal(m1, l1) and np.array_equal(m1, h1)


def test_plot_writes_a_png_for_either_axis(tmp_path, capsys):
    runs = [str(_run(tmp_path, f"s{s}", 1.0 + s, seed=s)) for s in range(2)]
    for x in ("steps", "wall"):
        out = tmp_path / f"{x}.png"
        assert main(["plot", *runs, "--x", x, "--band", "std", "--out", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _err_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_unusable_folders_are_one_line_errors(tmp_path, capsys):
    good = str(_run(tmp_path, "good", 1.0))
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("hello")
    empty = tmp_path / "empty"
    empty.mkdir()
    write_config(empty, TrainConfig(), NET, CoreConfig())
    (tmp_path / "afile").write_text("x")
    for bad, needle in ((tmp_path / "missing", "does not exist"),
                        (tmp_path / "foreign", "is not a run directory"),
                        (empty, "has no metrics yet"),
                        (tmp_path / "afile", "is not a run directory")):
        assert main(["plot", good, str(bad), "--out", str(tmp_path / "p.png")]) == 2
        assert needle in _err_line(capsys)
    assert not (tmp_path / "p.png").exists()


def test_compare_runs_reads_groups_at_equal_steps_and_wall_clock(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("compare_runs",
                                                  root / "bench" / "compare_runs.py")
    cr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cr)
    runs = [_run(tmp_path, f"s{s}", 1.0 + s, seed=s) for s in range(2)]
    runs.append(_run(tmp_path, "gru", 4.0, gens=3, algo="es", network="gru"))
    res = cr.main([*map(str, runs), "--json", str(tmp_path / "t.json")])
    assert res["steps"] == 3000  # the most every run reached
    ec, gru = res["rows"]
    assert ec["det_at_steps"]["values"] == pytest.approx([3000.0, 6000.0])
    assert gru["det_at_steps"]["mean"] == pytest.approx(12000.0)
    assert ec["minutes_to_steps"]["values"] == pytest.approx([100.0, 100.0])  # 2 s per step
    assert res["minutes"] == pytest.approx(100.0) and gru["det_at_minutes"]["mean"] == 12000.0
    assert "| ES-GRU seed 0 | 12000 |" in capsys.readouterr().out
