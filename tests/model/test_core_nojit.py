"""The compiled golden model equals the same source run as plain Python (NUMBA_DISABLE_JIT=1).

STYLE.md: inside ``prange`` bodies Numba may hoist allocations out of loops, and LLVM
vectorizes the neuron loops of :func:`ec_hw.model.core.core_env_step`; the interpreted run of the
same source has neither, so any aliasing of scratch buffers between members or any
vectorization that changed a result shows up as a difference here. Shapes are chosen to press
the kernel's layout: N not a multiple of 64 (padded neurons), an E/I boundary inside a word,
a W_in row wider than one word, more members than threads, inactive members and resets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

_SNIPPET = """
import sys
import numpy as np
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive, quantize_obs
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout, pack_genome

n, obs_dim, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
net = NetConfig(n_neurons=n, exc_fraction=0.55, obs_dim=obs_dim, act_dim=3, substeps=9)
fp = derive(net, CoreConfig())
lay = GenomeLayout.of(net)
rng = np.random.default_rng(n)
batch = 7
bits = rng.random((batch, lay.n_conn)) < rng.uniform(0.2, 0.9, size=(batch, 1))
genomes = pack_genome(bits, lay)
state = NetState.zeros(batch, lay)
rows = []
for t in range(4):
    x_q = quantize_obs(rng.normal(scale=2.0, size=(batch, obs_dim)), np.zeros(obs_dim),
                       np.ones(obs_dim), fp)
    active = rng.random(batch) < 0.75
    if t == 2:
        state.reset(rng.random(batch) < 0.5)
    act = net_step(fp.as_array(), lay.as_array(), x_q, genomes, state, active)
    rows += [act.ravel(), state.v.ravel(), state.i_syn.ravel(), state.rate.ravel(),
             state.spk.ravel().view(np.int64)]
fx = FixedNet(net)
one = NetState.zeros(1, lay)
for t in range(3):
    x_q = quantize_obs(rng.normal(scale=2.0, size=obs_dim), np.zeros(obs_dim), np.ones(obs_dim),
                       fp)
    act, trace = fx.step_one(x_q, genomes[0], one, trace=True)
    rows += [act.ravel(), trace.ravel().view(np.int64), one.v.ravel()]
np.save(out, np.concatenate([r.astype(np.int64) for r in rows]))
"""


def _run(tmp_path, n, obs_dim, nojit):
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("NUMBA_DISABLE_JIT", None)
    if nojit:
        env["NUMBA_DISABLE_JIT"] = "1"
    out = tmp_path / f"{'nojit' if nojit else 'jit'}-{n}.npy"
    subprocess.run([sys.executable, "-c", _SNIPPET, str(n), str(obs_dim), str(out)], env=env,
                   check=True, timeout=600)
    return np.load(out)


@pytest.mark.parametrize("n,obs_dim", [(70, 5), (130, 40)])
def test_compiled_kernel_equals_numba_disable_jit(tmp_path, n, obs_dim):
    jit = _run(tmp_path, n, obs_dim, nojit=False)
    nojit = _run(tmp_path, n, obs_dim, nojit=True)
    assert jit.shape == nojit.shape
    assert np.array_equal(jit, nojit)
    assert jit.any()
