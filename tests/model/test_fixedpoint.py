"""fixedpoint.derive: refused configurations (pinned messages) and a property test.

The property: over random NetConfig/CoreConfig pairs, ``derive`` refuses exactly when one of
the spec's bounds fails (restated here from the docstring), and when it accepts, a run under
adversarial stimuli keeps every intermediate within its declared width (checked by the
instrumented restatement) and the compiled golden model equals the restatement bit for bit.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings, target
from hypothesis import strategies as st

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive
from ec_hw.model.packing import GenomeLayout

from .helpers import drive_all, one_population_drives, run_single
from .spec import Extremes, SpecConstants


@pytest.mark.parametrize("net,core,message", [
    (NetConfig(tau_syn=1e9), CoreConfig(), "alpha_syn quantizes to 65536, outside 1..2**16-1"),
    (NetConfig(tau_syn=0.01), CoreConfig(), "alpha_syn quantizes to 0, outside 1..2**16-1"),
    (NetConfig(tau_m=0.5), CoreConfig(),
     "b_m quantizes to 41427; it must lie in 1..2**15-1 (dt/tau too large or decay_bits too "
     "small)"),
    (NetConfig(tau_m=1e9), CoreConfig(),
     "b_m quantizes to 0; it must lie in 1..2**15-1 (dt/tau too large or decay_bits too small)"),
    (NetConfig(tau_out=0.5), CoreConfig(decay_bits=12),
     "b_out quantizes to 2589; it must lie in 1..2**11-1 (dt/tau too large or decay_bits too "
     "small)"),
    (NetConfig(), CoreConfig(frac_bits=16, state_bits=25, obs_bits=20),
     "i_syn can reach 22036073, beyond the 25-bit state range; raise state_bits or lower "
     "frac_bits"),
    (NetConfig(n_neurons=64, exc_fraction=0.2), CoreConfig(state_bits=20),
     "i_syn can reach 1097505, beyond the 20-bit state range; raise state_bits or lower "
     "frac_bits"),
    (NetConfig(dt=4e-4, tau_syn=4e-4, tau_m=4e-3, tau_out=4e-3), CoreConfig(),
     "Vth or the rate target does not fit the state width"),
    (NetConfig(n_neurons=16), CoreConfig(rout_bits=17),
     "R_out quantizes to 231705, outside one DSP48 B port (n_neurons too small or rout_bits "
     "too large)"),
    (NetConfig(), CoreConfig(frac_bits=8, rout_bits=8, action_frac_bits=16),
     "action_frac_bits must be below frac_bits + rout_bits"),
    (NetConfig(n_neurons=4096), CoreConfig(),
     "the readout accumulator needs 26 bits, beyond one DSP48"),
], ids=["a_syn-high", "a_syn-zero", "b_m-high", "b_m-zero", "b_out-high", "i_syn-wide-frac",
        "i_syn-narrow-state", "rate-target", "r_out", "out-shift", "acc-bits"])
def test_derive_refuses_overflowing_configurations(net, core, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        derive(net, core)


def test_i_syn_refusal_is_at_the_bound():
    """state_bits = 22 holds the defaults' 1.38e6 bound (< 2**21), state_bits = 21 does not."""
    assert 2 ** 20 < derive(NetConfig(), CoreConfig(state_bits=22)).isyn_bound < 2 ** 21
    with pytest.raises(ValueError, match=r"^i_syn can reach 1377259, beyond the 21-bit"):
        derive(NetConfig(), CoreConfig(state_bits=21))


def spec_accepts(c: SpecConstants) -> bool:
    """The bounds of the spec's "Bounds" section and its constant widths, restated."""
    smax = 2 ** (c.S - 1)
    return (0 < c.A_SYN < 2 ** c.K and 0 < c.B_M < 2 ** (c.K - 1)
            and 0 < c.B_OUT < 2 ** (c.K - 1) and c.ISYN_BOUND < smax
            and c.VTH_Q < smax and c.RATE_Q < smax and 0 < c.ROUT_Q < 2 ** 17
            and c.OUT_SHIFT >= 1 and c.ACC_BITS <= 25)


@st.composite
def configs(draw, max_neurons=96):
    net = NetConfig(
        n_neurons=draw(st.integers(16, max_neurons)),
        exc_fraction=draw(st.floats(0.05, 0.95)),
        obs_dim=draw(st.integers(1, 8)),
        act_dim=draw(st.integers(1, 3)),
        substeps=draw(st.integers(1, 24)),
        dt=draw(st.floats(0.05, 2.0)),
        tau_syn=draw(st.floats(0.2, 60.0)),
        tau_m=draw(st.floats(0.2, 60.0)),
        tau_out=draw(st.floats(0.2, 60.0)),
        vth=draw(st.floats(0.05, 8.0)),
    )
    f = draw(st.integers(8, 16))
    s = draw(st.integers(f + 6, 25))
    core = CoreConfig(frac_bits=f, state_bits=s, decay_bits=draw(st.integers(8, 17)),
                      obs_bits=draw(st.integers(f + 1, s)),
                      action_frac_bits=draw(st.integers(4, 30)),
                      rout_bits=draw(st.integers(8, 17)))
    return net, core


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.data())
def test_derive_refuses_exactly_when_a_spec_bound_fails(data):
    try:
        net, core = data.draw(configs(max_neurons=5000))
    except ValueError:
        assume(False)
    c = SpecConstants(net, core)
    try:
        derive(net, core)
        accepted = True
    except ValueError:
        accepted = False
    event("accepted" if accepted else "refused")
    assert accepted == spec_accepts(c)


STIMULI = ("random", "all_on", "exc_drives", "inh_drives", "drive_all_exc_out",
           "drive_all_inh_out")


def stimulus_bits(kind: str, net: NetConfig, rng) -> np.ndarray:
    lay = GenomeLayout.of(net)
    if kind == "random":
        return rng.random(lay.n_conn) < rng.uniform(0.1, 0.9)
    if kind == "all_on":
        return np.ones(lay.n_conn, bool)
    if kind in ("exc_drives", "inh_drives"):
        return one_population_drives(net, kind == "exc_drives")
    return drive_all(net, None, kind == "drive_all_exc_out")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(st.data())
def test_accepted_configurations_stay_within_their_widths(data):
    try:
        net, core = data.draw(configs())
    except ValueError:
        assume(False)
    try:
        derive(net, core)
    except ValueError:
        assume(False)
    kind = data.draw(st.sampled_from(STIMULI))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    lim = 2 ** (core.obs_bits - 1)
    d = net.obs_dim
    pattern = data.draw(st.sampled_from(("pos", "neg", "alternate", "random")))
    steps = []
    for t in range(4):
        if pattern == "random":
            steps.append(rng.integers(-lim, lim, size=d).tolist())
        else:
            positive = pattern == "pos" or (pattern == "alternate" and t % 2 == 0)
            steps.append([lim - 1 if positive else -lim] * d)
    # WidthViolation (an AssertionError) if any intermediate leaves its declared range;
    # AssertionError if the compiled model differs from the restatement.
    ext = Extremes()
    spec = run_single(net, core, stimulus_bits(kind, net, rng), steps, ext)
    # Steer the search toward runs that press i_syn against its bound.
    target(max(ext.hi["i_syn"], -ext.lo["i_syn"]) / spec.c.ISYN_BOUND, label="i_syn / bound")

