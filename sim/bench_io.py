"""Run a cocotb bench against a build, and the bench's end of that channel.

pytest side: :func:`run_bench` runs a bench module (importable from ``sim/``) against an
:class:`hdl_build.HdlBuild`, passing it parameters (JSON) and arrays (``.npz``), and turns a
bench failure into :class:`BenchFailure` carrying the bench's own message.

Bench side (inside the simulator): :func:`bench_params` reads what :func:`run_bench` passed;
:func:`bench_test` wraps ``cocotb.test`` so a failure message reaches pytest.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from hdl_build import SIM_DIR, TIMESCALE, HdlBuild, require_simulator, safe_name

__all__ = ["CLOCK_PERIOD_NS", "BenchFailure", "run_bench", "bench_params", "bench_test"]

CLOCK_PERIOD_NS = 10

_PARAMS_ENV = "EC_HW_BENCH_PARAMS"
_FAILURE_FILE = "bench_failure.txt"


class BenchFailure(AssertionError):
    """A cocotb bench failed; the message is the bench's own (or the simulator's exit)."""


def _failure_text(results_xml: Path) -> str:
    try:
        root = ET.parse(results_xml).getroot()
    except (OSError, ET.ParseError):
        return "the simulator produced no results file"
    msgs = []
    for tc in root.iter("testcase"):
        for tag in ("failure", "error"):
            for el in tc.iter(tag):
                msgs.append(f"{tc.get('name')}: {el.get('message') or tag}")
    return "; ".join(msgs)


def _count_testcases(results_xml: Path) -> int:
    try:
        return sum(1 for _ in ET.parse(results_xml).getroot().iter("testcase"))
    except (OSError, ET.ParseError):
        return 0


def run_bench(hdl: HdlBuild, module: str, *, run_name: str, params: dict | None = None,
              arrays: dict[str, np.ndarray] | None = None, testcase: str | None = None,
              seed: int | None = None, extra_env: dict[str, str] | None = None) -> Path:
    """Run cocotb bench ``module`` (importable from ``sim/``) against ``hdl``.

    ``params`` (JSON-serializable) and ``arrays`` reach the bench through :func:`bench_params`,
    together with the build's port map (``params["ports"]``). The run directory is
    ``<build_dir>/runs/<run_name>`` (waveforms, the results file and the bench's inputs land
    there). Raises :class:`BenchFailure` with the bench's failure message if any test fails,
    and when no test ran at all.
    """
    from cocotb_tools.runner import get_runner

    sim = require_simulator(hdl.sim)
    if str(SIM_DIR) not in sys.path:
        sys.path.insert(0, str(SIM_DIR))  # the simulator's Python inherits sys.path
    run_dir = hdl.build_dir / "runs" / safe_name(run_name)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    payload = dict(params or {})
    payload.setdefault("ports", hdl.ports)
    payload["clock_period_ns"] = CLOCK_PERIOD_NS
    payload["arrays"] = None
    if arrays:
        np.savez(run_dir / "arrays.npz", **arrays)
        payload["arrays"] = str(run_dir / "arrays.npz")
    pfile = run_dir / "params.json"
    pfile.write_text(json.dumps(payload, indent=1, default=_json_default))
    env = {_PARAMS_ENV: str(pfile)}
    env.update(extra_env or {})
    results = run_dir / "results.xml"
    runner = get_runner(sim)
    if sim == "verilator":
        # The runner only knows the build directory from build(); skipping a cached build is
        # fine as long as the language is named.
        runner.build_dir = hdl.build_dir
    exit_code = 0
    try:
        runner.test(test_module=module, hdl_toplevel=hdl.toplevel, hdl_toplevel_lang="verilog",
                    build_dir=hdl.build_dir, test_dir=run_dir, results_xml=str(results),
                    extra_env=env, waves=hdl.waves, timescale=TIMESCALE, testcase=testcase,
                    seed=seed)
    except SystemExit as exc:  # the runner exits when the simulator or a test fails
        exit_code = exc.code if isinstance(exc.code, int) else 1
    failure = run_dir / _FAILURE_FILE
    if failure.exists():
        raise BenchFailure(failure.read_text().strip())
    if exit_code:
        raise BenchFailure(f"simulator exited with {exit_code}: "
                           f"{_failure_text(results) or 'see the log above'}")
    text = _failure_text(results)
    if text:
        raise BenchFailure(text)
    if not _count_testcases(results):  # a filter that matched nothing is not a pass
        raise BenchFailure(f"no test ran: {results} holds no test case (module {module!r}"
                           + (f", testcase {testcase!r})" if testcase else ")"))
    return run_dir


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict
        return asdict(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__} for a bench")


def bench_params() -> tuple[dict, dict[str, np.ndarray]]:
    """``(params, arrays)`` passed by :func:`run_bench` (inside the simulator)."""
    path = os.environ.get(_PARAMS_ENV)
    if not path:
        raise RuntimeError(f"{_PARAMS_ENV} is not set: run this bench through run_bench()")
    params = json.loads(Path(path).read_text())
    arrays: dict[str, np.ndarray] = {}
    if params.get("arrays"):
        with np.load(params["arrays"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return params, arrays


def bench_test(func=None, **kwargs):
    """``cocotb.test`` that also writes the failure message where :func:`run_bench` finds it."""
    import cocotb

    def wrap(fn):
        @functools.wraps(fn)
        async def runner(dut):
            try:
                await fn(dut)
            except BaseException as exc:
                msg = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                with open(_FAILURE_FILE, "a") as fh:
                    fh.write(f"{fn.__name__}: {msg}\n")
                raise
        return cocotb.test(**kwargs)(runner)

    return wrap(func) if func is not None else wrap
