"""The OpenAI-ES baseline's update (Salimans et al. 2017, as the authors' ``es_dense.py``).

Members ``2p`` and ``2p + 1`` of a generation are ``center + sigma * eps_p`` and
``center - sigma * eps_p``, with ``eps_p ~ N(0, I)`` regenerated from (generation seed, p) by
:func:`ec_hw.train.rollout.es_noise`, so only scalars cross processes, as for EC.
"""

from __future__ import annotations

import numpy as np

from .rollout import es_noise

__all__ = ["antithetic_gradient"]


def antithetic_gradient(gen_seed: int, member_ids: np.ndarray, w: np.ndarray, n_params: int,
                        sigma: float) -> np.ndarray:
    """``sum_m s_m w_m eps_{m // 2} / (M sigma)`` with ``s_m = +1`` for even ``m``, else ``-1``.

    ``w`` are the members' shaped fitnesses (centered ranks by default), in ``member_ids``
    order; each pair's noise is drawn once.
    """
    member_ids = np.asarray(member_ids, np.int64)
    w = np.asarray(w, np.float64)
    coef: dict[int, float] = {}
    for m, wm in zip(member_ids.tolist(), w.tolist(), strict=True):
        p = m // 2
        coef[p] = coef.get(p, 0.0) + (wm if m % 2 == 0 else -wm)
    grad = np.zeros(n_params)
    for p in sorted(coef):
        grad += coef[p] * es_noise(gen_seed, p, n_params)
    return grad / (len(member_ids) * sigma)
