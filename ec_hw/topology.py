"""Connectivity masks: structured topologies on the unchanged recurrent core.

A network's topology (:attr:`ec_hw.config.NetConfig.topology`) names which of its Bernoulli
connections exist. The others are *fixed zeros*: their ``rho`` is exactly 0, never moved by the
NES update (:class:`ec_hw.train.strategy.EC`), so every sampler draws them as 0 bit-exactly
(``theta = u < rho_q`` with ``rho_q = 0`` is never true, in :mod:`ec_hw.model.sampler` and in
the gateware's ``SampleUnit`` alike) and the golden model, the core and the link carry the
zeros like any other connection. Nothing downstream of the genome changes: a feedforward or
block-structured network *is* a recurrent network whose matrix is zero outside its blocks.

Topologies
----------
``dense``
    Every connection exists (the default; no mask).
``mixer`` or ``mixer:patch=P,channels=C``
    A spiking MLP-Mixer over a square image of ``obs_dim = S * S`` pixels, ``act_dim``
    classes. The image is cut into ``T = (S / P)**2`` patches of ``P * P`` pixels (tokens).
    Three layers of ``T x C`` units, each unit an excitatory and an inhibitory neuron with
    the same inputs (E/I split, :attr:`NetConfig.n_exc`):

    * layer 0 (patch embedding): unit ``(t, c)`` sees the pixels ``[x, -x]`` of patch ``t``;
    * layer 1 (token mixing): unit ``(t, c)`` sees layer-0 units ``(t', c)`` of every token;
    * layer 2 (channel mixing): unit ``(t, c)`` sees layer-1 units ``(t, c')`` of every channel;
    * readout: every class sees every neuron of the three layers (the Mixer's residual
      stream carries every block's output to the head; a linear probe of a random network's
      rates reaches 88 % on the held-out digits from all layers against 71 % from layer 2
      alone, N = 256).

    Activity moves one layer per substep (the core's spikes reach the next substep). Neuron
    ``index(layer, t, c, inhibitory)`` = ``(n_exc if inhibitory else 0) + layer * T * C +
    t * C + c``; neurons past the three layers are unused (no connection at all). ``channels``
    defaults to the most that fit: ``min(n_exc, N - n_exc) // (3 T)``; ``patch`` to 4.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["TOPOLOGIES", "parse_topology", "check_topology", "connectivity_mask", "MixerShape",
           "mixer_shape", "initial_rho", "INIT_SPREAD"]


class NetConfig(Protocol):
    """The fields of :class:`ec_hw.config.NetConfig` a topology reads (this module is imported
    by :mod:`ec_hw.config` to validate the field, so it does not import it back)."""

    n_neurons: int
    n_exc: int
    obs_dim: int
    act_dim: int
    n_conn: int
    topology: str

TOPOLOGIES = ("dense", "mixer")
"""Topology names :attr:`NetConfig.topology` accepts (before an optional ``:k=v,...``)."""

_PARAMS = {"dense": (), "mixer": ("patch", "channels")}


def parse_topology(spec: str) -> tuple[str, dict[str, int]]:
    """Split ``name:k=v,k=v`` into the name and integer parameters (ValueError if malformed)."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"topology must be a non-empty string, not {spec!r}")
    name, _, rest = spec.partition(":")
    if name not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {', '.join(TOPOLOGIES)} (with optional "
                         f":key=value,...), not {spec!r}")
    params: dict[str, int] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in _PARAMS[name] or not value.isdigit() or int(value) < 1:
            allowed = ", ".join(_PARAMS[name]) or "none"
            raise ValueError(f"topology {spec!r}: expected positive integer parameters "
                             f"key=value with key in ({allowed}), not {item!r}")
        params[key] = int(value)
    return name, params


@dataclass(frozen=True)
class MixerShape:
    """Sizes of a ``mixer`` topology (see the module docstring)."""

    side: int
    """Image side S (obs_dim = S * S)."""
    patch: int
    """Patch side P."""
    channels: int
    """Channels C per token."""
    n_exc: int
    """First inhibitory neuron (the network's :attr:`NetConfig.n_exc`)."""

    @property
    def tokens(self) -> int:
        return (self.side // self.patch) ** 2

    @property
    def units(self) -> int:
        """Units per layer (T * C); each is an E and an I neuron."""
        return self.tokens * self.channels

    @property
    def n_used(self) -> int:
        """Neurons with connections: 3 layers x 2 x T x C."""
        return 6 * self.units

    def neurons(self, layer: int, inhibitory: bool) -> np.ndarray:
        """Neuron indices of one layer's E or I half, shape (T, C)."""
        base = (self.n_exc if inhibitory else 0) + layer * self.units
        return base + np.arange(self.units).reshape(self.tokens, self.channels)

    def layer(self, layer: int) -> np.ndarray:
        """Both halves of a layer, shape (2, T, C) (E first)."""
        return np.stack([self.neurons(layer, False), self.neurons(layer, True)])

    def patch_pixels(self) -> np.ndarray:
        """Pixel indices (row-major image) of every patch, shape (T, P * P)."""
        s, p = self.side, self.patch
        idx = np.arange(s * s).reshape(s // p, p, s // p, p).transpose(0, 2, 1, 3)
        return idx.reshape(self.tokens, p * p)


def mixer_shape(net: NetConfig, params: dict[str, int] | None = None) -> MixerShape:
    """The :class:`MixerShape` of a ``mixer`` network (ValueError if it does not fit)."""
    if params is None:
        params = parse_topology(net.topology)[1]
    side = int(round(net.obs_dim ** 0.5))
    if side * side != net.obs_dim:
        raise ValueError(f"topology mixer needs a square image: obs_dim {net.obs_dim} is not a "
                         f"square")
    patch = params.get("patch", 4)
    if side % patch:
        raise ValueError(f"topology mixer: patch {patch} does not divide the image side {side}")
    tokens = (side // patch) ** 2
    room = min(net.n_exc, net.n_neurons - net.n_exc)
    channels = params.get("channels", room // (3 * tokens))
    if channels < 1 or 3 * tokens * channels > room:
        raise ValueError(f"topology mixer: 3 layers x {tokens} tokens x {max(channels, 1)} "
                         f"channels need {6 * tokens * max(channels, 1)} neurons (half "
                         f"excitatory), more than n_neurons {net.n_neurons} with n_exc "
                         f"{net.n_exc} holds")
    return MixerShape(side=side, patch=patch, channels=channels, n_exc=net.n_exc)


def check_topology(net: NetConfig) -> None:
    """Raise ValueError if ``net.topology`` is malformed or does not fit ``net``."""
    name, params = parse_topology(net.topology)
    if name == "mixer":
        mixer_shape(net, params)


def _mixer_mask(net: NetConfig) -> np.ndarray:
    sh = mixer_shape(net)
    n, d = net.n_neurons, net.obs_dim
    w_in = np.zeros((n, 2 * d), bool)
    w_rec = np.zeros((n, n), bool)  # [post, pre]
    w_out = np.zeros((net.act_dim, n), bool)
    pix = sh.patch_pixels()
    l0, l1, l2 = sh.layer(0), sh.layer(1), sh.layer(2)  # (2, T, C) each
    for t in range(sh.tokens):
        rows = l0[:, t, :].ravel()
        cols = np.concatenate([pix[t], d + pix[t]])
        w_in[np.ix_(rows, cols)] = True
    for c in range(sh.channels):      # token mixing: within a channel, across tokens
        w_rec[np.ix_(l1[:, :, c].ravel(), l0[:, :, c].ravel())] = True
    for t in range(sh.tokens):        # channel mixing: within a token, across channels
        w_rec[np.ix_(l2[:, t, :].ravel(), l1[:, t, :].ravel())] = True
    w_out[:, np.concatenate([l0.ravel(), l1.ravel(), l2.ravel()])] = True
    return np.concatenate([w_in.ravel(), w_rec.ravel(), w_out.ravel()])


@functools.lru_cache(maxsize=16)
def _cached_mask(net: NetConfig) -> np.ndarray | None:
    name, _ = parse_topology(net.topology)
    if name == "dense":
        return None
    mask = _mixer_mask(net)
    mask.setflags(write=False)
    return mask


def connectivity_mask(net: NetConfig) -> np.ndarray | None:
    """Flat boolean mask ``(n_conn,)`` (genome order, :mod:`ec_hw.genome`) of the connections
    that exist, or None for ``dense`` (all exist). Read-only; computed once per network."""
    return _cached_mask(net)


INIT_SPREAD = 0.3
"""A structured topology's live connections start at ``0.5 +- INIT_SPREAD`` (see
:func:`initial_rho`)."""


def initial_rho(net: NetConfig, seed: int) -> np.ndarray:
    """rho before generation 0: 0.5 everywhere for ``dense`` (the authors' start), else 0 on
    masked connections and ``0.5 +- INIT_SPREAD`` (a fair coin per connection, from ``seed``)
    on live ones.

    The asymmetric start breaks the symmetry of a feedforward network: at rho = 0.5 every
    member is an unrelated random network, so no neuron is selective for the same inputs in
    two members and the natural gradient of the layers above it averages to zero; around one
    random network every member's neurons share their selectivity and the gradient of every
    layer carries signal from the first generation.
    """
    mask = connectivity_mask(net)
    rho = np.full(net.n_conn, 0.5)
    if mask is None:
        return rho
    rng = np.random.Generator(np.random.Philox(key=(int(seed) << 8) ^ 0x70F0))
    rho += np.where(rng.random(net.n_conn) < 0.5, -INIT_SPREAD, INIT_SPREAD)
    rho[~mask] = 0.0
    return rho
