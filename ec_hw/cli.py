"""The ``ec-hw`` command: train, eval, plot (and the hardware commands of the link).

Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

from . import EcHwError
from .config import FITNESS_SHAPINGS, TARGETS, is_cluster_address
from .flags import BEST_HELP, TRAIN_FLAGS, NamedFlags, OneLineParser, error_exit, flag_error

__all__ = ["main"]


# --- train -----------------------------------------------------------------------------------

GENERATIONS_UNLIMITED = 10**9
"""Generations of a run that ``--max-env-steps`` alone bounds."""

_RESUMABLE = {"generations", "workers", "port", "board", "stop_at", "max_env_steps", "quiet"}


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a spiking controller with Evolving Connectivity",
                       description="Train with EC (or the ES baseline) on a gymnasium env.")
    p.add_argument("--env", help="gymnasium env id with Box obs/actions "
                                 "(default InvertedPendulum-v5)")
    p.add_argument("--task", help="image classification instead of an env: digits "
                                  "(scikit-learn's bundled 8x8 digits) on a spiking MLP-Mixer; "
                                  "fitness = -cross-entropy on a minibatch per generation, "
                                  "'return' = accuracy in %% (docs/classification.md)")
    p.add_argument("--target", choices=TARGETS,
                   help="inference target: model = bit-exact fixed-point golden model "
                        "(default), float = float64 reference, sim = Verilated core behind a "
                        "pseudo-terminal, fpga = a board on --port")
    p.add_argument("--algo", choices=["ec", "es"],
                   help="ec (default) or es: the OpenAI-ES baselines (antithetic Gaussian "
                        "noise, AdamW) on the network --net names")
    p.add_argument("--net", choices=["snn", "gru", "lstm"],
                   help="network: snn (default; EC's 1-bit spiking network, or ES-RSNN's dense "
                        "one), gru or lstm (--algo es only: dense float32 cells of --neurons "
                        "units and a linear readout)")
    p.add_argument("--sampling", choices=["host", "device"],
                   help="host (default): members' connections are drawn on the host and "
                        "loaded; device: the target gets rho once per generation and draws "
                        "each member from (generation seed, member index) itself")
    p.add_argument("--env-backend", choices=["auto", "envpool", "gymnasium"],
                   help="env engine: auto (default) = EnvPool's batched C++ MuJoCo when it "
                        "has the id, else gymnasium; EnvPool episodes start from the model's "
                        "initial state (docs/engine.md)")
    p.add_argument("--pop", type=int, help="population size (default 256; paper 10240)")
    p.add_argument("--generations", type=int,
                   help="generations to run (default 60; unbounded when --max-env-steps is "
                        "given alone)")
    p.add_argument("--seed", type=int, help="run seed (default 0)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 0.15)")
    p.add_argument("--lr-decay-start", type=int, metavar="G",
                   help="after G generations the learning rate decays as lr * sqrt(G / g) "
                        "(default: constant; docs/learning.md 10)")
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
    p.add_argument("--fitness-shaping", choices=FITNESS_SHAPINGS,
                   help="members' weights in the gradient: utility (NES utilities: the "
                        "better half pulls, log-weighted; EC's default) or ranks (centered "
                        "ranks; the ES baselines' default) or mixed (from utilities to ranks as "
                        "members survive to the time limit); docs/learning.md")
    p.add_argument("--common-starts", action=argparse.BooleanOptionalAction, default=None,
                   help="gymnasium engine: every member of a generation starts its episodes "
                        "from the same seeded states (default on; docs/learning.md)")
    p.add_argument("--workers", type=_workers_arg, metavar="N|ray|ray://HOST:PORT",
                   help="worker processes on this machine (default: 1 on the EnvPool engine "
                        "with --target model/float, whose one process threads over every "
                        "core; else one per CPU core), or a Ray "
                        "cluster: ray = the local one (started if none runs), auto = an "
                        "existing one, ray://HOST:PORT = Ray Client, HOST:PORT = the GCS")
    p.add_argument("--ray-workers", type=int, metavar="N",
                   help="Ray actors with --workers ray... (default: the cluster's CPUs)")
    p.add_argument("--neurons", type=int,
                   help="LIF neurons, or GRU/LSTM hidden units (default 256)")
    p.add_argument("--port", help="serial port of the board (--target fpga)")
    p.add_argument("--board", help="board settings for --target sim/fpga (default arty_a7)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<env>__<target>__"
                                             "<seed>__<time>)")
    p.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in RUN")
    p.add_argument("--stop-at", type=float, metavar="RETURN",
                   help="stop once the deterministic network's mean return reaches RETURN")
    p.add_argument("--max-env-steps", type=int, metavar="N",
                   help="stop after the generation that brings the run's env steps (members "
                        "and deterministic evaluations) to N or more")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)


def _workers_arg(value: str):
    if value.isdigit():
        return int(value)
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


def _cap_workers(cfg, requested: int | None) -> tuple[object, str]:
    """Local worker processes capped by the population and this machine's cores; the banner
    says so when the cap changed what was asked for."""
    from dataclasses import replace

    from .train.local import default_workers

    if cfg.cluster is not None:
        return cfg, ""
    cores = default_workers()
    want = cfg.workers if requested is None else requested
    if cfg.target == "fpga":
        limits = [(1, "one board is driven from one process")]
    else:
        limits = [(cfg.pop_size, f"population {cfg.pop_size}"), (cores, f"{cores} cores")]
    n, why = want, ""
    for cap, reason in limits:
        if cap < n:
            n, why = cap, reason
    note = f" (--workers {want} capped: {why})" if n < want and requested is not None else ""
    return (replace(cfg, workers=n) if n != cfg.workers else cfg), note


def _check_target_flags(args, cfg, net) -> str | None:
    """Flags that only some targets use, and the board of sim/fpga runs; returns the board."""
    import math
    from dataclasses import replace

    if getattr(args, "max_env_steps", None) is not None and args.max_env_steps < 1:
        raise EcHwError(f"--max-env-steps must be positive, not {args.max_env_steps}")
    if args.stop_at is not None:
        if not math.isfinite(args.stop_at):
            raise EcHwError(f"--stop-at needs a finite return, not {args.stop_at}")
        if cfg.eval_episodes == 0:
            raise EcHwError("--stop-at watches the deterministic network, which --eval-episodes "
                            "0 turns off; drop one of them")
    if cfg.target == "fpga" and not args.port:
        raise EcHwError("--target fpga needs --port (the board's serial port)")
    if args.port and cfg.target != "fpga":
        raise EcHwError(f"--port is only used with --target fpga (this run's target is "
                        f"{cfg.target})")
    if cfg.target not in ("sim", "fpga"):
        if args.board:
            raise EcHwError(f"--board is only used with --target sim or fpga (this run's "
                            f"target is {cfg.target})")
        return None
    from .config import CoreConfig

    board = _load_board_flag(args.board or "arty_a7")
    core = replace(CoreConfig(), slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    from .gateware.core import CoreGeometry

    with NamedFlags(prefix=f"board {board.name} cannot hold this network: "):
        CoreGeometry(net, core)
    return board.name


def _load_board_flag(name: str):
    """:func:`ec_hw.build.load_board` for a ``--board`` the user typed."""
    from .build import UnknownBoard, load_board

    try:
        return load_board(name)
    except UnknownBoard as exc:
        raise EcHwError(f"--board: {exc}") from None


def _plan_run(args):
    """Every check of ``ec-hw train``, before anything is built, started or written.

    Returns ``(cfg, net, core, run_dir, resumed, board, note)``.
    """
    from dataclasses import replace

    from .config import CoreConfig, NetConfig, TrainConfig
    from .train.checkpoint import load_checkpoint, read_config, read_metrics
    from .train.envs import probe_env
    from .train.local import default_workers

    given = {k for k, v in vars(args).items() if v is not None and k in TRAIN_FLAGS
             or k in ("neurons", "out") and v is not None}
    if args.resume is not None:
        extra = sorted(given - _RESUMABLE)
        if extra:
            raise EcHwError(f"--resume continues a run with its own settings; "
                            f"--{extra[0].replace('_', '-')} cannot change")
        run_dir = Path(args.resume)
        cfg, net, core, _ = read_config(run_dir)
        changes = _worker_settings(args, cfg.cluster)
        if args.generations is not None:
            changes["generations"] = args.generations
        if changes:
            with NamedFlags():
                cfg = replace(cfg, **changes)
        ckpt = run_dir / "checkpoint.npz"
        if not ckpt.exists():
            raise EcHwError(f"{run_dir} has no checkpoint (no generation finished); start it "
                            f"again with --out {run_dir}")
        load_checkpoint(ckpt, cfg, net, core)  # refuses a corrupted or foreign checkpoint
        read_metrics(run_dir)                  # and a metrics file that is not ours
        from .tasks import is_task

        spec = None if is_task(cfg.env_id) else probe_env(cfg.env_id)
        if spec is not None and (spec.obs_dim, spec.act_dim) != (net.obs_dim, net.act_dim):
            raise EcHwError(f"{cfg.env_id} now has obs/act dims {spec.obs_dim}/{spec.act_dim}, "
                            f"the run was trained at {net.obs_dim}/{net.act_dim}")
        cfg, note = _cap_workers(cfg, args.workers if isinstance(args.workers, int) else None)
        board = _check_target_flags(args, cfg, net)
        return cfg, net, core, run_dir, True, board, note
    kw = {field: getattr(args, dest) for dest, field in TRAIN_FLAGS.items()
          if getattr(args, dest) is not None}
    kw.update(_worker_settings(args))
    if args.max_env_steps is not None and args.generations is None:
        # --max-env-steps alone is the budget: the default 60 generations would end it early
        kw["generations"] = GENERATIONS_UNLIMITED
    if args.task is not None:
        return _plan_task(args, kw)
    from .train.envs import resolve_env_backend

    # Recorded resolved, so the run continues on the same engine on any machine.
    kw["env_backend"] = resolve_env_backend(kw.get("env_id", TrainConfig.env_id),
                                            args.env_backend or "auto")
    # EnvPool and Numba thread over every core in one process, which measured ~10 % faster
    # than one single-threaded engine per core (bench/bench_before_after.py); virtual boards
    # and gymnasium envs scale by processes.
    one = kw["env_backend"] == "envpool" and kw.get("target", "model") in ("model", "float")
    kw.setdefault("workers", 1 if one else default_workers())
    with NamedFlags():
        cfg = TrainConfig(**kw)
    spec = probe_env(cfg.env_id)
    net_kw = {"obs_dim": spec.obs_dim, "act_dim": spec.act_dim}
    if args.neurons is not None:
        net_kw["n_neurons"] = args.neurons
    with NamedFlags():
        net = NetConfig(**net_kw)
        core = CoreConfig()
        from .fixedpoint import derive

        derive(net, core)  # refuse networks whose fixed-point bounds fail before any work starts
    cfg, note = _cap_workers(cfg, args.workers if isinstance(args.workers, int) else None)
    board = _check_target_flags(args, cfg, net)
    run_dir = _new_run_dir(args, cfg)
    return cfg, net, core, run_dir, False, board, note


def _new_run_dir(args, cfg) -> Path:
    """The folder a new run writes: ``--out``, or a stamped one under ``runs/``; checked
    writable and free of another run's checkpoint before anything is built."""
    from .train.rundir import check_writable_dir

    if args.out is not None:
        run_dir = Path(args.out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{cfg.env_id}__{cfg.target}__{cfg.seed}__{stamp}"
    check_writable_dir(run_dir, "--out")
    if (run_dir / "checkpoint.npz").exists():
        raise EcHwError(f"{run_dir} already holds a run; use --resume {run_dir} to continue it")
    return run_dir


TASK_LR = 0.1
"""--task's default learning rate: the one the digits results were measured with
(docs/classification.md); --lr overrides it."""


def _plan_task(args, kw):
    """:func:`_plan_run` for ``--task``: the task's network, one in-process evaluator."""
    from .config import CoreConfig, TrainConfig
    from .tasks import is_task
    from .tasks.classify import task_net
    from .tasks.data import load_dataset

    if args.env is not None:
        raise EcHwError("--task and --env exclude each other (a task replaces the env)")
    if not is_task(args.task):
        raise EcHwError(f"--task must be digits or mnist, not {args.task!r}")
    if kw.get("algo", "ec") != "ec":
        raise EcHwError("--task trains EC's 1-bit network only (--algo ec); the dense ES "
                        "baseline is bench/digits_baseline.py")
    for flag in ("env_backend", "episodes", "max_episode_steps", "healthy_reward"):
        if getattr(args, flag, None) is not None:
            raise EcHwError(f"--{flag.replace('_', '-')} has no meaning with --task")
    if kw.get("target") == "float":
        raise EcHwError("--task runs on the fixed-point targets (model, sim, fpga): images are "
                        "presented in the core's encoding, which --target float does not take")
    data = load_dataset(args.task)  # TaskUnavailable: one line naming --task
    kw.setdefault("lr", TASK_LR)
    kw.update(env_id=args.task, env_backend="gymnasium", workers=1, cluster=None)
    with NamedFlags():
        cfg = TrainConfig(**kw)
        net = task_net(data, n_neurons=args.neurons or 512)
        core = CoreConfig()
        from .fixedpoint import derive

        derive(net, core)
    board = _check_target_flags(args, cfg, net)
    run_dir = _new_run_dir(args, cfg)
    return cfg, net, core, run_dir, False, board, ""


def _make_evaluator(cfg, spec):
    """The run's evaluator: envs through :func:`make_evaluator`, or a task's images."""
    from .tasks import is_task
    from .train.dispatch import make_evaluator

    if is_task(cfg.env_id):
        from .tasks.classify import ClassifyEvaluator
        from .tasks.data import load_dataset

        return ClassifyEvaluator(spec, load_dataset(cfg.env_id))
    return make_evaluator(spec, cfg.workers, cfg.cluster, cfg.env_backend)


def _cmd_train(args) -> int:
    import contextlib

    from .train.backends import BackendSpec
    from .train.checkpoint import write_config
    from .train.rundir import NewRunFolder, RunLock, checkpointed_generation
    from .train.strategy import make_strategy

    cfg, net, core, run_dir, resumed, board, note = _plan_run(args)
    spec = BackendSpec(target=cfg.target, net=net, core=core,
                       network=make_strategy(cfg, net).backend_network, port=args.port,
                       slots=cfg.pop_size, board=board or "arty_a7",
                       sampler=cfg.sampling == "device")
    try:
        with contextlib.ExitStack() as stack:
            if resumed:  # locked before anything slow: a second trainer is refused at once
                stack.enter_context(RunLock(run_dir))
            if cfg.target == "sim":
                _prebuild_virtual_board(spec)
            evaluator = stack.enter_context(_make_evaluator(cfg, spec))
            if not resumed:  # removed again if the run ends before its first checkpoint
                stack.enter_context(NewRunFolder(run_dir))
            try:
                if not resumed:
                    write_config(run_dir, cfg, net, core)
                return _run_trainer(cfg, net, core, run_dir, evaluator, resumed, args, note)
            except OSError as exc:  # a full disk or a folder gone read-only mid-run
                raise _write_error(run_dir, exc) from None
    except KeyboardInterrupt:
        done = checkpointed_generation(run_dir)
        if done:
            print(f"ec-hw: interrupted; generation {done} is checkpointed in {run_dir}: "
                  f"continue with ec-hw train --resume {run_dir}", file=sys.stderr)
        else:
            print("ec-hw: interrupted before the first generation finished; nothing was saved",
                  file=sys.stderr)
        return 130


def _run_trainer(cfg, net, core, run_dir, evaluator, resumed, args, note) -> int:
    from .train.run import Trainer

    trainer = (Trainer.resume(cfg, net, core, run_dir, evaluator) if resumed
               else Trainer(cfg, net, core, run_dir, evaluator))
    return _train_loop(trainer, cfg, run_dir, args.stop_at, args.quiet, note,
                       args.max_env_steps)


def _write_error(run_dir: Path, exc: OSError) -> EcHwError:
    from .train.rundir import checkpointed_generation

    done = checkpointed_generation(run_dir)
    kept = (f"the checkpoint of generation {done} is intact: free space or fix the folder, "
            f"then ec-hw train --resume {run_dir}" if done else "no generation was saved")
    return EcHwError(f"cannot write to {run_dir} ({exc.strerror or exc}); {kept}")


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
    if board.link == "pcie":
        from .boardsim_pcie import build_pcie_boardsim

        exe = build_pcie_boardsim(spec.net, core, cores=board.cores, quiet=True)
    else:
        exe = build_boardsim(spec.net, core, quiet=True, sampler=spec.sampler)
    print(f"virtual board ready in {time.monotonic() - t:.0f} s: {exe}", flush=True)


def _train_loop(trainer, cfg, run_dir: Path, stop_at: float | None, quiet: bool,
                note: str = "", max_env_steps: int | None = None) -> int:
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
    from .train.envs import ENVPOOL_IDS, envpool_unsuitable

    why = (envpool_unsuitable(cfg.env_id)
           if cfg.env_backend == "gymnasium" and cfg.env_id in ENVPOOL_IDS else None)
    if why:
        note += f" (gymnasium, seeded starts: {why})"
    console.print(f"[bold]ec-hw train[/] {cfg.method} on {cfg.env_id}, target "
                  f"{cfg.target}, env engine {cfg.env_backend}, pop {cfg.pop_size}, seed "
                  f"{cfg.seed}, {cfg.workers} worker(s)"
                  + note
                  + (f" on Ray cluster {cfg.cluster}" if cfg.cluster else "") + " "
                  f"-> {run_dir}" + (f" (resuming at generation {start})" if start else ""))
    if start >= cfg.generations:
        console.print(f"nothing to do: {start} of {cfg.generations} generations are done")
        return 0
    if max_env_steps is not None and trainer.state.total_steps >= max_env_steps:
        console.print(f"nothing to do: {trainer.state.total_steps} of {max_env_steps} env steps "
                      f"are done")
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
            if max_env_steps is not None and trainer.state.total_steps >= max_env_steps:
                progress.console.print(f"{trainer.state.total_steps} env steps >= "
                                       f"{max_env_steps}: stopping")
                break
    console.print(f"done: {trainer.state.generation} generations, "
                  f"{trainer.state.total_steps} env steps, {trainer.state.elapsed / 60:.1f} min; "
                  f"run in {run_dir}")
    st = trainer.state
    if st.best_params is not None and st.best_generation != st.generation:
        console.print(f"best deployed network: {st.best_return:.1f} after {st.best_generation} "
                      f"generations (`ec-hw eval {run_dir} --best`)")
    return 0


# --- eval ------------------------------------------------------------------------------------

def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run's deterministic network (rho > 0.5)")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--episodes", type=int, default=10, help="episodes (default 10)")
    p.add_argument("--best", action="store_true", help=BEST_HELP)
    p.add_argument("--seed", type=int, default=12345, help="env seed of the first episode")
    p.add_argument("--target", choices=TARGETS,
                   help="inference target (default: the run's)")
    p.add_argument("--env-backend", choices=["auto", "envpool", "gymnasium"],
                   help="env engine (default: the run's); a network trained on one engine "
                        "can be evaluated on the other")
    p.add_argument("--port", help="serial port (--target fpga); a device built by `ec-hw "
                                  "deploy` with this run's network is used as it is (no LOAD)")
    p.add_argument("--board", help="board settings (baud) for --target fpga/sim "
                                   "(default arty_a7)")
    p.add_argument("--video", type=Path, metavar="MP4", help="record the first episode")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args) -> int:
    import numpy as np

    from .train.backends import BackendSpec
    from .train.checkpoint import read_config
    from .train.local import InProcessEvaluator
    from .train.run import Trainer
    from .train.strategy import make_strategy

    if args.episodes < 1:
        raise EcHwError(f"--episodes must be positive, not {args.episodes}")
    cfg, net, core, _ = read_config(args.run)
    target = args.target or cfg.target
    if args.port and target != "fpga":
        raise EcHwError(f"--port is only used with --target fpga (the target here is {target})")
    if target == "fpga" and not args.port:
        raise EcHwError("--target fpga needs --port (the board's serial port)")
    spec = BackendSpec(target=target, net=net, core=core,
                       network=make_strategy(cfg, net).backend_network, port=args.port,
                       slots=args.episodes, board=args.board or "arty_a7", sampler=False)
    from .tasks import is_task
    from .train.envs import resolve_env_backend

    if is_task(cfg.env_id):
        return _eval_task(args, cfg, net, core, spec, target)
    engine = resolve_env_backend(cfg.env_id, args.env_backend or cfg.env_backend)
    with InProcessEvaluator(spec, engine) as ev:
        from dataclasses import replace

        tr = Trainer.resume(replace(cfg, target=target), net, core, args.run, ev)
        if args.best and tr.state.best_params is None:
            from .train.state import NO_BEST

            raise EcHwError(f"{args.run} {NO_BEST}")
        seeds = args.seed + np.arange(args.episodes)
        res = tr.evaluate_deterministic(args.episodes, seeds, best=args.best)
    which = (f"best deterministic network (after {tr.state.best_generation} generations, "
             f"{tr.state.best_return:.1f} on the run's evaluation episodes)" if args.best
             else f"deterministic network after {tr.state.generation} generations")
    print(f"{cfg.env_id} {which}, "
          f"target {target}, env engine {engine}: return {res.returns.mean():.1f} +- "
          f"{res.returns.std():.1f} "
          f"(min {res.returns.min():.1f}, max {res.returns.max():.1f}, {args.episodes} "
          f"episodes, mean length {res.steps.mean():.0f})")
    if args.video:
        from .train.video import record_episode

        path = record_episode(tr, int(seeds[0]), args.video, best=args.best)
        print(f"video: {path}")
    return 0


def _eval_task(args, cfg, net, core, spec, target) -> int:
    """``ec-hw eval`` of a classification run: the deployed network on the held-out split."""
    from dataclasses import replace

    from .tasks.classify import ClassifyEvaluator
    from .tasks.data import load_dataset
    from .train.run import Trainer

    if args.video or args.env_backend:
        raise EcHwError(f"--{'video' if args.video else 'env-backend'} has no meaning for a "
                        f"--task run")
    if target == "float":
        raise EcHwError("--target float does not take the core's image encoding; a --task run "
                        "evaluates on model, sim or fpga")
    if target == "sim":
        _prebuild_virtual_board(spec)
    with ClassifyEvaluator(spec, load_dataset(cfg.env_id)) as ev:
        tr = Trainer.resume(replace(cfg, target=target), net, core, args.run, ev)
        res = tr.evaluate_deterministic(1)
    print(f"{cfg.env_id} deterministic network after {tr.state.generation} generations, "
          f"target {target}: held-out accuracy {res.returns[0]:.2f} % ({int(res.steps[0])} "
          f"images), cross-entropy {-res.fitness[0]:.4f}")
    return 0


# --- deploy ----------------------------------------------------------------------------------

def _add_deploy(sub) -> None:
    p = sub.add_parser("deploy", help="build a device that runs a run's deterministic network "
                                      "from power-up (no LOAD)",
                       description="Build the device for a board with the run's deterministic "
                                   "network (rho > 0.5) in its connection memories, every slot. "
                                   "INFO reports FEATURE_DEPLOYED and the network's hash; "
                                   "`ec-hw eval RUN --target fpga --port P` then only streams "
                                   "observations and reads actions.")
    p.add_argument("run", type=Path, help="run directory (EC)")
    p.add_argument("--best", action="store_true", help=BEST_HELP)
    p.add_argument("--board", required=True, help="board (boards/<name>.toml): ulx3s, arty_a7")
    p.add_argument("--out", type=Path, help="build folder (default build/deploy_<board>)")
    p.add_argument("--program", action="store_true", help="program the board afterwards")
    p.add_argument("--virtual", action="store_true",
                   help="instead of the FPGA flow, run the deployed device as a virtual board "
                        "(Verilator, the same Verilog) behind a pseudo-terminal until Ctrl-C")
    p.set_defaults(func=_cmd_deploy)


def _cmd_deploy(args) -> int:
    from dataclasses import replace

    from .build import build, load_board
    from .export import load_network
    from .protocol import network_hash
    from .tools import default_build_root

    board = load_board(args.board)
    if not Path(args.run).is_dir():
        raise EcHwError(f"no run directory {args.run}")
    dep = load_network(args.run, best=args.best)
    h = network_hash(dep.genome)
    if args.virtual:
        from .boardsim import VirtualBoard

        core = replace(dep.core, slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
        print(f"building the deployed virtual {board.name} (network {h:#010x}, {core.slots} "
              f"slots) ...", file=sys.stderr, flush=True)
        with VirtualBoard(dep.net, core, deployed=dep.genome) as vb:
            print(vb.port, flush=True)
            print(f"deployed virtual board running (pid {vb.pid}); `ec-hw eval {args.run} "
                  f"--target fpga --port {vb.port}`; Ctrl-C stops it", file=sys.stderr,
                  flush=True)
            vb.serve()
        return 0
    out = args.out or default_build_root() / f"deploy_{board.name}"
    print(f"deploying {args.run} (generation {dep.generation}, network {h:#010x}) to "
          f"{board.name}")
    summary = build(board, dep.net, out=Path(out), program=args.program, deployed=dep.genome,
                    core=dep.core)
    if summary["bitstream"] is None:
        print("no bitstream was produced here (see above)")
    return 0


# --- plot ------------------------------------------------------------------------------------

def _add_plot(sub) -> None:
    p = sub.add_parser("plot", help="overlay runs' learning curves in one PNG",
                       description="Overlay runs' learning curves. Runs of one configuration "
                                   "(the same settings except the seed) are drawn as the mean "
                                   "over seeds with a band.")
    p.add_argument("run", type=Path, nargs="+", help="run directories")
    p.add_argument("--x", choices=["steps", "wall"], default="steps",
                   help="x-axis: env steps (default) or wall-clock training time")
    p.add_argument("--band", choices=["minmax", "std"], default="minmax",
                   help="band over seeds: min-max (default) or mean +- 1 std")
    p.add_argument("--out", type=Path, help="PNG path (default RUN/curve.png of the first run)")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args) -> int:
    from .train.plot import plot_runs
    from .train.rundir import RunFolderError, check_writable_dir

    out = args.out or Path(args.run[0]) / "curve.png"
    if out.is_dir():
        raise EcHwError(f"--out {out} is a folder; name a PNG file")
    try:
        check_writable_dir(out.parent, "--out")
    except RunFolderError:
        if args.out is not None:
            raise  # names --out and why
        raise EcHwError(f"cannot write {out} (its folder is not writable); name a PNG "
                        f"elsewhere with --out") from None
    try:
        plot_runs(args.run, out, x=args.x, band=args.band)
    except OSError as exc:
        raise EcHwError(f"cannot write {out} ({exc.strerror or exc}); name a PNG elsewhere "
                        f"with --out") from None
    print(f"wrote {out}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = OneLineParser(prog="ec-hw", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ec-hw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_plot(sub)
    _add_deploy(sub)
    from .export import add_export_arguments, main_export

    ex = sub.add_parser("export", help="write a run's deterministic network as a NIR graph "
                                       "or as $readmemh files of the core's memories",
                        description="Export the deterministic network (rho > 0.5) of an EC "
                                    "run: --format nir (a NIR graph, HDF5) or --format mem "
                                    "($readmemh files, one per connection memory).")
    add_export_arguments(ex)
    ex.set_defaults(func=main_export)
    from .boardsim import add_board_sim_arguments, main_board_sim

    bs = sub.add_parser("board-sim", help="run a virtual board (the core's Verilog in "
                                          "Verilator) behind a pseudo-terminal",
                        description=main_board_sim.__doc__)
    add_board_sim_arguments(bs)
    from .boardsim_pcie import serve_pcie_board

    bs.set_defaults(func=functools.partial(main_board_sim, serve_pcie=serve_pcie_board))
    return parser


def main(argv: list[str] | None = None) -> int:
    from .runtime import setup_process

    setup_process()
    os.environ.setdefault("MUJOCO_GL", "egl")
    args = _build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EcHwError as exc:
        return error_exit(str(exc))
    except ValueError as exc:
        return error_exit(str(flag_error(exc)))
    except OSError as exc:  # a file-system fault no check above foresaw
        where = f" ({exc.filename})" if exc.filename else ""
        return error_exit(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        print("ec-hw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
