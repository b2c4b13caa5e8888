"""Board builds: ``python -m ec_hw.build --board arty_a7``.

Per-board settings live in ``boards/<name>.toml`` (clock, baud rate, member slots, core
shape); :func:`load_board` reads them.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import EcHwError

__all__ = ["Board", "load_board", "supported_boards", "BOARDS_DIR", "UnknownBoard"]

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"


class UnknownBoard(EcHwError, ValueError):
    """No ``boards/<name>.toml``."""


@dataclass(frozen=True, kw_only=True)
class Board:
    """One board's settings (``boards/<name>.toml``)."""

    name: str
    description: str
    family: str
    """``xilinx7`` (Vivado) or ``ecp5`` (Yosys + nextpnr-ecp5 + ecppack)."""
    platform: str
    """amaranth-boards platform class, ``module:Class``."""
    clk_hz: int
    baud: int
    uart: str = "uart"
    slots: int = 1
    lanes: int = 4
    word_bits: int = 64
    device: str = ""
    package: str = ""

    def __post_init__(self) -> None:
        if self.clk_hz // self.baud < 4:
            raise ValueError(f"baud {self.baud} is too fast for clk_hz {self.clk_hz} "
                             f"(need at least 4 clocks per bit)")

    @property
    def divisor(self) -> int:
        """UART clocks per bit."""
        return round(self.clk_hz / self.baud)

    @property
    def baud_error(self) -> float:
        """Relative error of the achieved baud rate."""
        return self.clk_hz / self.divisor / self.baud - 1.0


def supported_boards() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name: str) -> Board:
    """Read ``boards/<name>.toml``.

    Raises
    ------
    UnknownBoard
        With the list of supported boards.
    """
    path = BOARDS_DIR / f"{name}.toml"
    if not path.is_file():
        raise UnknownBoard(f"unknown board {name!r}; supported boards: "
                           f"{', '.join(supported_boards())}")
    with path.open("rb") as f:
        data = tomllib.load(f)
    return Board(**data)


def main(argv: list[str] | None = None) -> int:  # replaced by the full build below
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main())
