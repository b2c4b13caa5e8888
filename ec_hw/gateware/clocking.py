"""The board's core clock: a PLL (ECP5 ``EHXPLLL``) or an MMCM (7-series ``MMCME2_BASE``) from
the board's oscillator, driving the ``sync`` domain.

:func:`ecp5_pll_params` and :func:`mmcm_params` choose the dividers (integer settings only, an
exact output frequency or an error; of several, the one whose VCO is nearest the middle of its
range); :class:`CoreClock` instantiates the primitive and holds
``sync`` in reset until the PLL locks (a :class:`~amaranth.lib.cdc.ResetSynchronizer`, so reset
is released synchronously to the new clock; on an ECP5 through a DCCA onto a global line). The
frequency ranges are those of the data sheets:
ECP5 (FPGA-DS-02012, sysCLOCK PLL): PFD 3.125-400 MHz, VCO 400-800 MHz, output 3.125-400 MHz;
Artix-7 -1 (DS181, MMCM): PFD 10-450 MHz, VCO 600-1200 MHz.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import ClockDomain, Elaboratable, Instance, Module, Signal
from amaranth.lib.cdc import ResetSynchronizer

__all__ = ["PllSetting", "ecp5_pll_params", "mmcm_params", "pll_setting", "CoreClock"]


@dataclass(frozen=True)
class PllSetting:
    """Integer dividers: ``f_out = f_in * mult / (in_div * out_div)``, ``f_vco = f_in * mult /
    in_div`` (the ECP5's feedback from the output divides by ``mult`` after ``out_div``, which
    gives the same relation)."""

    in_div: int
    mult: int
    out_div: int
    f_in: int
    f_vco: float
    f_out: float


def _search(f_in: int, f_out: int, *, in_divs, mults, out_divs, pfd, vco, what) -> PllSetting:
    if not isinstance(f_out, int) or f_out <= 0:
        raise ValueError(f"the core clock must be a positive integer in Hz, not {f_out!r}")
    best = None
    for d in in_divs:
        f_pfd = f_in / d
        if not pfd[0] <= f_pfd <= pfd[1]:
            continue
        for o in out_divs:
            for mlt in mults:
                f_vco = f_pfd * mlt * (o if what == "EHXPLLL" else 1)
                if not vco[0] <= f_vco <= vco[1]:
                    continue
                got = f_vco / o
                mid = (vco[0] + vco[1]) / 2
                if abs(got - f_out) < 1e-3 and (best is None or
                                                abs(f_vco - mid) < abs(best.f_vco - mid)):
                    best = PllSetting(d, mlt, o, f_in, f_vco, got)
    if best is None:
        raise ValueError(f"no {what} setting makes exactly {f_out / 1e6:g} MHz from "
                         f"{f_in / 1e6:g} MHz")
    return best


def ecp5_pll_params(f_in: int, f_out: int) -> PllSetting:
    """EHXPLLL dividers for ``f_out`` from ``f_in`` with feedback from CLKOP: ``mult`` is
    CLKFB_DIV, ``out_div`` CLKOP_DIV, ``in_div`` CLKI_DIV (25 -> 100 MHz: 1, 4, 6; VCO 600 MHz).

    Raises
    ------
    ValueError
        If no integer setting within the ranges gives ``f_out`` exactly.
    """
    if not 3_125_000 <= f_out <= 400_000_000:
        raise ValueError(f"an ECP5 PLL output must be within 3.125-400 MHz, not {f_out!r} Hz")
    return _search(f_in, f_out, in_divs=range(1, 129), mults=range(1, 81),
                   out_divs=range(1, 129), pfd=(3.125e6, 400e6), vco=(400e6, 800e6),
                   what="EHXPLLL")


def mmcm_params(f_in: int, f_out: int) -> PllSetting:
    """MMCME2_BASE settings for ``f_out`` from ``f_in`` (Artix-7 -1): ``in_div`` DIVCLK_DIVIDE,
    ``mult`` CLKFBOUT_MULT_F, ``out_div`` CLKOUT0_DIVIDE_F, integers (100 -> 100 MHz: 1, 9, 9;
    VCO 900 MHz).

    Raises
    ------
    ValueError
        If no integer setting within the ranges gives ``f_out`` exactly.
    """
    return _search(f_in, f_out, in_divs=range(1, 107), mults=range(2, 65),
                   out_divs=range(1, 129), pfd=(10e6, 450e6), vco=(600e6, 1200e6),
                   what="MMCME2_BASE")


def pll_setting(family: str, f_in: int, f_out: int) -> PllSetting:
    """The family's PLL settings (``"ecp5"``: :func:`ecp5_pll_params`, ``"xilinx7"``:
    :func:`mmcm_params`).

    Raises
    ------
    ValueError
        For another family, or if no integer setting gives ``f_out`` exactly.
    """
    if family == "ecp5":
        return ecp5_pll_params(f_in, f_out)
    if family == "xilinx7":
        return mmcm_params(f_in, f_out)
    raise ValueError(f"family must be 'ecp5' or 'xilinx7', not {family!r}")


class CoreClock(Elaboratable):
    """The ``sync`` domain at ``f_out`` from the oscillator pin ``clk_in`` (``f_in``).

    Parameters
    ----------
    family : str
        ``"ecp5"`` (EHXPLLL) or ``"xilinx7"`` (MMCME2_BASE + BUFG).
    clk_in : Signal
        The oscillator, after its input buffer.
    f_in, f_out : int
        Oscillator and core clock in Hz.

    Members
    -------
    locked : Signal
        The PLL's lock output; ``sync`` is in reset while it is low.
    """

    def __init__(self, family: str, clk_in, f_in: int, f_out: int):
        self.setting = pll_setting(family, f_in, f_out)
        self.family, self.clk_in, self.f_in, self.f_out = family, clk_in, f_in, f_out
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        s = self.setting
        m.domains.sync = cd = ClockDomain("sync")
        clk = cd.clk
        if self.family == "ecp5":
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{self.f_in / 1e6:g}",
                a_FREQUENCY_PIN_CLKOP=f"{self.f_out / 1e6:g}",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
                p_CLKI_DIV=s.in_div, p_CLKFB_DIV=s.mult, p_CLKOP_DIV=s.out_div,
                p_CLKOP_ENABLE="ENABLED", p_CLKOP_CPHASE=(s.out_div - 1) // 2,
                p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
                i_CLKI=self.clk_in, i_CLKFB=clk, i_RST=0, i_STDBY=0,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0,
                o_CLKOP=clk, o_LOCK=self.locked)
        else:
            fb, clkout = Signal(), Signal()
            m.submodules.mmcm = Instance(
                "MMCME2_BASE",
                p_BANDWIDTH="OPTIMIZED", p_CLKIN1_PERIOD=round(1e9 / self.f_in, 3),
                p_DIVCLK_DIVIDE=s.in_div, p_CLKFBOUT_MULT_F=float(s.mult),
                p_CLKOUT0_DIVIDE_F=float(s.out_div), p_CLKOUT0_PHASE=0.0,
                i_CLKIN1=self.clk_in, i_CLKFBIN=fb, i_RST=0, i_PWRDWN=0,
                o_CLKFBOUT=fb, o_CLKOUT0=clkout, o_LOCKED=self.locked)
            m.submodules.bufg = Instance("BUFG", i_I=clkout, o_O=clk)
        # No clock constraint on the output: nextpnr derives it from the oscillator's through the
        # EHXPLLL ("Derived frequency constraint of 100.0 MHz"), Vivado through the MMCM.
        if self.family == "ecp5":
            # The synchronized reset reaches ~13,000 flip-flops' LSR pins. nextpnr-ecp5 promotes
            # only clocks to the global network, so that net was routed through the fabric,
            # where it crowded the router (router1 stalled with 26k arcs unrouted); a DCCA puts
            # it on a global line, which reaches every slice's LSR mux.
            m.domains.reset_src = src = ClockDomain("reset_src")
            m.d.comb += src.clk.eq(clk)
            m.submodules.reset_sync = ResetSynchronizer(~self.locked, domain="reset_src")
            m.submodules.reset_buf = Instance("DCCA", i_CLKI=src.rst, i_CE=1, o_CLKO=cd.rst)
        else:
            # Vivado replicates or buffers high-fanout nets itself.
            m.submodules.reset_sync = ResetSynchronizer(~self.locked, domain="sync")
        return m
