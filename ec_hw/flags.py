"""Error lines that name the flags a user typed, shared by every command-line entry point.

``ec-hw`` (:mod:`ec_hw.cli`), ``python -m ec_hw.build`` and ``python -m ec_hw.boardsim`` word
a config's ``ValueError`` ("pop_size must be ...") as the flag that set it ("--pop must be
...") and end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from . import EcHwError

__all__ = ["EXIT_USAGE", "BEST_HELP", "OneLineParser", "TRAIN_FLAGS", "FIELD_FLAGS", "flag_error",
           "NamedFlags", "fail", "error_exit"]

EXIT_USAGE = 2

BEST_HELP = ("the deployed network of the generation that returned the most on the run's "
             "evaluation episodes, instead of the last generation's")
"""``--best`` of ``ec-hw eval``, ``ec-hw deploy`` and ``ec-hw export``."""


def fail(msg: str) -> int:
    print(f"ec-hw: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors (an unknown flag, a value outside ``choices``, a missing
    argument) end like every other bad input: one line on stderr and exit 2, not the usage
    block. Subcommand parsers inherit the class."""

    def error(self, message: str):
        sys.exit(fail(f"{message} (see {self.prog} -h)"))


TRAIN_FLAGS = {  # flag dest -> TrainConfig field
    "env": "env_id", "algo": "algo", "pop": "pop_size", "generations": "generations",
    "lr": "lr", "lr_decay_start": "lr_decay_start", "eps": "eps", "sigma": "sigma",
    "weight_decay": "weight_decay",
    "episodes": "episodes", "eval_episodes": "eval_episodes",
    "max_episode_steps": "max_episode_steps", "healthy_reward": "healthy_reward",
    "seed": "seed", "target": "target", "workers": "workers", "sampling": "sampling",
    "net": "network",
    "env_backend": "env_backend", "antithetic": "antithetic",
    "common_starts": "common_starts", "fitness_shaping": "fitness_shaping",
}

# Config fields as the flags that set them, for error messages.
FIELD_FLAGS = {**{field: "--" + dest.replace("_", "-") for dest, field in TRAIN_FLAGS.items()},
               "n_neurons": "--neurons", "obs_dim": "--obs-dim", "act_dim": "--act-dim",
               "slots": "--slots"}


def flag_error(exc: ValueError, flags: dict[str, str] | None = None) -> EcHwError:
    """``exc`` (a config's "pop_size must be ...") reworded with the flags a user typed
    ("--pop must be ..."): field names with an underscore anywhere, others as the first word."""
    import re

    flags = FIELD_FLAGS if flags is None else flags
    msg = str(exc)
    for field, flag in flags.items():
        if "_" in field:
            msg = re.sub(rf"\b{field}\b", flag, msg)
        elif msg.startswith(field + " "):
            msg = flag + msg[len(field):]
    return EcHwError(msg)


class NamedFlags:
    """``with NamedFlags():`` turns a config's ValueError into an EcHwError naming flags."""

    def __init__(self, flags: dict[str, str] | None = None, prefix: str = ""):
        self.flags, self.prefix = flags, prefix

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, ValueError) \
                and not issubclass(exc_type, EcHwError):
            raise EcHwError(self.prefix + str(flag_error(exc, self.flags))) from None
        return False


def error_exit(msg: str) -> int:
    """One line on stderr, exit 2; and no Amaranth warnings about the Elaboratables the failed
    command created but never used, which would otherwise print after (and bury) that line
    when the interpreter exits."""
    mod = sys.modules.get("amaranth.hdl")
    if mod is not None:
        import warnings

        warnings.simplefilter("ignore", mod.UnusedElaboratable)
    return fail(msg)
