"""docs/core-interface.md against the code: every table, field, width and formula it states."""

import re
from pathlib import Path

import numpy as np
import pytest
from amaranth.lib import wiring
from amaranth.utils import ceil_log2

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.core import Core, cycles_per_env_step
from ec_hw.gen import SHIPPED
from ec_hw.model.packing import GenomeLayout, pack_genome

DOC = Path(__file__).resolve().parent.parent / "docs" / "core-interface.md"


def _table(heading: str) -> list[list[str]]:
    """Body rows of the first table under the ``## heading`` section (cells stripped)."""
    text = DOC.read_text()
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    rows = [ln for ln in text[start:end if end >= 0 else None].splitlines()
            if ln.startswith("|")]
    assert len(rows) > 2, f"no table under {heading!r}"
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


def _code(cell: str) -> str:
    (inner,) = re.findall(r"`([^`]+)`", cell)
    return inner


def _env(net: NetConfig, core: CoreConfig) -> dict:
    wpr_in, wpr = coremap.words_per_row(net, core)
    return {"N": net.n_neurons, "D": net.obs_dim, "A": net.act_dim, "S": core.slots,
            "W": core.word_bits, "lanes": core.lanes, "wpr_in": wpr_in, "wpr": wpr,
            "clog2": ceil_log2, "addr_bits": coremap.addr_bits(net, core),
            "obs_bits": core.obs_bits, "action_frac_bits": core.action_frac_bits}


CONFIGS = [(net, CoreConfig()) for net in SHIPPED.values()] + [
    (NetConfig(n_neurons=48, obs_dim=5, act_dim=1), CoreConfig(word_bits=32, slots=3, lanes=2)),
    (NetConfig(n_neurons=64, obs_dim=3, act_dim=2), CoreConfig(word_bits=16, slots=4)),
]


@pytest.mark.parametrize("net,core", CONFIGS)
def test_port_fields_and_widths(net, core):
    dut = Core(net, core)
    layouts = {"load": dut.load_layout, "obs": dut.obs_layout, "cmd": dut.cmd_layout,
               "act": dut.act_layout, "dbg_req": dut.dbg_layout}
    env = _env(net, core)
    seen = set()
    for port, direction, fields in _table("Ports"):
        port = _code(port)
        seen.add(port)
        member = dut.signature.members[port]
        assert direction == ("in" if member.flow == wiring.In else "out"), port
        if port == "dbg_resp":
            assert "signed" in fields and _code(fields) == "32"
            assert dut.dbg_resp.payload.shape().signed and len(dut.dbg_resp.payload) == 32
            continue
        doc = re.findall(r"`(\w+)`: `([^`]+)`", fields)
        code = [(name, f.shape.width) for name, f in layouts[port]]
        assert [(n, eval(w, {}, env)) for n, w in doc] == code, port
        offset = 0
        for name, f in layouts[port]:       # LSB first, in the listed order
            assert f.offset == offset, (port, name)
            offset += f.shape.width
    assert seen == set(layouts) | {"dbg_resp"}


def test_command_and_debug_tables_are_the_enums():
    assert {int(v): _code(n) for v, n, _ in _table("Commands")} == \
        {int(op): op.name for op in coremap.CoreOp}
    assert {int(v): _code(n) for v, n, *_ in _table("Debug selectors")} == \
        {int(s): s.name for s in coremap.DebugSel}


@pytest.mark.parametrize("net,core", CONFIGS[2:] + [CONFIGS[0]])
def test_word_map_formulas_locate_every_probed_connection(net, core):
    """A genome with one connection set yields one word, at the documented address and bit."""
    layout = GenomeLayout.of(net)
    env = _env(net, core)
    rows = _table("Connection word map")
    assert [int(r[0]) for r in rows] == [int(m) for m in coremap.Matrix]
    assert [_code(r[1]) for r in rows] == [m.name for m in coremap.Matrix]
    offsets = [0, layout.off_rec_bits, layout.off_out_bits]
    rng = np.random.default_rng(7)
    for mi, (_, _, n_rows, n_cols, formula) in enumerate(rows):
        n_rows, n_cols = eval(_code(n_rows), {}, env), eval(_code(n_cols), {}, env)
        probes = {(0, 0), (n_rows - 1, n_cols - 1)} | {
            (int(rng.integers(n_rows)), int(rng.integers(n_cols))) for _ in range(6)}
        for r, c in probes:
            flat = np.zeros(layout.n_conn, dtype=bool)
            flat[offsets[mi] + r * n_cols + c] = True
            words = coremap.genome_to_words(pack_genome(flat, layout), net, core)
            for slot in {0, core.slots - 1}:
                sw = coremap.slot_words(words, slot, net, core)
                vals = coremap.word_ints(sw.data)
                hit = [k for k, v in enumerate(vals) if v]
                assert len(hit) == 1
                (k,) = hit
                addr = eval(_code(formula), {}, {**env, "slot": slot, "r": r,
                                                 "w": c // core.word_bits})
                assert (sw.matrix[k], sw.addr[k]) == (mi, addr), (mi, r, c, slot)
                assert vals[k] == 1 << (c % core.word_bits)


def test_shipped_configuration_numbers():
    rows = _table("The shipped configurations")
    assert [r[0] for r in rows] == list(SHIPPED)
    core = CoreConfig()
    for name, n, d, a, wpr_in, wpr, d_in, d_rec, d_out, abits, cycles in rows:
        net = SHIPPED[name]
        got = (net.n_neurons, net.obs_dim, net.act_dim, *coremap.words_per_row(net, core),
               *(coremap.matrix_depth(m, net, core) for m in coremap.Matrix),
               coremap.addr_bits(net, core), cycles_per_env_step(net, core))
        assert tuple(int(x) for x in (n, d, a, wpr_in, wpr, d_in, d_rec, d_out, abits,
                                      cycles)) == got, name


def test_default_core_config_as_documented():
    text = DOC.read_text()
    c = CoreConfig()
    assert (f"(`W` = {c.word_bits}, `lanes` = {c.lanes}, `S` = {c.slots}, `obs_bits` = "
            f"{c.obs_bits}, `action_frac_bits` = {c.action_frac_bits})") in text


def test_every_citation_of_the_spec_names_an_existing_file():
    root = DOC.parent.parent
    for path in [*root.glob("ec_hw/**/*.py"), *root.glob("host/*.py"), *root.glob("sim/*.py"),
                 *root.glob("tests/**/*.py"), *root.glob("docs/*.md")]:
        if path != Path(__file__).resolve():
            assert "CORE_INTERFACE" not in path.read_text(), path
