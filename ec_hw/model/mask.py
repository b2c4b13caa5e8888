"""What a connectivity mask (:mod:`ec_hw.topology`) leaves unused in rho and in the genome."""

from __future__ import annotations

import numpy as np

from ..config import NetConfig
from ..genome import RHO_PER_BLOCK
from ..topology import connectivity_mask
from .packing import GenomeLayout, pack_genome

__all__ = ["mask_savings"]


def mask_savings(net: NetConfig) -> dict[str, float]:
    """Connections, rho bytes and genome words that the mask makes always zero.

    ``rho_bytes`` is the rho a ``LOAD_RHO`` sends (2 bytes a connection) and the device's rho
    memory holds; ``zero_rho_blocks`` the fraction of Threefry blocks (4 rho values, one
    64-bit word of the rho memory) that are all masked, i.e. what a rho memory or a LOAD_RHO
    that skipped all-zero blocks would save; ``zero_genome_words`` the same for the packed
    genome's 64-bit words (LOAD).
    """
    mask = connectivity_mask(net)
    n_conn = net.n_conn
    if mask is None:
        mask = np.ones(n_conn, bool)
    pad = -n_conn % RHO_PER_BLOCK
    blocks = np.concatenate([mask, np.zeros(pad, bool)]).reshape(-1, RHO_PER_BLOCK)
    words = pack_genome(mask, GenomeLayout.of(net))
    return {"n_conn": n_conn, "n_live": int(mask.sum()),
            "live_fraction": float(mask.mean()), "rho_bytes": 2 * n_conn,
            "zero_rho_blocks": float(np.mean(~blocks.any(axis=1))),
            "zero_genome_words": float(np.mean(words == 0))}
