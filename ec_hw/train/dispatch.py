"""Pick the evaluator for a run: in this process, one process per core, or Ray actors.

Kept apart from :mod:`ec_hw.train.local` and :mod:`ec_hw.train.ray_eval` so that neither
imports the other back (``ray_eval`` builds on ``local``'s worker error).
"""

from __future__ import annotations

from dataclasses import replace

from .backends import BackendSpec
from .evaluator import Evaluator
from .local import InProcessEvaluator, ProcessEvaluator

__all__ = ["make_evaluator"]


def make_evaluator(spec: BackendSpec, workers: int, cluster: str | None = None,
                   env_backend: str = "gymnasium") -> Evaluator:
    """Workers > 1 use processes (each ``sim`` worker runs its own virtual board); a real
    board (``fpga``) is driven from this process. ``env_backend`` picks the env engine
    (:data:`~ec_hw.train.envs.ENV_BACKENDS`).

    With a Ray ``cluster`` address (see :attr:`ec_hw.config.TrainConfig.cluster`), ``workers``
    Ray actors each run a backend sized for a quarter of their share of ``spec.slots``.
    """
    if cluster is not None:
        from .ray_eval import RayEvaluator  # lazily: only a cluster run needs it

        if spec.target == "fpga" and workers > 1:
            raise ValueError(f"{workers} Ray workers cannot share the board on {spec.port}; "
                             f"use one worker, or one RayWorker per board (docs/ray.md)")
        per = max(1, -(-spec.slots // (4 * workers)))
        return RayEvaluator(replace(spec, slots=per), cluster, workers,
                            env_backend=env_backend)
    if workers > 1 and spec.target in ("model", "float", "sim"):
        per = max(1, -(-spec.slots // workers))
        return ProcessEvaluator(replace(spec, slots=per), workers, env_backend)
    return InProcessEvaluator(spec, env_backend)
