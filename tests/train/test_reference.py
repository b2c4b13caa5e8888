"""The float reference against cases computed by hand from the paper's equations."""

import math

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.reference import DenseLayout, RefState, dense_step, ref_step


def _genome(net, w_in=(), w_rec=(), w_out=()):
    """Flat genome with the listed (row, col) connections set."""
    lay = GenomeLayout.of(net)
    bits = np.zeros(lay.n_conn, bool)
    for j, i in w_in:
        bits[j * net.n_inputs + i] = True
    for j, k in w_rec:
        bits[lay.off_rec_bits + j * net.n_neurons + k] = True
    for a, j in w_out:
        bits[lay.off_out_bits + a * net.n_neurons + j] = True
    return pack_genome(bits[None], lay)


def test_constant_input_charges_the_membrane_like_the_closed_form():
    # One excitatory neuron driven by +x: v_n = c (1 - a_m**n) until it first exceeds Vth = 1.
    net = NetConfig(n_neurons=16, obs_dim=1, act_dim=1, substeps=40)
    z = 1.5
    c = net.r_in * z  # i_in; no recurrence, so i_syn stays 0
    g = _genome(net, w_in=[(0, 0)], w_out=[(0, 0)])
    st = RefState.zeros(1, 16)
    ref_step(net, g, st, np.array([[z]]))
    n_first = math.ceil(math.log(1 - 1 / c) / math.log(net.alpha_m))
    # After the first spike the neuron restarts from 0, so spikes repeat every n_first substeps.
    n_spikes = net.substeps // n_first
    last = n_spikes * n_first
    v_end = c * (1 - net.alpha_m ** (net.substeps - last))
    assert st.v[0, 0] == pytest.approx(v_end, rel=1e-12)
    # rate: each spike adds (1 - a_out) / dt, everything decays by a_out per substep
    rate = sum((1 - net.alpha_out) / net.dt * net.alpha_out ** (net.substeps - k * n_first)
               for k in range(1, n_spikes + 1))
    assert st.rate[0, 0] == pytest.approx(rate, rel=1e-12)
    assert st.v[0, 1:].tolist() == [0.0] * 15


def test_a_spike_reaches_the_postsynaptic_current_one_substep_later_with_weight_R():
    net = NetConfig(n_neurons=16, obs_dim=1, act_dim=1, substeps=1)
    g = _genome(net, w_rec=[(1, 0), (2, 8)])  # neuron 0 (E) -> 1, neuron 8 (I) -> 2
    st = RefState.zeros(1, 16)
    st.spk[0, 0] = 1
    st.spk[0, 8] = 1
    ref_step(net, g, st, np.zeros((1, 1)))
    assert st.i_syn[0, 1] == pytest.approx(net.r_rec)
    assert st.i_syn[0, 2] == pytest.approx(-net.r_rec)
    assert st.v[0, 1] == pytest.approx((1 - net.alpha_m) * net.r_rec)
    st.spk[:] = 0
    ref_step(net, g, st, np.zeros((1, 1)))
    assert st.i_syn[0, 1] == pytest.approx(net.alpha_syn * net.r_rec)


def test_readout_is_signed_and_clipped():
    net = NetConfig(n_neurons=16, obs_dim=1, act_dim=2, substeps=1)
    g = _genome(net, w_out=[(0, 0), (1, 8)])
    st = RefState.zeros(1, 16)
    st.rate[0, 0] = 0.5   # E neuron, positive trace
    st.rate[0, 8] = -10.0  # I neuron, negative trace (signed, as the authors keep it)
    act = ref_step(net, g, st, np.zeros((1, 1)))
    assert act[0, 0] == pytest.approx(net.r_out * 0.5 * net.alpha_out)
    assert act[0, 1] == -1.0


def test_nan_observations_count_as_zero_and_inactive_members_are_untouched():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=1, substeps=3)
    lay = GenomeLayout.of(net)
    g = np.repeat(pack_genome(np.ones((1, lay.n_conn), bool), lay), 2, axis=0)
    st = RefState.zeros(2, 16)
    ref_step(net, g, st, np.array([[np.nan, 0.0], [5.0, 5.0]]), np.array([True, False]))
    assert np.all(st.v[0] == 0) and np.all(st.v[1] == 0)


def test_dense_network_follows_the_same_equations():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=1, substeps=1)
    lay = DenseLayout.of(net)
    theta = np.zeros((1, lay.n_params))
    theta[0, 0 * 2 + 1] = 3.0  # W_in[0, 1]
    theta[0, 32 + 0 * 16 + 5] = -2.0  # W_rec^T[pre 0, post 5]
    st = RefState.zeros(1, 16)
    st.spk[0, 0] = 1
    dense_step(net, theta, st, np.array([[0.0, 0.5]]))
    r_in, r = math.sqrt(2 / 2), 2 * math.sqrt(2 / 16)
    assert st.i_syn[0, 5] == pytest.approx(-2.0 * r)
    assert st.v[0, 0] == pytest.approx((1 - net.alpha_m) * r_in * 1.5)
