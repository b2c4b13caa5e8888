"""The boards' core clock: PLL / MMCM settings within the data-sheet ranges, exact output."""

import pytest

from ec_hw.build import load_board
from ec_hw.gateware.clocking import CoreClock, ecp5_pll_params, mmcm_params


def test_ulx3s_pll_makes_100_mhz_from_25():
    s = ecp5_pll_params(25_000_000, 100_000_000)
    assert (s.in_div, s.mult, s.out_div) == (1, 4, 6)   # what Lattice's ecppll gives
    assert s.f_vco == 600e6 and s.f_out == 100e6


def test_arty_mmcm_makes_100_mhz_from_100():
    s = mmcm_params(100_000_000, 100_000_000)
    assert 600e6 <= s.f_vco <= 1200e6 and s.f_out == 100e6
    assert s.f_in * s.mult / s.in_div == s.f_vco


def test_arty_mmcm_makes_60_mhz_from_100():
    s = mmcm_params(100_000_000, 60_000_000)
    assert (s.in_div, s.mult, s.out_div) == (1, 9, 15)  # VCO 900 MHz, mid-range
    assert s.f_vco == 900e6 and s.f_out == 60e6


@pytest.mark.parametrize("f_out", [50_000_000, 75_000_000, 125_000_000, 150_000_000])
def test_settings_are_exact_and_in_range(f_out):
    for fn, f_in, pfd, vco in ((ecp5_pll_params, 25_000_000, (3.125e6, 400e6), (400e6, 800e6)),
                               (mmcm_params, 100_000_000, (10e6, 450e6), (600e6, 1200e6))):
        s = fn(f_in, f_out)
        assert pfd[0] <= f_in / s.in_div <= pfd[1] and vco[0] <= s.f_vco <= vco[1]
        assert s.f_vco / s.out_div == f_out


def test_impossible_clocks_are_refused():
    with pytest.raises(ValueError, match="no EHXPLLL setting makes exactly"):
        ecp5_pll_params(25_000_000, 99_999_999)
    with pytest.raises(ValueError, match="3.125-400 MHz"):
        ecp5_pll_params(25_000_000, 500_000_000)
    with pytest.raises(ValueError, match="family must be"):
        CoreClock("ice40", None, 12_000_000, 48_000_000)


def test_boards_clock_the_core_from_a_pll():
    ulx, arty = load_board("ulx3s"), load_board("arty_a7")
    assert (ulx.osc_hz, ulx.clk_hz) == (25_000_000, 100_000_000)
    assert (arty.osc_hz, arty.clk_hz) == (100_000_000, 60_000_000)
    for name in ("nitefury", "litefury"):   # the block design's clocking wizard, same settings
        pcie = load_board(name)
        assert (pcie.osc_hz, pcie.clk_hz) == (200_000_000, 60_000_000)
        assert mmcm_params(pcie.osc_hz, pcie.clk_hz).f_vco == 900e6
