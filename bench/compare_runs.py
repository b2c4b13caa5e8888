"""Compare runs at equal env steps and at equal wall-clock time: one markdown table.

Run ``python bench/compare_runs.py RUN [RUN ...] [--steps N] [--minutes M] [--json FILE]``.
Runs are grouped as ``ec-hw plot`` groups them (same settings except the seed). For every group
it prints, over seeds (mean [min, max]):

* the deterministic network's return (rho > 0.5 / the ES center, the run's eval episodes)
  and the population mean return at ``N`` env steps (default: the most every run reached),
  linearly interpolated between generations, and the best deterministic return up to ``N``;
* the deterministic return at ``M`` minutes of training (default: the least any run took);
* wall-clock minutes to ``N`` env steps and the env steps per second that implies.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="run directories")
    p.add_argument("--steps", type=float, help="env steps to compare at (default: common)")
    p.add_argument("--minutes", type=float, help="wall-clock minutes to compare at")
    p.add_argument("--json", type=Path, help="also write the table's numbers as JSON")
    return p.parse_args(argv)


def _at(curve, x: str, y: str, at: float) -> float:
    sx, sy = curve.series(x, y)
    if not sx.size or at > sx[-1] * (1 + 1e-9):
        return float("nan")
    return float(np.interp(at, sx, sy))


def _best(curve, y: str, steps_m: float) -> float:
    """Best value of the generations up to ``steps_m`` and of the interpolated one at it."""
    sx, sy = curve.series("steps", y)
    sel = list(sy[sx <= steps_m * (1 + 1e-9)]) + [_at(curve, "steps", y, steps_m)]
    sel = [v for v in sel if v == v]
    return float(max(sel)) if sel else float("nan")


def _stat(v: list[float]) -> dict:
    a = np.array(v, np.float64)
    return {"mean": float(np.mean(a)), "min": float(np.min(a)), "max": float(np.max(a)),
            "values": [float(x) for x in a]}


def _fmt(s: dict, nd: int = 0) -> str:
    if len(s["values"]) == 1:
        return f"{s['mean']:.{nd}f}"
    return f"{s['mean']:.{nd}f} [{s['min']:.{nd}f}, {s['max']:.{nd}f}]"


def main(argv=None) -> dict:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ec_hw import EcHwError
    from ec_hw.train.plot import group_runs, load_run

    try:
        curves = [load_run(r) for r in args.runs]
    except EcHwError as exc:
        raise SystemExit(f"compare_runs: {exc}") from None
    groups = group_runs(curves)
    last_steps = [c.series("steps", "det_return")[0][-1] for c in curves]
    last_min = [c.series("wall", "det_return")[0][-1] for c in curves]
    steps_m = args.steps / 1e6 if args.steps else min(last_steps)
    minutes = args.minutes if args.minutes else min(last_min)
    rows = []
    for g in groups:
        wall_to_n = [_at(c, "steps", "time_s", steps_m) / 60 for c in g.runs]
        rows.append({
            "label": g.label, "seeds": sorted(c.cfg.seed for c in g.runs),
            "det_at_steps": _stat([_at(c, "steps", "det_return", steps_m) for c in g.runs]),
            "best_det_to_steps": _stat([_best(c, "det_return", steps_m) for c in g.runs]),
            "mean_at_steps": _stat([_at(c, "steps", "mean_return", steps_m) for c in g.runs]),
            "det_at_minutes": _stat([_at(c, "wall", "det_return", minutes) for c in g.runs]),
            "minutes_to_steps": _stat(wall_to_n),
            "steps_per_s": _stat([steps_m * 1e6 / (m * 60) for m in wall_to_n]),
        })
    res = {"steps": steps_m * 1e6, "minutes": minutes, "rows": rows,
           "runs": [str(c.path) for c in curves]}
    n = f"{steps_m * 1e6:,.0f}"
    print(f"| method | deployed return at {n} env steps | best deployed return to {n} "
          f"| population mean at {n} | deployed return at {minutes:.1f} min "
          f"| minutes to {n} steps | env steps/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {_fmt(r['det_at_steps'])} | {_fmt(r['best_det_to_steps'])} "
              f"| {_fmt(r['mean_at_steps'])} | {_fmt(r['det_at_minutes'])} "
              f"| {_fmt(r['minutes_to_steps'], 1)} | {_fmt(r['steps_per_s'])} |")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
