"""Connectivity masks (ec_hw.topology): the mixer's blocks, validation, the start of rho, and
the host sampler drawing masked connections as 0 bit-exactly."""

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.mask import mask_savings
from ec_hw.model.packing import GenomeLayout, unpack_genome
from ec_hw.model.sampler import quantize_rho, sample_member_bits, sample_members
from ec_hw.topology import (
    INIT_SPREAD,
    connectivity_mask,
    initial_rho,
    mixer_shape,
    parse_topology,
)


def mixer_net(n=256, obs=64, act=10, topology="mixer"):
    return NetConfig(n_neurons=n, obs_dim=obs, act_dim=act, topology=topology)


def split(net, flat):
    n, d = net.n_neurons, net.obs_dim
    a = n * 2 * d
    return (flat[:a].reshape(n, 2 * d), flat[a:a + n * n].reshape(n, n),
            flat[a + n * n:].reshape(net.act_dim, n))


def test_dense_has_no_mask_and_starts_at_half():
    net = NetConfig()
    assert net.topology == "dense" and connectivity_mask(net) is None
    assert np.array_equal(initial_rho(net, 0), np.full(net.n_conn, 0.5))


@pytest.mark.parametrize("spec,msg", [
    ("", "topology must be a non-empty string"),
    ("conv", "topology must be one of dense, mixer"),
    ("mixer:patch", "expected positive integer parameters"),
    ("mixer:patch=0", "expected positive integer parameters"),
    ("mixer:depth=2", "key in \\(patch, channels\\)"),
    ("dense:patch=2", "key in \\(none\\)"),
])
def test_parse_errors(spec, msg):
    with pytest.raises(ValueError, match=msg):
        parse_topology(spec)
    with pytest.raises(ValueError, match=msg):
        mixer_net(topology=spec)


@pytest.mark.parametrize("kw,msg", [
    ({"obs": 60}, "obs_dim 60 is not a square"),
    ({"topology": "mixer:patch=3"}, "patch 3 does not divide the image side 8"),
    ({"topology": "mixer:channels=11"}, "need 264 neurons"),
    ({"n": 16, "obs": 64}, "need 24 neurons"),
])
def test_mixer_that_does_not_fit_is_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        mixer_net(**kw)


def test_mixer_blocks():
    net = mixer_net(topology="mixer:patch=4,channels=5")
    sh = mixer_shape(net)
    assert (sh.tokens, sh.channels, sh.units, sh.n_used) == (4, 5, 20, 120)
    w_in, w_rec, w_out = split(net, connectivity_mask(net))
    l0, l1, l2 = (sh.layer(k) for k in range(3))  # (2, T, C): E and I halves
    assert (l0[0] < net.n_exc).all() and (l0[1] >= net.n_exc).all()
    pix = sh.patch_pixels()
    assert sorted(pix.ravel()) == list(range(64))
    assert set(pix[1]) == {4 + 8 * r + c for r in range(4) for c in range(4)}  # top-right
    d = net.obs_dim
    for t in range(sh.tokens):
        want = np.zeros(2 * d, bool)
        want[pix[t]] = want[d + pix[t]] = True
        for j in l0[:, t, :].ravel():
            assert np.array_equal(w_in[j], want)
    used = np.concatenate([l0.ravel(), l1.ravel(), l2.ravel()])
    others = np.setdiff1d(np.arange(net.n_neurons), l0.ravel())
    assert not w_in[others].any()
    # layer 1 (t, c) <- layer 0 (t', c) for every t'; layer 2 (t, c) <- layer 1 (t, c') for
    # every c'; nothing else in the recurrent matrix.
    want = np.zeros_like(w_rec)
    for h in range(2):
        for t in range(sh.tokens):
            for c in range(sh.channels):
                want[l1[h, t, c], l0[:, :, c].ravel()] = True
                want[l2[h, t, c], l1[:, t, :].ravel()] = True
    assert np.array_equal(w_rec, want)
    assert np.array_equal(np.flatnonzero(w_out.any(axis=0)), np.sort(used))
    assert w_out[:, used].all()
    s = mask_savings(net)
    assert s["n_live"] == 40 * 32 + 5 * 8 * 8 + 4 * 10 * 10 + 10 * 120
    assert s["rho_bytes"] == 2 * net.n_conn and 0.9 < s["zero_rho_blocks"] < 1


def test_channels_default_to_the_most_that_fit():
    assert mixer_shape(mixer_net(256)).channels == 10     # 3 x 4 x 10 = 120 <= 128 per half
    assert mixer_shape(mixer_net(512)).channels == 21
    assert mixer_shape(mixer_net(1024)).channels == 42


def test_initial_rho_of_a_mixer():
    net = mixer_net()
    mask = connectivity_mask(net)
    rho = initial_rho(net, 3)
    assert (rho[~mask] == 0).all()
    live = rho[mask]
    assert set(np.unique(live)) == {0.5 - INIT_SPREAD, 0.5 + INIT_SPREAD}
    assert 0.45 < np.mean(live > 0.5) < 0.55
    assert np.array_equal(rho, initial_rho(net, 3))
    assert not np.array_equal(rho, initial_rho(net, 4))


def test_host_sampler_draws_masked_connections_as_zero():
    net = mixer_net(64)
    lay = GenomeLayout.of(net)
    mask = connectivity_mask(net)
    rng = np.random.default_rng(0)
    rho_q = quantize_rho(np.where(mask, rng.uniform(0, 1, net.n_conn), 0.0))
    rho_q[np.flatnonzero(mask)[:5]] = 65535
    g = sample_members(1234, np.arange(16), rho_q, lay)
    bits = unpack_genome(g, lay)
    assert not bits[:, ~mask].any()
    assert bits[:, mask].mean() > 0.3
    assert np.array_equal(bits[3], sample_member_bits(1234, 3, rho_q))
