"""The JAX int8 peer of bench/bench_model.py (optional extra ``bench``): skipped without JAX."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.reference import RefState, ref_step

from .test_bench import BENCH, ROOT, load_bench

pytest.importorskip("jax")


def test_jax_int8_network_is_the_reference_network():
    """The JAX peer computes the float64 reference's network (float32 rounding aside)."""
    bench = load_bench()
    net = NetConfig(n_neurons=64, obs_dim=5, act_dim=2, substeps=33)
    lay = GenomeLayout.of(net)
    rng = np.random.default_rng(4)
    batch = 16
    bits = rng.random((batch, lay.n_conn)) < 0.5
    z = rng.normal(size=(2, batch, net.obs_dim))
    peer = bench.JaxInt8(net, bits)
    carry = None
    ref = RefState.zeros(batch, net.n_neurons)
    for t in range(2):
        act32, carry = peer.run(z[t:t + 1], carry)
        act64 = ref_step(net, pack_genome(bits, lay), ref, z[t])
        spikes = np.asarray(carry[3]) != 0
        same = (spikes == ref.spk.astype(bool)).all(axis=1)
        assert same.mean() >= 0.9
        assert np.abs(np.asarray(act32) - act64)[same].max() < 1e-4
    assert ref.spk.any()
    # Inhibitory spikes are -1 in the int8 spike vector, excitatory +1.
    s = np.asarray(carry[3])
    assert set(np.unique(s[:, :net.n_exc])) <= {0, 1}
    assert set(np.unique(s[:, net.n_exc:])) <= {-1, 0}


def test_bench_json_reports_jax_and_the_old_kernel():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(BENCH), "--neurons", "32", "--batch", "4",
                           "--env-steps", "1", "--substeps", "3", "--repeat", "1",
                           "--min-time", "0", "--json"], capture_output=True, text=True, env=env,
                          timeout=900, check=True)
    r = json.loads(proc.stdout)  # one JSON object and nothing else
    assert r["new_equals_old_bit_exact"] is True
    assert set(r["by_threads"]) >= {"1"}
    for row in r["by_threads"].values():
        for key in ("golden_substeps_per_s", "old_kernel_substeps_per_s",
                    "jax_int8_substeps_per_s", "golden_over_jax_int8", "new_over_old"):
            assert row[key] > 0, key
    for key in ("golden_substeps_per_s", "jax_int8_substeps_per_s", "golden_over_jax_int8",
                "new_over_old", "new_over_old_1thread", "golden_over_jax_int8_1thread"):
        assert r[key] > 0, key
