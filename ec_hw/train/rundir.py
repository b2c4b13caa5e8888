"""Run folders: checked before anything is written, locked while a trainer writes them.

A trainer holds an exclusive ``flock`` on ``RUN/.lock`` from the moment it creates (or resumes)
the run until it exits; the kernel releases it when the process ends, a crash included. A second
trainer on the same folder is refused with one line instead of interleaving its metrics with
the first one's. Readers (``ec-hw plot``, ``ec-hw eval``) take no lock.

A new run's folder is made only after every check passed and the evaluator started;
:class:`NewRunFolder` removes what it made if the run ends before its first checkpoint, so a
failed or interrupted start leaves no half-made run behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError

__all__ = ["RunFolderError", "RunFolderBusy", "check_writable_dir", "RunLock", "NewRunFolder",
           "checkpointed_generation", "LOCK_NAME"]

LOCK_NAME = ".lock"


class RunFolderError(CheckpointError):
    """A run folder cannot be created or written."""


class RunFolderBusy(RunFolderError):
    """Another process holds the run folder's lock."""


def _why(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))


def check_writable_dir(path: Path, flag: str) -> None:
    """Refuse ``path`` as a folder to write into, naming ``flag`` (e.g. ``--out``), unless it
    is a writable folder or can be created as one (every existing ancestor a folder, the
    nearest one writable). Creates nothing: writability is probed with a temporary file that is
    removed at once."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{flag} {path} is a file, not a folder; name a folder")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise RunFolderError(f"{flag} {path}: {probe} is a file, not a folder; name a folder "
                             f"elsewhere")
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".ec-hw-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise RunFolderError(f"{flag} {path}: cannot write in {probe} ({_why(exc)}); "
                             f"name a writable folder") from None


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``run_dir/.lock`` (context manager)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunFolderBusy` (or :class:`RunFolderError` if the
        folder is not writable)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunFolderError(f"cannot lock {self.path.parent} ({_why(exc)}); a trainer needs "
                                 f"a writable run folder") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunFolderBusy(f"{self.path.parent} is in use by another trainer (pid "
                                f"{holder}); wait for it to finish or stop it first") from None
        try:  # the holder's pid, for the message a second trainer gets
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:  # a full disk: the lock itself holds all the same
            pass
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc) -> None:
        self.release()


def checkpointed_generation(run_dir: Path) -> int | None:
    """Completed generations in ``run_dir/checkpoint.npz``, or None without a readable one."""
    path = Path(run_dir) / "checkpoint.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(z["generation"])
    except Exception:  # noqa: BLE001 - missing, torn (zipfile raises several types), foreign
        return None


class NewRunFolder:
    """Create a new run's folder and lock it; undo both if the run ends without a checkpoint.

    On leaving the ``with`` block by an exception (Ctrl-C included) before any checkpoint was
    written, the files a trainer writes (``config.json``, ``metrics.jsonl``, the lock) and the
    folders this object created are removed; a folder that existed before is kept.
    """

    _OWN = ("config.json", ".config.json.tmp", "metrics.jsonl", ".metrics.jsonl.tmp", LOCK_NAME)

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._made: list[Path] = []
        self.lock = RunLock(self.run_dir)

    def __enter__(self) -> NewRunFolder:
        missing = []
        p = self.run_dir
        while not p.exists():
            missing.append(p)
            p = p.parent
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"--out {self.run_dir}: cannot create it ({_why(exc)})") \
                from None
        self._made = missing  # deepest first
        try:
            self.lock.acquire()
            if (self.run_dir / "checkpoint.npz").exists():  # another trainer got here first
                raise RunFolderError(f"{self.run_dir} already holds a run; use --resume "
                                     f"{self.run_dir} to continue it")
        except BaseException:
            self.lock.release()
            self._undo()
            raise
        return self

    def _undo(self) -> None:
        if (self.run_dir / "checkpoint.npz").exists():
            return
        for name in self._OWN:
            try:
                (self.run_dir / name).unlink(missing_ok=True)
            except OSError:
                pass
        for d in self._made:
            try:
                d.rmdir()
            except OSError:  # not empty (someone else's files) or already gone
                break

    def __exit__(self, exc_type, exc, tb) -> None:
        self.lock.release()
        if exc_type is not None:
            self._undo()
