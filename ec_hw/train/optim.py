"""Adam and AdamW on float64 parameter vectors (optax ``scale_by_adam`` semantics).

Updates ascend: ``params += lr * adam(grad)`` where ``grad`` estimates the gradient of the
expected fitness (the authors negate it and descend with optax; the result is the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Adam"]


@dataclass
class Adam:
    """Adam state. ``weight_decay`` > 0 gives AdamW (decoupled, scaled by lr like optax)."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0
    lr: float = 0.15
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    @classmethod
    def zeros(cls, n: int, **kw) -> Adam:
        return cls(m=np.zeros(n), v=np.zeros(n), **kw)

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Return the updated parameters for an ascent direction ``grad``."""
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        mhat = self.m / (1 - self.b1 ** self.t)
        vhat = self.v / (1 - self.b2 ** self.t)
        upd = mhat / (np.sqrt(vhat) + self.eps)
        if self.weight_decay:
            upd = upd - self.weight_decay * params
        return params + self.lr * upd
