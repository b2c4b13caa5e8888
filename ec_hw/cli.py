"""The ``ec-hw`` command: train, eval, plot (and the hardware commands of the link).

Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import EcHwError

__all__ = ["main"]

EXIT_USAGE = 2


def _fail(msg: str) -> int:
    print(f"ec-hw: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


# --- train -----------------------------------------------------------------------------------

_TRAIN_FLAGS = {  # flag dest -> TrainConfig field
    "env": "env_id", "algo": "algo", "pop": "pop_size", "generations": "generations",
    "lr": "lr", "eps": "eps", "sigma": "sigma", "weight_decay": "weight_decay",
    "episodes": "episodes", "eval_episodes": "eval_episodes",
    "max_episode_steps": "max_episode_steps", "healthy_reward": "healthy_reward",
    "seed": "seed", "target": "target", "workers": "workers", "sampling": "sampling",
    "antithetic": "antithetic",
}
_RESUMABLE = {"generations", "workers", "port", "board", "stop_at", "quiet"}


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a spiking controller with Evolving Connectivity",
                       description="Train with EC (or the ES baseline) on a gymnasium env.")
    p.add_argument("--env", help="gymnasium env id with Box obs/actions "
                                 "(default InvertedPendulum-v5)")
    p.add_argument("--target", choices=["model", "float", "sim", "fpga"],
                   help="inference target: model = bit-exact fixed-point golden model "
                        "(default), float = float64 reference, sim = Verilated core behind a "
                        "pseudo-terminal, fpga = a board on --port")
    p.add_argument("--algo", choices=["ec", "es"], help="ec (default) or the ES-RSNN baseline")
    p.add_argument("--sampling", choices=["host", "device"],
                   help="host (default): members' connections are drawn on the host and "
                        "loaded; device: the target gets rho once per generation and draws "
                        "each member from (generation seed, member index) itself")
    p.add_argument("--pop", type=int, help="population size (default 256; paper 10240)")
    p.add_argument("--generations", type=int, help="generations to run (default 60)")
    p.add_argument("--seed", type=int, help="run seed (default 0)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 0.15)")
    p.add_argument("--eps", type=float, help="rho clip margin (default 1e-3)")
    p.add_argument("--sigma", type=float, help="ES noise std (default 0.3)")
    p.add_argument("--weight-decay", type=float, help="ES AdamW weight decay (default 0.1)")
    p.add_argument("--episodes", type=int, help="episodes per member (default 1)")
    p.add_argument("--eval-episodes", type=int,
                   help="episodes of the deterministic network per generation (default 4)")
    p.add_argument("--max-episode-steps", type=int, help="episode cap (default 1000)")
    p.add_argument("--no-healthy-reward", dest="healthy_reward", action="store_const",
                   const=False, help="rank members without the env's survival bonus (ARS "
                                     "style); reported returns always include it. Default: "
                                     "without it where the env also rewards forward progress "
                                     "(Hopper, Walker2d, Ant, Humanoid), with it elsewhere")
    p.add_argument("--healthy-reward", dest="healthy_reward", action="store_const", const=True,
                   help="rank members with the env's survival bonus in every env")
    p.add_argument("--antithetic", action=argparse.BooleanOptionalAction, default=None,
                   help="EC: draw members as mirrored pairs (u and 65535 - u of one stream; "
                        "default off, see docs/learning.md)")
    p.add_argument("--workers", type=_workers_arg, metavar="N|ray|ray://HOST:PORT",
                   help="worker processes on this machine (default: CPU cores), or a Ray "
                        "cluster: ray = the local one (started if none runs), auto = an "
                        "existing one, ray://HOST:PORT = Ray Client, HOST:PORT = the GCS")
    p.add_argument("--ray-workers", type=int, metavar="N",
                   help="Ray actors with --workers ray... (default: the cluster's CPUs)")
    p.add_argument("--neurons", type=int, help="LIF neurons (default 256)")
    p.add_argument("--port", help="serial port of the board (--target fpga)")
    p.add_argument("--board", help="board settings for --target sim/fpga (default arty_a7)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<env>__<target>__"
                                             "<seed>__<time>)")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in RUN")
    p.add_argument("--stop-at", type=float, metavar="RETURN",
                   help="stop once the deterministic network's mean return reaches RETURN")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)


def _workers_arg(value: str):
    if value.isdigit():
        return int(value)
    from .train.ray_eval import is_cluster_address

    if is_cluster_address(value):
        return value
    raise argparse.ArgumentTypeError(f"expected a worker count, ray, auto, ray://HOST:PORT or "
                                     f"HOST:PORT, not {value!r}")


def _worker_settings(args, cluster: str | None = None) -> dict:
    """``--workers``/``--ray-workers`` as TrainConfig fields (``cluster``: the run's, on resume)."""
    w, n = args.workers, args.ray_workers
    if isinstance(w, str):
        cluster = w
    elif w is not None or n is None:
        if n is not None:
            raise EcHwError("--ray-workers needs --workers ray (or a Ray address)")
        return {} if w is None else {"workers": w, "cluster": None}
    if cluster is None:
        raise EcHwError("--ray-workers needs --workers ray (or a Ray address)")
    if n is None:
        from .train.ray_eval import cluster_cpus

        n = cluster_cpus(cluster)
    return {"workers": n, "cluster": cluster}


def _build_run(args):
    from .config import CoreConfig, NetConfig, TrainConfig
    from .train.checkpoint import read_config, write_config
    from .train.envs import probe_env
    from .train.local import default_workers

    given = {k for k, v in vars(args).items() if v is not None and k in _TRAIN_FLAGS
             or k in ("neurons", "out") and v is not None}
    if args.resume is not None:
        extra = sorted(given - _RESUMABLE)
        if extra:
            raise EcHwError(f"--resume continues a run with its own settings; "
                            f"--{extra[0].replace('_', '-')} cannot change")
        cfg, net, core, _ = read_config(args.resume)
        changes = _worker_settings(args, cfg.cluster)
        if args.generations is not None:
            changes["generations"] = args.generations
        if changes:
            from dataclasses import replace
            cfg = replace(cfg, **changes)
        spec = probe_env(cfg.env_id)
        if (spec.obs_dim, spec.act_dim) != (net.obs_dim, net.act_dim):
            raise EcHwError(f"{cfg.env_id} now has obs/act dims {spec.obs_dim}/{spec.act_dim}, "
                            f"the run was trained at {net.obs_dim}/{net.act_dim}")
        return cfg, net, core, Path(args.resume), True
    kw = {field: getattr(args, dest) for dest, field in _TRAIN_FLAGS.items()
          if getattr(args, dest) is not None}
    kw.update(_worker_settings(args))
    kw.setdefault("workers", default_workers())
    cfg = TrainConfig(**kw)
    spec = probe_env(cfg.env_id)
    net_kw = {"obs_dim": spec.obs_dim, "act_dim": spec.act_dim}
    if args.neurons is not None:
        net_kw["n_neurons"] = args.neurons
    net = NetConfig(**net_kw)
    core = CoreConfig()
    from .fixedpoint import derive

    derive(net, core)  # refuse networks whose fixed-point bounds fail before any work starts
    if args.out is not None:
        run_dir = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{cfg.env_id}__{cfg.target}__{cfg.seed}__{stamp}"
    if (run_dir / "checkpoint.npz").exists():
        raise EcHwError(f"{run_dir} already holds a run; use --resume {run_dir} to continue it")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(run_dir, cfg, net, core)
    return cfg, net, core, run_dir, False


def _cmd_train(args) -> int:
    from .train.backends import BackendSpec
    from .train.local import make_evaluator
    from .train.run import Trainer

    cfg, net, core, run_dir, resumed = _build_run(args)
    if cfg.target == "fpga" and not args.port:
        raise EcHwError("--target fpga needs --port (the board's serial port)")
    spec = BackendSpec(target=cfg.target, net=net, core=core, algo=cfg.algo, port=args.port,
                       slots=cfg.pop_size, board=args.board or "arty_a7")
    if cfg.target == "sim":
        _prebuild_virtual_board(spec)
    with make_evaluator(spec, cfg.workers, cfg.cluster) as evaluator:
        trainer = (Trainer.resume(cfg, net, core, run_dir, evaluator) if resumed
                   else Trainer(cfg, net, core, run_dir, evaluator))
        return _train_loop(trainer, cfg, run_dir, args.stop_at, args.quiet)


def _prebuild_virtual_board(spec) -> None:
    """Compile the virtual board once here, so worker processes start it from the cache."""
    from dataclasses import replace

    from .boardsim import build_boardsim
    from .build import load_board

    board = load_board(spec.board)
    core = replace(spec.core, slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    print(f"preparing the virtual {board.name} ({core.slots} member slots): the first run of a "
          f"configuration compiles the core's Verilog with Verilator (a few minutes)", flush=True)
    t = time.monotonic()
    exe = build_boardsim(spec.net, core, quiet=True)
    print(f"virtual board ready in {time.monotonic() - t:.0f} s: {exe}", flush=True)


def _train_loop(trainer, cfg, run_dir: Path, stop_at: float | None, quiet: bool) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=False, highlight=False)
    start = trainer.state.generation
    console.print(f"[bold]ec-hw train[/] {cfg.algo.upper()} on {cfg.env_id}, target "
                  f"{cfg.target}, pop {cfg.pop_size}, seed {cfg.seed}, {cfg.workers} worker(s)"
                  + (f" on Ray cluster {cfg.cluster}" if cfg.cluster else "") + " "
                  f"-> {run_dir}" + (f" (resuming at generation {start})" if start else ""))
    if start >= cfg.generations:
        console.print(f"nothing to do: {start} of {cfg.generations} generations are done")
        return 0
    progress = Progress(TextColumn("generation"), MofNCompleteColumn(), BarColumn(),
                        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                        console=console, disable=quiet, transient=True)
    with progress:
        task = progress.add_task("train", total=cfg.generations, completed=start)
        while trainer.state.generation < cfg.generations:
            row = trainer.step()
            progress.update(task, completed=trainer.state.generation)
            det = row["det_return"]
            extra = (f"H(rho) {row['rho_entropy']:.3f}" if "rho_entropy" in row
                     else f"|w| {row['param_norm']:.0f}")
            det_s = "-" if det is None else f"{det:.1f}"
            progress.console.print(
                f"gen {row['generation']:3d}  mean {row['mean_return']:7.1f}  max "
                f"{row['max_return']:7.1f}  det {det_s:>7}  "
                f"{row['env_steps_per_s'] / 1000:5.1f}k st/s  {extra}  {row['gen_time_s']:.1f}s")
            if stop_at is not None and det is not None and det >= stop_at:
                progress.console.print(f"deterministic return {det:.1f} >= {stop_at}: stopping")
                break
    console.print(f"done: {trainer.state.generation} generations, "
                  f"{trainer.state.total_steps} env steps, {trainer.state.elapsed / 60:.1f} min; "
                  f"run in {run_dir}")
    return 0


# --- eval ------------------------------------------------------------------------------------

def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run's deterministic network (rho > 0.5)")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--episodes", type=int, default=10, help="episodes (default 10)")
    p.add_argument("--seed", type=int, default=12345, help="env seed of the first episode")
    p.add_argument("--target", choices=["model", "float", "sim", "fpga"],
                   help="inference target (default: the run's)")
    p.add_argument("--port", help="serial port (--target fpga)")
    p.add_argument("--video", type=Path, metavar="MP4", help="record the first episode")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args) -> int:
    import numpy as np

    from .train.backends import BackendSpec
    from .train.checkpoint import read_config
    from .train.local import InProcessEvaluator
    from .train.run import Trainer

    if args.episodes < 1:
        raise EcHwError(f"--episodes must be positive, not {args.episodes}")
    cfg, net, core, _ = read_config(args.run)
    target = args.target or cfg.target
    spec = BackendSpec(target=target, net=net, core=core, algo=cfg.algo, port=args.port,
                       slots=args.episodes)
    with InProcessEvaluator(spec) as ev:
        from dataclasses import replace

        tr = Trainer.resume(replace(cfg, target=target), net, core, args.run, ev)
        seeds = args.seed + np.arange(args.episodes)
        res = tr.evaluate_deterministic(args.episodes, seeds)
    print(f"{cfg.env_id} deterministic network after {tr.state.generation} generations, "
          f"target {target}: return {res.returns.mean():.1f} +- {res.returns.std():.1f} "
          f"(min {res.returns.min():.1f}, max {res.returns.max():.1f}, {args.episodes} "
          f"episodes, mean length {res.steps.mean():.0f})")
    if args.video:
        from .train.video import record_episode

        path = record_episode(tr, int(seeds[0]), args.video)
        print(f"video: {path}")
    return 0


# --- plot ------------------------------------------------------------------------------------

def _add_plot(sub) -> None:
    p = sub.add_parser("plot", help="write a run's learning curve as PNG")
    p.add_argument("run", type=Path, nargs="+", help="run directory (several: one plot)")
    p.add_argument("--out", type=Path, help="PNG path (default RUN/curve.png)")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args) -> int:
    from .train.plot import plot_runs

    out = args.out or Path(args.run[0]) / "curve.png"
    plot_runs(args.run, out)
    print(f"wrote {out}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ec-hw", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_plot(sub)
    from .boardsim import add_board_sim_arguments, main_board_sim

    bs = sub.add_parser("board-sim", help="run a virtual board (the core's Verilog in "
                                          "Verilator) behind a pseudo-terminal",
                        description=main_board_sim.__doc__)
    add_board_sim_arguments(bs)
    bs.set_defaults(func=main_board_sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    args = _build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (EcHwError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("ec-hw: interrupted; the last completed generation is checkpointed",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
