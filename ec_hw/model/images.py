"""Golden model of static inputs: every (network, input) pair for one env step from rest.

A classification task presents an image as one env step: the encoded image is the constant
observation ``x_q`` of ``NetConfig.substeps`` substeps, the network starting from the zero
state, and the readout after the last substep is the class scores. This is
:func:`ec_hw.model.core.core_env_step` (twin of :class:`ec_hw.gateware.core.Core`) on a fresh
:class:`~ec_hw.model.core.NetState`, batched over members x images with ``prange``, so a
population and a minibatch are evaluated without replicating genomes per image. Bit-exact to
loading each member into a slot of any backend, resetting it and stepping it once with the
image (:class:`ec_hw.tasks.classify.ClassifyEvaluator` checks this on ``--target sim``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..fixedpoint import P_ACT_DIM
from .core import core_env_step

__all__ = ["present_images"]


@numba.njit(parallel=True, cache=True)
def _present(p, lay, x_q, genomes, act):
    n, nw = lay[0], lay[4]
    k_img = x_q.shape[0]
    no_trace = np.zeros((0, 0), np.uint64)
    for q in numba.prange(genomes.shape[0] * k_img):
        m = q // k_img
        k = q - m * k_img
        # Fresh state per pair (allocated inside the loop body: never shared across pairs).
        v = np.zeros(n, np.int32)
        i_syn = np.zeros(n, np.int32)
        rate = np.zeros(n, np.int32)
        spk = np.zeros(nw, np.uint64)
        core_env_step(p, lay, x_q[k], genomes[m], v, i_syn, rate, spk, act[m, k], no_trace)


def present_images(p: np.ndarray, lay: np.ndarray, x_q: np.ndarray,
                   genomes: np.ndarray) -> np.ndarray:
    """Integer readouts ``(M, K, A)`` of ``M`` packed genomes on ``K`` encoded images.

    Parameters
    ----------
    p, lay : :meth:`FixedPoint.as_array`, :meth:`GenomeLayout.as_array` of the network.
    x_q : int (K, D), encoded images (constant for the env step).
    genomes : uint64 (M, n_words).
    """
    x_q = np.ascontiguousarray(x_q, dtype=np.int32)
    genomes = np.ascontiguousarray(genomes, dtype=np.uint64)
    act = np.zeros((genomes.shape[0], x_q.shape[0], int(p[P_ACT_DIM])), np.int32)
    _present(p, lay, x_q, genomes, act)
    return act
