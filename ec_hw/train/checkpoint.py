"""Run directories and atomic checkpoints.

A run directory holds ``config.json`` (every setting, the git SHA, package versions),
``metrics.jsonl`` (one line per generation), ``checkpoint.npz`` (everything needed to resume,
written atomically after every generation) and, from ``ec-hw plot``, ``curve.png``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import EcHwError, __version__
from ..config import CoreConfig, NetConfig, TrainConfig, config_from_dict, config_to_dict
from .state import RunState

__all__ = ["CheckpointError", "RunState", "save_checkpoint", "load_checkpoint", "write_config",
           "read_config", "append_metrics", "read_metrics", "git_sha"]


class CheckpointError(EcHwError):
    """A run directory or checkpoint is missing, corrupted or belongs to another setup."""


def _meta(cfg: TrainConfig, net: NetConfig, core: CoreConfig) -> dict:
    return {"env_id": cfg.env_id, "algo": cfg.algo, "network": cfg.network,
            "net": config_to_dict(net), "core": config_to_dict(core)}


def save_checkpoint(path: Path, state: RunState, cfg: TrainConfig, net: NetConfig,
                    core: CoreConfig) -> None:
    """Write ``path`` atomically: a crash leaves either the old or the new checkpoint."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, generation=state.generation, params=state.params, adam_m=state.adam.m,
                     adam_v=state.adam.v, adam_t=state.adam.t, obs_count=state.obs_count,
                     obs_mean=state.obs_mean, obs_m2=state.obs_m2,
                     total_steps=state.total_steps, elapsed=state.elapsed,
                     meta=json.dumps(_meta(cfg, net, core)), **_best_arrays(state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _best_arrays(state: RunState) -> dict:
    if state.best_params is None:
        return {}
    count, mean, m2 = state.best_obs
    return {"best_generation": state.best_generation, "best_return": state.best_return,
            "best_params": state.best_params, "best_obs_count": count, "best_obs_mean": mean,
            "best_obs_m2": m2}


def load_checkpoint(path: Path, cfg: TrainConfig, net: NetConfig, core: CoreConfig) -> RunState:
    """Load and check a checkpoint against the run's configuration."""
    from dataclasses import replace

    from .strategy import make_strategy

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    opt = make_strategy(cfg, net).optimizer()  # the run's hyperparameters; m, v, t are saved
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            state = RunState(
                generation=int(z["generation"]), params=z["params"].astype(np.float64),
                adam=replace(opt, m=z["adam_m"], v=z["adam_v"], t=int(z["adam_t"])),
                obs_count=float(z["obs_count"]), obs_mean=z["obs_mean"], obs_m2=z["obs_m2"],
                total_steps=int(z["total_steps"]), elapsed=float(z["elapsed"]))
            if "best_params" in z:  # checkpoints from before the best network was kept: none
                state.best_generation = int(z["best_generation"])
                state.best_return = float(z["best_return"])
                state.best_params = z["best_params"].astype(np.float64)
                state.best_obs = (float(z["best_obs_count"]), z["best_obs_mean"],
                                  z["best_obs_m2"])
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupted or unreadable ({exc})") from None
    want = _meta(cfg, net, core)
    if meta["env_id"] != want["env_id"]:
        raise CheckpointError(f"checkpoint {path} is for env {meta['env_id']}, not "
                              f"{want['env_id']}")
    meta.setdefault("network", "snn")  # checkpoints from before ES-GRU/ES-LSTM
    # Fields added to NetConfig/CoreConfig since the checkpoint was written (topology,
    # rec_gain, out_gain, ...) default to what the code did before they existed.
    try:
        meta["net"] = config_to_dict(config_from_dict(NetConfig, meta["net"]))
        meta["core"] = config_to_dict(config_from_dict(CoreConfig, meta["core"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} was written by another ec-hw version "
                              f"({exc})") from None
    if any(meta[k] != want[k] for k in ("algo", "network", "net")):
        raise CheckpointError(f"checkpoint {path} holds a different network "
                              f"({meta['algo']} {meta['network']}, {meta['net']['n_neurons']} "
                              f"units, obs "
                              f"{meta['net']['obs_dim']}, act {meta['net']['act_dim']})")
    if meta["core"] != want["core"]:
        raise CheckpointError(f"checkpoint {path} was trained with other fixed-point widths")
    if (state.params.shape != state.adam.m.shape or state.obs_mean.shape != (net.obs_dim,)
            or (state.best_params is not None
                and state.best_params.shape != state.params.shape)):
        raise CheckpointError(f"checkpoint {path} has inconsistent array shapes")
    return state


def git_sha() -> str | None:
    """The source tree's git commit (with ``-dirty``), or None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def write_config(run_dir: Path, cfg: TrainConfig, net: NetConfig, core: CoreConfig,
                 extra: dict | None = None) -> None:
    import platform

    import gymnasium
    import mujoco
    import numba

    doc = {"train": config_to_dict(cfg), "net": config_to_dict(net), "core": config_to_dict(core),
           "git_sha": git_sha(), "ec_hw": __version__, "python": platform.python_version(),
           "numpy": np.__version__, "numba": numba.__version__,
           "gymnasium": gymnasium.__version__, "mujoco": mujoco.__version__}
    doc.update(extra or {})
    tmp = run_dir / ".config.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, run_dir / "config.json")


def read_config(run_dir: Path) -> tuple[TrainConfig, NetConfig, CoreConfig, dict]:
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.json)")
    try:
        doc = json.loads(path.read_text())
        # Runs from before common starts drew a seed per member and episode.
        doc["train"].setdefault("common_starts", False)
        # ... and runs from before fitness shaping ranked their members (centered ranks).
        doc["train"].setdefault("fitness_shaping", "ranks")
        return (config_from_dict(TrainConfig, doc["train"]),
                config_from_dict(NetConfig, doc["net"]),
                config_from_dict(CoreConfig, doc["core"]), doc)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is corrupted ({exc})") from None


def append_metrics(run_dir: Path, row: dict) -> None:
    with open(Path(run_dir) / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_metrics(run_dir: Path, before: int | None = None) -> list[dict]:
    """Metrics rows (only generations < ``before`` when given); a torn last line is dropped.

    Raises
    ------
    CheckpointError
        A line is valid JSON but not a metrics row (an object with an integer
        ``"generation"``): the file was edited or written by something else, and guessing what
        it meant could plot or resume the wrong curve.
    """
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    if not path.exists():
        return rows
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        gen = row.get("generation") if isinstance(row, dict) else None
        if not isinstance(gen, int) or isinstance(gen, bool):
            raise CheckpointError(f"{path} line {n} is not a metrics row (a JSON object with a "
                                  f"\"generation\"): {line[:40]!r}; delete or fix that line")
        if before is None or gen < before:
            rows.append(row)
    return rows


def truncate_metrics(run_dir: Path, before: int) -> None:
    """Keep only rows of generations < ``before`` (they are recomputed identically on resume)."""
    rows = read_metrics(run_dir, before)
    tmp = Path(run_dir) / ".metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.replace(tmp, Path(run_dir) / "metrics.jsonl")
