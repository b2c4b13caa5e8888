"""ES-GRU and ES-LSTM cells against a plain-numpy restatement of their equations."""

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.dense import RecurrentLayout, RecurrentState, dense_layout, recurrent_step
from ec_hw.model.reference import DenseLayout


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _numpy_cell(kind, theta, d, h_dim, a_dim):
    """The cell as matrices cut from theta by hand (flax's GRUCell/LSTMCell + Dense)."""
    g = 3 if kind == "gru" else 4
    gh = g * h_dim
    o = 0
    wx = theta[o:o + d * gh].reshape(d, gh) / np.sqrt(d)
    o += d * gh
    wh = theta[o:o + h_dim * gh].reshape(h_dim, gh) / np.sqrt(h_dim)
    o += h_dim * gh
    b = theta[o:o + gh]
    o += gh
    b_hn = None
    if kind == "gru":
        b_hn = theta[o:o + h_dim]
        o += h_dim
    w_out = theta[o:o + a_dim * h_dim].reshape(a_dim, h_dim) / np.sqrt(h_dim)
    o += a_dim * h_dim
    b_out = theta[o:o + a_dim]
    assert o + a_dim == theta.size

    def step(x, h, c):
        gx = x @ wx + b
        gr = h @ wh
        if kind == "gru":
            r = _sig(gx[:h_dim] + gr[:h_dim])
            z = _sig(gx[h_dim:2 * h_dim] + gr[h_dim:2 * h_dim])
            n = np.tanh(gx[2 * h_dim:] + r * (gr[2 * h_dim:] + b_hn))
            h = (1 - z) * n + z * h
        else:
            pre = gx + gr
            i, f = _sig(pre[:h_dim]), _sig(pre[h_dim:2 * h_dim])
            gg, og = np.tanh(pre[2 * h_dim:3 * h_dim]), _sig(pre[3 * h_dim:])
            c = f * c + i * gg
            h = og * np.tanh(c)
        return np.clip(w_out @ h + b_out, -1, 1), h, c

    return step


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_members_act_like_the_numpy_equations(kind):
    d, h_dim, a_dim, b = 5, 24, 3, 4
    lay = RecurrentLayout(kind, h_dim, d, a_dim)
    rng = np.random.default_rng(3)
    # trained-looking members: nonzero biases, weights of several scales
    thetas = rng.standard_normal((b, lay.n_params)) * rng.uniform(0.5, 2.0, (b, 1))
    w = lay.effective(thetas)
    st = RecurrentState.zeros(b, h_dim)
    cells = [_numpy_cell(kind, thetas[m], d, h_dim, a_dim) for m in range(b)]
    hs = [np.zeros(h_dim) for _ in range(b)]
    cs = [np.zeros(h_dim) for _ in range(b)]
    for t in range(30):
        z = rng.normal(0, 2, (b, d))
        active = np.array([True, t % 3 != 0, True, t < 10])
        if t == 17:  # an episode ends for member 0: its state restarts from zero
            st.reset(np.array([True, False, False, False]))
            hs[0], cs[0] = np.zeros(h_dim), np.zeros(h_dim)
        act = recurrent_step(lay, w, st, z, active)
        for m in range(b):
            if not active[m]:
                assert np.all(act[m] == 0)
                continue
            want, hs[m], cs[m] = cells[m](z[m], hs[m], cs[m])
            # float32 cell vs float64 restatement
            np.testing.assert_allclose(act[m], want, atol=2e-4)
            np.testing.assert_allclose(st.h[m], hs[m], atol=2e-4)
    assert np.abs(st.h).max() > 0.1  # the cells did something


@pytest.mark.parametrize("kind,gates", [("gru", 3), ("lstm", 4)])
def test_layout_shapes_and_initial_center(kind, gates):
    net = NetConfig(n_neurons=256, obs_dim=11, act_dim=3)
    lay = dense_layout(kind, net)
    h, d, a = 256, 11, 3
    assert lay.n_params == gates * h * (d + h + 1) + (h if kind == "gru" else 0) + a * h + a
    theta = lay.initial_params(np.random.default_rng(0))
    off, size = lay.offsets, lay.sizes
    for k in ("b", "b_hn", "b_out"):
        assert np.all(theta[off[k]:off[k] + size[k]] == 0)
    w_h = lay.effective(theta[None])[0, off["w_h"]:off["w_h"] + size["w_h"]]
    assert w_h.dtype == np.float32 and abs(w_h.std() - 1 / 16) < 0.002  # LeCun scale
    assert isinstance(dense_layout("snn", net), DenseLayout)
    with pytest.raises(ValueError, match="network must be one of snn, gru, lstm, not 'mlp'"):
        dense_layout("mlp", net)


def test_steps_are_deterministic_and_independent_of_the_batch():
    lay = RecurrentLayout("lstm", 32, 4, 2)
    thetas = np.random.default_rng(0).standard_normal((6, lay.n_params))
    z = np.random.default_rng(1).standard_normal((5, 6, 4))

    def run(rows):
        st = RecurrentState.zeros(len(rows), 32)
        return np.stack([recurrent_step(lay, lay.effective(thetas[rows]), st, zt[rows])
                         for zt in z])

    full = run(np.arange(6))
    assert np.array_equal(full, run(np.arange(6)))
    assert np.array_equal(full[:, [4, 1]], run(np.array([4, 1])))
