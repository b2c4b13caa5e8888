"""Classification tasks that train on the same trainer, CLI and targets as the control envs.

A task stands where a gymnasium env id stands (``TrainConfig.env_id``, ``ec-hw train --task``);
:mod:`ec_hw.tasks.data` loads its images from a package that ships them (never from the
network), :mod:`ec_hw.tasks.classify` evaluates members on them through the
:class:`~ec_hw.train.evaluator.Backend` of any target.
"""

from __future__ import annotations

from .. import EcHwError

__all__ = ["TASKS", "is_task", "TaskUnavailable"]

TASKS = ("digits", "mnist")
"""Task names ``--task`` accepts (``mnist`` only where a package ships its files)."""


class TaskUnavailable(EcHwError):
    """The task's data is not on this machine (it is never downloaded at run time)."""


def is_task(name: str) -> bool:
    """True if ``name`` is a classification task rather than a gymnasium env id."""
    return name in TASKS
