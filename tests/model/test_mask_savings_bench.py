"""bench/mask_savings.py: its live-only encodings reduce to the protocol's byte counts when
every connection is live, and agree with ec_hw.model.mask.mask_savings on a mixer."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.top import default_max_payload
from ec_hw.model.mask import mask_savings
from ec_hw.protocol import WireFormat
from ec_hw.topology import connectivity_mask

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mask_savings.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("mask_savings_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def wire_of(net):
    core = replace(CoreConfig(), slots=2, lanes=4, word_bits=64)
    return WireFormat.of(net, core, default_max_payload(net, core))


def test_runs_finds_every_run_of_live_items():
    b = load_bench()
    assert b.runs(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)) == [2, 1, 3]
    assert b.runs(np.zeros(5, bool)) == []
    assert b.runs(np.ones(4, bool)) == [4]


def test_all_live_costs_exactly_what_the_protocol_sends_now():
    b = load_bench()
    net = NetConfig(n_neurons=32, obs_dim=11, act_dim=3)
    r = b.savings(net, wire_of(net), np.ones(net.n_conn, bool))
    assert r["load_rho_bytes_live"] == r["load_rho_bytes_now"]
    assert r["load_bytes_live"] == r["load_bytes_now"]
    assert r["rho_blocks_live"] == r["rho_blocks"]
    assert r["words_live"] == r["words"]
    assert r["rho_bits_live"] == 16 * net.n_conn <= r["rho_bits_now"]


def test_mixer_savings_agree_with_mask_savings():
    b = load_bench()
    net = NetConfig(n_neurons=64, obs_dim=64, act_dim=10, topology="mixer")
    mask = connectivity_mask(net)
    r = b.savings(net, wire_of(net), mask)
    ref = mask_savings(net)
    assert r["n_live"] == ref["n_live"] < r["n_conn"] == ref["n_conn"]
    assert np.isclose(1 - r["rho_blocks_live"] / r["rho_blocks"], ref["zero_rho_blocks"])
    assert np.isclose(1 - r["words_live"] / r["words"], ref["zero_genome_words"])
    assert r["load_rho_bytes_live"] < r["load_rho_bytes_now"]
    assert r["load_bytes_live"] < r["load_bytes_now"]
