"""The dense float networks the ES baselines evolve, by :attr:`TrainConfig.network` name.

``snn`` is the paper's ES-RSNN (:class:`ec_hw.model.reference.DenseLayout`,
:func:`~ec_hw.model.reference.dense_step`).
"""

from __future__ import annotations

from ..config import NetConfig
from .reference import DenseLayout

__all__ = ["dense_layout"]


def dense_layout(network: str, net: NetConfig):
    """The parameter layout of dense network ``network`` (``n_params``, ``initial_params``)."""
    if network == "snn":
        return DenseLayout.of(net)
    raise ValueError(f"no dense network {network!r}")
