"""A trained run's deterministic network, out of the trainer: NIR graphs and ``$readmemh`` files.

``ec-hw export RUN --format nir|mem`` (:func:`main_export`) and ``ec-hw deploy`` start here:
:func:`load_network` reads a run's checkpoint and returns the network it deploys, ``rho > 0.5``
(:func:`ec_hw.train.ec.deterministic_genome`).

NIR graph (:func:`to_nir`)
--------------------------
NIR (the Neuromorphic Intermediate Representation, PyPI ``nir``) describes neurons by their
continuous-time ODEs. NIR's ``CubaLIF`` feeds *every* input through its synapse
(``tau_syn dI/dt = -I + w_in S``), but the EC network adds the observation current ``i_in``
straight to the membrane next to the synaptic current (the authors' equations,
:mod:`ec_hw.model.reference`). The export therefore writes each CubaLIF as its two halves,
which NIR's CubaLIF equations are the composition of: an ``LI`` node for the synapse and an
``LIF`` node for the membrane, whose input is the synaptic current plus ``i_in``::

    input (D) -> obs_split (Linear [I; -I]: [z, -z]) -> w_in (Linear, R_in * W_in) --> lif
    lif -> w_rec (Linear, R * sign * W_rec) -> syn (LI, tau_syn) --------------------> lif
    lif (LIF, tau_m, v_threshold Vth, v_reset 0) -> trace (LI, tau_out) -> w_out -> output (A)

The 1-bit matrices are stored as weights ``bit * scale`` (``W_rec`` and ``W_out`` columns of
inhibitory neurons negative): ``R_in``, ``R = r_rec``, ``R_out`` of :class:`~ec_hw.config.
NetConfig`. Time is in ms; the graph's metadata carries ``dt`` (ms), ``substeps`` (substeps
per env step, the input held), ``action_clip`` (the readout is clipped to [-1, 1] after the
last substep) and the observation normalization ``obs_mean``/``obs_std`` (the input is
``z = (obs - obs_mean) / obs_std``).

The mapping onto NIR's equations, discretized at ``dt`` with ``a = exp(-dt / tau)`` as
:mod:`ec_hw.nirsim` does (and as the float reference does):

* continuous inputs (the observation current, the synaptic current) are held over a substep:
  ``v' = a v + (1 - a) (v_leak + R I)``. The membrane (``lif``) has ``R = 1``, ``v_leak = 0``:
  ``v' = a_m v + (1 - a_m) (i_syn + i_in)``, then ``z = v' > Vth`` and ``v' = 0`` where it
  fired, exactly the reference.
* spikes are Dirac impulses: a spike of weight ``w`` moves an ``LI`` state by ``R w / tau``.
  The synapse (``syn``) has ``R = tau_syn``, so a spike adds its weight:
  ``i_syn' = a_syn i_syn + R (pe - pi)``. The rate trace (``trace``) has the ``R`` for which
  ``R / tau_out`` is the float64 value of ``(1 - a_out) / dt`` (the reference's rate
  increment), found to the last bit at export.
* a spike reaches the synapse one substep later (the recurrent edge carries the previous
  substep's spikes, the reference's double buffering); the trace sees the spike of the same
  substep. The trace is unsigned; the sign of inhibitory neurons is in ``W_out``, which gives
  the reference's signed trace exactly (negation is exact).

``$readmemh`` files (:func:`mem_images`)
----------------------------------------
One file per connection memory of :class:`ec_hw.gateware.core.Core` (``w_in<lane>``,
``w_rec<lane>``, ``w_out``), one word per line, as the core's memories hold them
(:func:`ec_hw.coremap.core_memory_init`): what ``ec-hw deploy`` initializes the device with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import EcHwError
from .config import CoreConfig, NetConfig
from .flags import BEST_HELP

__all__ = ["DeployedNetwork", "load_network", "to_nir", "write_nir", "mem_images", "write_mem",
           "trace_resistance", "FORMATS"]

FORMATS = ("nir", "mem")


class ExportError(EcHwError, ValueError):
    """A run cannot be exported (missing, not an EC run, unwritable output)."""


@dataclass(frozen=True)
class DeployedNetwork:
    """The deterministic network of a run and what a user needs to feed it."""

    net: NetConfig
    core: CoreConfig
    genome: np.ndarray
    """Packed ``rho > 0.5`` (:mod:`ec_hw.model.packing`), uint64."""
    obs_mean: np.ndarray
    obs_std: np.ndarray
    env_id: str
    generation: int


def load_network(run_dir, best: bool = False) -> DeployedNetwork:
    """The deterministic network of the EC run in ``run_dir``: the last generation's, or with
    ``best`` the one that returned the most on the run's evaluation episodes.

    Raises
    ------
    ExportError
        No run (config or checkpoint missing), an ES run (dense weights, no 1-bit network),
        or ``best`` for a run that recorded none.
    """
    from .model.packing import GenomeLayout
    from .train.checkpoint import load_checkpoint, read_config
    from .train.ec import deterministic_genome
    from .train.state import NO_BEST

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "checkpoint.npz").is_file():
        raise ExportError(f"{run_dir} is not a run directory (no config.json and "
                          f"checkpoint.npz)")
    cfg, net, core, _ = read_config(run_dir)
    if cfg.algo != "ec":
        raise ExportError(f"{run_dir} is an {cfg.algo.upper()} run; only EC runs have a 1-bit "
                          f"network to export")
    st = load_checkpoint(run_dir / "checkpoint.npz", cfg, net, core)
    if best:
        if st.best_params is None:
            raise ExportError(f"{run_dir} {NO_BEST}")
        st = st.best_state()
    genome = deterministic_genome(st.params, GenomeLayout.of(net))
    return DeployedNetwork(net=net, core=core, genome=genome, obs_mean=st.obs_mean.copy(),
                           obs_std=st.obs_std.copy(), env_id=cfg.env_id,
                           generation=st.generation)


def _bits(genome: np.ndarray, net: NetConfig):
    """``(W_in (N, 2D), W_rec (N post, N pre), W_out (A, N))`` as 0/1 float64 matrices."""
    from .model.packing import GenomeLayout, unpack_genome

    lay = GenomeLayout.of(net)
    flat = unpack_genome(np.asarray(genome, np.uint64), lay).astype(np.float64)
    n, ni, a = net.n_neurons, net.n_inputs, net.act_dim
    return (flat[:lay.off_rec_bits].reshape(n, ni),
            flat[lay.off_rec_bits:lay.off_out_bits].reshape(n, n),
            flat[lay.off_out_bits:].reshape(a, n))


def trace_resistance(net: NetConfig) -> float:
    """``R`` of the rate-trace LI whose impulse gain ``R / tau_out`` is, in float64, exactly
    the reference's rate increment ``(1 - a_out) / dt``."""
    target = (1.0 - net.alpha_out) / net.dt
    tau = float(net.tau_out)
    r = target * tau
    for _ in range(64):
        q = r / tau
        if q == target:
            return r
        r = float(np.nextafter(r, np.inf if q < target else -np.inf))
    raise ExportError(f"no float64 R with R / {tau} == {target!r}")  # pragma: no cover


def to_nir(genome: np.ndarray, net: NetConfig, *, obs_mean=None, obs_std=None,
           metadata: dict | None = None):
    """The network of packed ``genome`` as a :class:`nir.NIRGraph` (see the module docstring)."""
    import nir

    w_in, w_rec, w_out = _bits(genome, net)
    n, d, a = net.n_neurons, net.obs_dim, net.act_dim
    sign = np.where(np.arange(n) < net.n_exc, 1.0, -1.0)
    full = np.full
    nodes = {
        "input": nir.Input(input_type=np.array([d])),
        "obs_split": nir.Linear(weight=np.vstack([np.eye(d), -np.eye(d)])),
        "w_in": nir.Linear(weight=w_in * net.r_in),
        "syn": nir.LI(tau=full(n, float(net.tau_syn)), r=full(n, float(net.tau_syn)),
                      v_leak=np.zeros(n)),
        "lif": nir.LIF(tau=full(n, float(net.tau_m)), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=full(n, float(net.vth)), v_reset=np.zeros(n)),
        "w_rec": nir.Linear(weight=w_rec * sign[None, :] * net.r_rec),
        "trace": nir.LI(tau=full(n, float(net.tau_out)), r=full(n, trace_resistance(net)),
                        v_leak=np.zeros(n)),
        "w_out": nir.Linear(weight=w_out * sign[None, :] * net.r_out),
        "output": nir.Output(output_type=np.array([a])),
    }
    edges = [("input", "obs_split"), ("obs_split", "w_in"), ("w_in", "lif"), ("syn", "lif"),
             ("lif", "w_rec"), ("w_rec", "syn"), ("lif", "trace"), ("trace", "w_out"),
             ("w_out", "output")]
    meta = {"generator": "ec-hw", "dt": float(net.dt), "time_unit": "ms",
            "substeps": int(net.substeps), "action_clip": np.array([-1.0, 1.0]),
            "n_exc": int(net.n_exc),
            "obs_mean": np.zeros(d) if obs_mean is None else np.asarray(obs_mean, np.float64),
            "obs_std": np.ones(d) if obs_std is None else np.asarray(obs_std, np.float64)}
    meta.update(metadata or {})
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _writable_file(path: Path) -> Path:
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ExportError(f"--out {path} is a directory, expected a file name")
    if not parent.is_dir():
        raise ExportError(f"--out {path}: the folder {parent} does not exist")
    return path


def write_nir(path, dep: DeployedNetwork) -> Path:
    """Write ``dep``'s network as a NIR (HDF5) file; atomic (a temporary file, then rename)."""
    import nir

    path = _writable_file(path)
    graph = to_nir(dep.genome, dep.net, obs_mean=dep.obs_mean, obs_std=dep.obs_std,
                   metadata={"env_id": dep.env_id, "generation": int(dep.generation)})
    tmp = path.with_name(path.name + ".tmp")
    try:
        nir.write(tmp, graph)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write --out {path}: {exc.strerror or exc}") from exc
    return path


def mem_images(genome: np.ndarray, net: NetConfig, core: CoreConfig) -> dict[str, list[int]]:
    """The core's connection memories holding ``genome`` in every slot, by memory name."""
    from .coremap import core_memory_init

    return core_memory_init(genome, net, core)


def write_mem(out_dir, dep: DeployedNetwork, core: CoreConfig | None = None) -> list[Path]:
    """Write one ``$readmemh`` file per connection memory into ``out_dir`` (created)."""
    core = core or dep.core
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"--out {out_dir} is a file, expected a folder for the .mem files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create --out {out_dir}: {exc.strerror or exc}") from exc
    from .coremap import w_in_bits

    paths = []
    for name, words in mem_images(dep.genome, dep.net, core).items():
        bits = w_in_bits(dep.net, core) if name.startswith("w_in") else core.word_bits
        digits = -(-bits // 4)
        p = out_dir / f"{name}.mem"
        head = (f"// ec-hw {name}: {len(words)} words of {bits} bits "
                f"(N={dep.net.n_neurons}, lanes={core.lanes}, slots={core.slots}); "
                f"ec_hw/coremap.py core_memory_init\n")
        try:
            p.write_text(head + "".join(f"{w:0{digits}x}\n" for w in words))
        except OSError as exc:
            raise ExportError(f"cannot write --out {p}: {exc.strerror or exc}") from exc
        paths.append(p)
    return paths


def read_mem(path) -> list[int]:
    """Words of a ``$readmemh`` file written by :func:`write_mem` (comments skipped)."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("//", 1)[0].strip()
        if line:
            out.append(int(line, 16))
    return out


# --- CLI ------------------------------------------------------------------------------------

def add_export_arguments(p):
    p.add_argument("run", type=Path, help="run directory (EC)")
    p.add_argument("--best", action="store_true", help=BEST_HELP)
    p.add_argument("--format", required=True, metavar="nir|mem",
                   help="nir: a NIR graph (HDF5); mem: $readmemh files of the core's "
                        "connection memories")
    p.add_argument("--out", type=Path, help="output file (nir; default RUN/network.nir) or "
                                             "folder (mem; default RUN/mem)")
    return p


def main_export(args) -> int:
    if args.format not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, not {args.format!r}")
    if not Path(args.run).is_dir():
        raise ExportError(f"no run directory {args.run}")
    dep = load_network(args.run, best=args.best)
    if args.format == "nir":
        path = write_nir(args.out or Path(args.run) / "network.nir", dep)
        print(f"wrote {path}: NIR graph of the deterministic network (N={dep.net.n_neurons}, "
              f"{int(_popcount(dep.genome))} connections, generation {dep.generation})")
    else:
        paths = write_mem(args.out or Path(args.run) / "mem", dep)
        print(f"wrote {len(paths)} $readmemh files to {paths[0].parent}/")
    return 0


def _popcount(genome) -> int:
    return int(np.unpackbits(np.asarray(genome, "<u8").view(np.uint8)).sum())

