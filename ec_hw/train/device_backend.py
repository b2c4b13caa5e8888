"""The trainer's view of a device: :class:`DeviceBackend`, an :class:`ec_hw.train.evaluator.
Backend` whose slots are the device's member slots.

The trainer drives a board (``--target fpga``) or the virtual board (``--target sim``,
:func:`virtual_board_backend`) exactly like the golden model: encoded observations in, actions
in [-1, 1] out, bit-identical to :func:`ec_hw.model.core.net_step`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from host.device import ConfigMismatch, Device

from ..config import CoreConfig, NetConfig
from ..fixedpoint import action_to_unit, derive
from ..protocol import network_hash
from .evaluator import Backend, slot_indices

__all__ = ["DeviceBackend", "virtual_board", "virtual_board_backend"]


class DeviceBackend(Backend):
    """Inference on an ec-hw device over its link.

    Parameters
    ----------
    device : Device
        A connected device (its INFO already checked against ``net``; see
        :meth:`Device.connect`).
    net : NetConfig
        The network the trainer evaluates.
    core : CoreConfig, optional
        Fixed-point widths (default ``CoreConfig()``); the device's own shape is used for the
        rest.
    own_device : bool
        Close the device in :meth:`close`.

    Members
    -------
    slots : int
        The device's member slots.
    encoding : str
        ``"fixed"``: observations arrive as ``x_q`` (:func:`ec_hw.fixedpoint.quantize_obs`).
    """

    encoding = "fixed"

    def __init__(self, device: Device, net: NetConfig, core: CoreConfig | None = None, *,
                 own_device: bool = False):
        if device.info is None:
            device.connect(net, core)
        self.device = device
        self.net = net
        self.slots = device.slots
        self.fp = derive(net, device.info.core_config(core))
        self._own = own_device

    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        """One ``LOAD`` per slot (the device loads slots independently); on a deployed device
        (``ec-hw deploy``) check instead that every genome is the network the device carries.

        Raises
        ------
        ConfigMismatch
            A deployed device carries another network (INFO's ``network_hash`` differs).
        """
        genomes = np.asarray(genomes, dtype=np.uint64)
        if genomes.ndim != 2 or genomes.shape[0] > self.slots:
            raise ValueError(f"genomes must be (n <= {self.slots}, n_words), not "
                             f"{genomes.shape}")
        have = self.device.deployed_hash
        if have is not None:
            for g in genomes:
                want = network_hash(g)
                if want != have:
                    raise ConfigMismatch(f"the device is deployed with network {have:#010x}, "
                                         f"not this run's {want:#010x}; deploy this run "
                                         f"(ec-hw deploy) or use a loadable device")
            return
        for slot, g in zip(slot_indices(slots, genomes.shape[0], self.slots), genomes,
                           strict=True):
            self.device.load_genome(int(slot), g, self.net)

    @property
    def supports_sampling(self) -> bool:
        """The device has the on-chip sampler (INFO reports ``FEATURE_SAMPLER``)."""
        return self.device.has_sampler

    @property
    def supports_antithetic(self) -> bool:
        """The sampler draws mirrored pairs (INFO reports ``FEATURE_ANTITHETIC``)."""
        return self.device.has_antithetic

    def load_rho(self, rho_q: np.ndarray) -> None:
        self.device.load_rho(np.asarray(rho_q))

    def sample(self, gen_seed: int, members: np.ndarray, slots: np.ndarray | None = None,
               antithetic: bool = False) -> None:
        """One ``SAMPLE`` per slot: 10 payload bytes instead of a member's connection words."""
        members = np.asarray(members, dtype=np.int64).reshape(-1)
        if members.shape[0] > self.slots:
            raise ValueError(f"{members.shape[0]} members do not fit {self.slots} slots")
        for slot, m in zip(slot_indices(slots, members.shape[0], self.slots), members,
                           strict=True):
            self.device.sample(int(slot), int(gen_seed), int(m), antithetic=antithetic)

    def reset(self, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool).reshape(self.slots)
        if mask.any():
            self.device.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        act_q = self.device.step(np.asarray(obs), np.asarray(active, dtype=bool))
        return action_to_unit(act_q, self.fp)

    def step_q(self, x_q: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
        """Like :meth:`step` but return the integer actions (for bit-exact comparisons)."""
        return self.device.step(np.asarray(x_q), active)

    def close(self) -> None:
        if self._own:
            self.device.close()


@contextlib.contextmanager
def virtual_board(net: NetConfig, core: CoreConfig, *, board=None, **kw) -> Iterator[str]:
    """Build (cached) and start a virtual board; yield its port (a pseudo-terminal, or
    ``xdma:<h2c>,<c2h>`` for a PCIe ``board``, :class:`ec_hw.build.Board`)."""
    if board is not None and board.link == "pcie":
        from ec_hw.boardsim_pcie import VirtualPcieBoard, board_clocks

        with VirtualPcieBoard(net, core, cores=board.cores, clocks_hz=board_clocks(board),
                              **kw) as vb:
            yield vb.port
        return
    from ec_hw.boardsim import VirtualBoard

    with VirtualBoard(net, core, **kw) as vb:
        yield vb.port


@contextlib.contextmanager
def virtual_board_backend(net: NetConfig, core: CoreConfig, *, timeout: float = 5.0,
                          **kw) -> Iterator[DeviceBackend]:
    """A :class:`DeviceBackend` on a fresh virtual board (what ``--target sim`` uses)."""
    with virtual_board(net, core, **kw) as port:
        dev = Device.open(port, net=net, core=core, timeout=timeout)
        backend = DeviceBackend(dev, net, core, own_device=True)
        try:
            yield backend
        finally:
            backend.close()
