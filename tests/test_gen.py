"""The checked-in rtl/ is exactly what `python -m ec_hw.gen` generates (drift test)."""

import functools
import json

import pytest

from ec_hw import gen
from ec_hw.config import CoreConfig
from ec_hw.gateware.core import cycles_per_env_step

# Elaborating and converting a core takes seconds: every test shares one real generation.
_generate = functools.lru_cache(gen.generate)


def _check(name):
    v, js = _generate(name)
    assert (gen.RTL_DIR / f"ec_core_{name}.v").read_text() == v, \
        f"rtl/ec_core_{name}.v is stale: run `python -m ec_hw.gen`"
    assert (gen.RTL_DIR / f"ec_core_{name}.json").read_text() == js
    return v, json.loads(js)


def test_hopper_rtl_is_current():
    v, manifest = _check("hopper")
    assert "module ec_core_hopper(" in v
    assert "/work/" not in v, "source paths leaked into the Verilog"
    ports = manifest["ports"]
    assert ports["load"]["fields"]["data"][1] == 64
    assert ports["load"]["fields"]["addr"][1] == 10      # 256 rows x 4 words of W_rec
    assert ports["obs"]["fields"]["value"] == [4, 16, True]
    assert manifest["cycles_per_env_step"] == cycles_per_env_step(gen.SHIPPED["hopper"],
                                                                   CoreConfig())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["walker2d", "humanoid"])
def test_other_rtl_is_current(name):
    _check(name)


def test_check_mode_reports_drift(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gen, "RTL_DIR", tmp_path)
    monkeypatch.setattr(gen, "generate", _generate)
    assert gen.main(["--check", "hopper"]) == 1
    assert "stale" in capsys.readouterr().err
    assert gen.main(["hopper"]) == 0
    assert gen.main(["--check", "hopper"]) == 0


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="name must be one of hopper, walker2d, humanoid"):
        gen.generate("ant")
