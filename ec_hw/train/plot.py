"""Learning curves of run directories (matplotlib, no display needed).

Runs whose settings differ only in the seed (and in settings that do not change results:
generations, workers, cluster, sampling) form one group, drawn as the mean over seeds with a
band (min-max or +-1 std); a group of one run is its own curve. The x-axis is env steps
(members' and deterministic evaluations', as ``total_env_steps`` counts them) or wall-clock
time; seeds are interpolated onto a common grid over the range every run of the group covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import EcHwError
from ..config import TrainConfig, config_to_dict
from .checkpoint import CheckpointError, read_config, read_metrics

__all__ = ["RunCurve", "RunGroup", "load_run", "group_runs", "group_band", "plot_runs",
           "X_AXES", "BANDS"]

X_AXES = {"steps": ("total_env_steps", 1e-6, "env steps (millions)"),
          "wall": ("time_s", 1 / 60, "wall-clock training time (minutes)")}
"""``--x`` choice -> (metrics key, scale, axis label)."""
BANDS = ("minmax", "std")
_SAME_RESULTS = {"seed", "generations", "workers", "cluster", "sampling"}
"""TrainConfig fields that do not make runs a different configuration."""


@dataclass
class RunCurve:
    """One run's metrics as arrays."""

    path: Path
    cfg: TrainConfig
    key: tuple
    """Everything that defines the configuration except the seed (see module docstring)."""
    rows: list[dict]

    def series(self, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the rows that have ``y``; ``x`` is ``steps`` or ``wall``."""
        xk, scale, _ = X_AXES[x]
        pts = [(r[xk] * scale, r[y]) for r in self.rows
               if isinstance(r.get(xk), (int, float)) and isinstance(r.get(y), (int, float))]
        if not pts:
            return np.zeros(0), np.zeros(0)
        a = np.array(pts, np.float64)
        return a[:, 0], a[:, 1]


@dataclass
class RunGroup:
    """Runs of one configuration (several seeds) and its legend label."""

    runs: list[RunCurve]
    label: str


def load_run(path: Path) -> RunCurve:
    """Read a run directory; one-line :class:`CheckpointError` if it is not a usable run."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a run directory (a file, not a folder)")
    cfg, net, core, _ = read_config(path)
    rows = [r for r in read_metrics(path) if isinstance(r, dict)]
    if not rows:
        raise CheckpointError(f"{path} has no metrics yet (no generation has finished)")
    train = {k: v for k, v in config_to_dict(cfg).items() if k not in _SAME_RESULTS}
    key = (tuple(sorted(train.items())), tuple(sorted(config_to_dict(net).items())),
           tuple(sorted(config_to_dict(core).items())))
    return RunCurve(path=path, cfg=cfg, key=key, rows=rows)


def group_runs(runs: list[RunCurve]) -> list[RunGroup]:
    """Group runs by configuration (first-seen order) and label each group by what sets it
    apart from the others: method, env when several, and any other differing setting."""
    groups: dict[tuple, list[RunCurve]] = {}
    for r in runs:
        groups.setdefault(r.key, []).append(r)
    train = [dict(g[0].key[0]) for g in groups.values()]
    differ = sorted(k for k in train[0] if k not in ("algo", "network", "env_id")
                    and len({repr(t[k]) for t in train}) > 1)
    nets = [dict(g[0].key[1]) for g in groups.values()]
    if len({n["n_neurons"] for n in nets}) > 1:
        differ.append("n_neurons")
    several_envs = len({t["env_id"] for t in train}) > 1
    out = []
    for g, t, n in zip(groups.values(), train, nets, strict=True):
        parts = [g[0].cfg.method]
        if several_envs:
            parts.append(t["env_id"])
        parts += [f"{k}={n[k] if k == 'n_neurons' else t[k]}" for k in differ]
        seeds = sorted(r.cfg.seed for r in g)
        parts.append(f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds")
        out.append(RunGroup(runs=g, label=" ".join(str(p) for p in parts)))
    return out


def group_band(group: RunGroup, x: str, y: str, band: str = "minmax", points: int = 200):
    """Mean and band of ``y`` over the group's runs on a common ``x`` grid.

    Returns ``(grid, mean, lo, hi)``; the grid spans the range every run covers. A single run
    returns its own points (lo = hi = mean).
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {band!r}")
    series = [r.series(x, y) for r in group.runs]
    series = [(sx, sy) for sx, sy in series if sx.size]
    if not series:
        return (np.zeros(0),) * 4
    if len(series) == 1:
        sx, sy = series[0]
        return sx, sy, sy, sy
    x0 = max(sx[0] for sx, _ in series)
    x1 = min(sx[-1] for sx, _ in series)
    grid = np.linspace(x0, x1, points) if x1 > x0 else np.array([x0])
    ys = np.stack([np.interp(grid, sx, sy) for sx, sy in series])
    mean = ys.mean(axis=0)
    if band == "minmax":
        return grid, mean, ys.min(axis=0), ys.max(axis=0)
    sd = ys.std(axis=0)
    return grid, mean, mean - sd, mean + sd


def plot_runs(run_dirs: list[Path], out: Path, x: str = "steps", band: str = "minmax") -> None:
    """Overlay runs: deterministic-network return (left) and population mean return (right)
    against env steps or wall-clock time, seeds of one configuration as mean and band."""
    if x not in X_AXES:
        raise ValueError(f"--x must be one of {', '.join(X_AXES)}, not {x!r}")
    groups = group_runs([load_run(p) for p in run_dirs])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..tasks import is_task

    tasks = all(is_task(r.cfg.env_id) for g in groups for r in g.runs)
    # A classification task's "return" is an accuracy, its "env steps" image presentations
    # (deployed network: held-out split; members: their minibatch; ec_hw.tasks.classify).
    ylabel = "accuracy (%)" if tasks else "episode return (env's true reward)"
    xlabel = X_AXES[x][2]
    if tasks and x == "steps":
        xlabel = "image presentations (millions)"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for y, ax, title in (("det_return", axes[0], "deployed network (rho > 0.5 / ES center)"),
                         ("mean_return", axes[1], "population mean")):
        for g in groups:
            grid, mean, lo, hi = group_band(g, x, y, band)
            if not grid.size:
                continue
            (line,) = ax.plot(grid, mean, label=g.label)
            if len(g.runs) > 1:
                ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    envs = sorted({r.cfg.env_id for g in groups for r in g.runs})
    what = "mean and min-max over seeds" if band == "minmax" else "mean +- 1 std over seeds"
    fig.suptitle(f"{', '.join(envs)} ({what})", fontsize=11)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
    except OSError as exc:
        raise EcHwError(f"cannot write --out {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
