"""Tables and figures of the learning study (docs/learning.md) from run directories.

    python bench/learn_report.py table RUNS_DIR --env Hopper-v5 --steps 400000
    python bench/learn_report.py curves RUNS_DIR --env Hopper-v5 --steps 400000 --out PNG
    python bench/learn_report.py diag RUN [RUN ...] --out PNG

Runs are grouped by name: ``<group>_s<seed>`` (as written by bench/learn_runs.py). The value
compared is the deterministic network's return (rho > 0.5, the env's true return, mean of the
run's eval episodes), averaged over the last 3 generations that end at or before ``--steps``
env steps (population and evaluation steps both count).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.train.checkpoint import read_config, read_metrics  # noqa: E402


def _groups(root: Path, env: str) -> dict[str, list[Path]]:
    out = defaultdict(list)
    for d in sorted(root.iterdir()):
        m = re.fullmatch(r"(.+)_s(\d+)", d.name)
        if not m or not (d / "metrics.jsonl").exists():
            continue
        cfg = read_config(d)[0]
        if cfg.env_id == env:
            out[m.group(1)].append(d)
    return dict(out)


def value_at(rows: list[dict], steps: float, window: int = 3,
             key: str = "det_return") -> float | None:
    """Mean ``key`` (deterministic return) of the last ``window`` generations ending by
    ``steps``, or None if the run stopped short of ``steps``."""
    upto = [r[key] for r in rows if r["total_env_steps"] <= steps]
    reached = rows and rows[-1]["total_env_steps"] >= steps * 0.97
    if not upto or not reached:
        return None
    return float(np.mean(upto[-window:]))


def cmd_table(args) -> None:
    print(f"| group | seeds | {args.env} det return at {args.steps / 1e3:.0f}k env steps "
          f"(per seed) | median | population mean return (median) | H(rho) |")
    print("|---|---|---|---|---|---|")
    for g, runs in _groups(args.root, args.env).items():
        vals, pops, ents = [], [], []
        for r in runs:
            rows = read_metrics(r)
            v = value_at(rows, args.steps)
            if v is not None:
                vals.append(v)
                pops.append(value_at(rows, args.steps, key="mean_return"))
                ents.append([x for x in rows if x["total_env_steps"] <= args.steps][-1]
                            ["rho_entropy"])
        if vals:
            print(f"| {g} | {len(vals)} | {', '.join(f'{v:.0f}' for v in vals)} | "
                  f"{np.median(vals):.0f} | {np.median(pops):.0f} | {np.median(ents):.2f} |")


def cmd_curves(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    grid = np.linspace(0, args.steps, 60)
    for g, runs in _groups(args.root, args.env).items():
        if args.only and g not in args.only:
            continue
        ys = []
        for r in runs:
            rows = read_metrics(r)
            if rows[-1]["total_env_steps"] < args.steps * 0.97:
                continue
            x = np.array([row["total_env_steps"] for row in rows], float)
            y = np.array([row["det_return"] for row in rows], float)
            ys.append(np.interp(grid, x, y))
        if not ys:
            continue
        ys = np.array(ys)
        (line,) = ax.plot(grid / 1e3, np.median(ys, 0), label=f"{g} (median of {len(ys)})")
        ax.fill_between(grid / 1e3, ys.min(0), ys.max(0), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("env steps (thousands)")
    ax.set_ylabel("deterministic return (env's true return)")
    ax.set_title(f"{args.env}: EC, pop 256, N = 256 (band: min..max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


def cmd_diag(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for r in args.runs:
        rows = read_metrics(r)
        cfg = read_config(r)[0]
        g = np.array([x["generation"] for x in rows])
        lab = f"{cfg.env_id} lr {cfg.lr:g} seed {cfg.seed}"
        (ln,) = axes[0, 0].plot(g, [x["H_rec"] for x in rows], label=f"{lab}: recurrent")
        c = ln.get_color()
        axes[0, 0].plot(g, [x["H_in"] for x in rows], ls="--", color=c, label=f"{lab}: input")
        axes[0, 0].plot(g, [x["H_out"] for x in rows], ls=":", color=c, label=f"{lab}: output")
        axes[0, 1].plot(g, [x["clip_rec"] for x in rows], color=c, label=lab)
        k = 5
        for key, ls in (("snr_rec", "-"), ("snr_in", "--"), ("snr_out", ":")):
            s = np.convolve([x[key] for x in rows], np.ones(k) / k, mode="same")
            axes[1, 0].plot(g, s, ls=ls, color=c, label=f"{lab}: {key[4:]}")
        axes[1, 1].plot(g, [(x["spk_exc"] + x["spk_inh"]) / 2 for x in rows], color=c,
                        label=f"{lab}: spikes / neuron / substep")
        axes[1, 1].plot(g, [x["act_sat"] for x in rows], ls="--", color=c,
                        label=f"{lab}: actions at +-1")
    axes[0, 0].set_title("entropy of rho per group (bits)")
    axes[0, 1].set_title("fraction of recurrent rho at a clip bound")
    axes[1, 0].set_title("gradient SNR per group (5-generation mean)")
    axes[1, 1].set_title("deployed network: spiking and output saturation")
    axes[1, 1].set_yscale("symlog", linthresh=1e-2)
    for ax in axes.flat:
        ax.set_xlabel("generation")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("table", "curves"):
        p = sub.add_parser(name)
        p.add_argument("root", type=Path)
        p.add_argument("--env", required=True)
        p.add_argument("--steps", type=float, required=True)
        if name == "curves":
            p.add_argument("--out", type=Path, required=True)
            p.add_argument("--only", nargs="*", help="groups to draw (default: all)")
    p = sub.add_parser("diag")
    p.add_argument("runs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    {"table": cmd_table, "curves": cmd_curves, "diag": cmd_diag}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
