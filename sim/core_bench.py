"""cocotb bench of the LIF core (``ec_hw.gateware.core.Core``), run by ``test_rtl_core.py``.

Parameters and arrays come from :func:`test_rtl_core.make_case` through
:func:`bench_io.bench_params`: the connection words to load, the encoded observations of
every env step and slot, the resets to apply, and the golden model's actions, state, input
currents and last-substep spikes after every env step. The bench drives the core's streams with
random idle cycles and backpressure and fails with a message naming the env step, slot, neuron
(or action) and quantity of the first difference.
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from bench_io import bench_params, bench_test
from cocotb.triggers import RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from stream_tb import TB, request_response

from ec_hw.coremap import CoreOp, DebugSel, word_ints

QUANTITY = {DebugSel.V: "v", DebugSel.I_SYN: "i_syn", DebugSel.RATE: "rate",
            DebugSel.SPIKES: "spike word", DebugSel.I_IN: "i_in"}


class CoreTB(TB):
    """TB for the core: payload dicts with the optional ``slot`` field handled once."""

    def __init__(self, dut, params):
        super().__init__(dut, params["ports"], seed=params["seed"],
                         idle_prob=params["idle_prob"], stall_prob=params["stall_prob"])
        self.p = params
        self.where = f"[{params['config']} / {params['case']}]"

    def payload(self, port: str, **values) -> dict:
        fields = self.ports[port]["fields"]
        out = {}
        for k, v in values.items():
            if k in fields:
                out[k] = v
            elif v:
                raise AssertionError(f"{port} payload has no field {k!r} but {k}={v} is needed "
                                     f"(fields: {sorted(fields)})")
        return out

    async def command(self, op: int, slot: int = 0) -> None:
        await self.src["cmd"].send(self.payload("cmd", op=op, slot=slot))

    async def wait_idle(self, what: str, timeout_cycles: int) -> None:
        try:
            await self.wait_until(self.dut.busy, 0, timeout_cycles)
        except TimeoutError:
            raise AssertionError(f"{self.where} busy still high {timeout_cycles} cycles after "
                                 f"{what}") from None


async def _time_of(trigger) -> float:
    await trigger
    return get_sim_time("ns")


@bench_test
async def core_matches_golden_model(dut):
    params, arr = bench_params()
    tb = CoreTB(dut, params)
    where = tb.where
    rng = random.Random(params["seed"])
    n, d, a, s = params["n"], params["obs_dim"], params["act_dim"], params["slots"]
    steps = params["steps"]
    expected_cycles = params["cycles_per_env_step"]
    step_timeout = 4 * expected_cycles + 2000
    events = {int(k): v for k, v in params["events"].items()}
    await tb.start()

    # Connection memories: every word of every slot, in shuffled order.
    for m, ad, w in zip(arr["load_matrix"].tolist(), arr["load_addr"].tolist(),
                        word_ints(arr["load_data"]), strict=True):
        await tb.src["load"].send(tb.payload("load", matrix=m, addr=ad, data=w))
    dut._log.info("%s loaded %d connection words", where, tb.src["load"].count)

    n_spk_words = -(-n // 32)
    dbg_plan = [(m, sel, j) for m in range(s)
                for sel in (DebugSel.V, DebugSel.I_SYN, DebugSel.RATE, DebugSel.I_IN)
                for j in range(n)]
    dbg_plan += [(m, DebugSel.SPIKES, w) for m in range(s) for w in range(n_spk_words)]
    exp_of = {DebugSel.V: arr["exp_v"], DebugSel.I_SYN: arr["exp_i_syn"],
              DebugSel.RATE: arr["exp_rate"], DebugSel.I_IN: arr["exp_i_in"],
              DebugSel.SPIKES: arr["exp_spk"]}

    for t in range(steps):
        ev = events.get(t, "")
        if ev == "hw_reset":
            # A hardware reset clears the state but must keep the connection memories.
            tb.rst.value = 1
            await tb.cycles(3)
            tb.rst.value = 0
            await RisingEdge(tb.clk)
        elif ev == "reset_all":
            await tb.command(CoreOp.RESET_ALL)
            await tb.wait_idle(f"RESET all before env step {t}", step_timeout)
        elif ev.startswith("reset_slot:"):
            await tb.command(CoreOp.RESET, int(ev.split(":")[1]))
            await tb.wait_idle(f"RESET {ev} before env step {t}", step_timeout)

        obs = [(m, i) for m in range(s) for i in range(d)]
        rng.shuffle(obs)
        x_q = arr["x_q"][t]
        for m, i in obs:
            await tb.src["obs"].send(tb.payload("obs", slot=m, index=i, value=int(x_q[m, i])))

        first_valid = cocotb.start_soon(_time_of(RisingEdge(dut.act__valid)))
        await tb.command(CoreOp.STEP)
        t_cmd = get_sim_time("ns")
        try:
            acts = await with_timeout(tb.snk["act"].recv_n(s * a), step_timeout * tb.period_ns,
                                      "ns")
        except TimeoutError:
            raise AssertionError(f"{where} env step {t}: fewer than {s * a} act transfers within "
                                 f"{step_timeout} cycles of STEP") from None
        t_valid = await first_valid
        await tb.wait_idle(f"STEP {t}", step_timeout)

        # Actions: slot-major, index-minor, values bit-exact.
        exp_act = arr["exp_act"][t]
        for k, got in enumerate(acts):
            m, i = divmod(k, a)
            if isinstance(got, dict):
                g_slot, g_idx, g_val = got.get("slot", 0), got["index"], got["value"]
            else:
                raise AssertionError(f"{where} act payload is not a struct: {got!r}")
            if (g_slot, g_idx) != (m, i):
                raise AssertionError(f"{where} env step {t}: act transfer {k} is slot {g_slot} "
                                     f"index {g_idx}, expected slot {m} index {i}")
            if g_val != int(exp_act[m, i]):
                raise AssertionError(f"{where} env step {t}, slot {m}, action {i}: core "
                                     f"{g_val}, golden model {int(exp_act[m, i])}")
        # Cycle count: the core's own counter, the documented formula and what the TB saw, as
        # a latency (a register between cmd and act would count 1): the index of the first
        # cycle with act valid minus the index of the cycle that accepted STEP, which ends at
        # the accepting edge t_cmd; act valid rises at an edge, starting its cycle.
        cycles = int(dut.cycles.value)
        seen = round((t_valid - t_cmd) / tb.period_ns) + 1
        if not cycles == expected_cycles == seen:
            raise AssertionError(f"{where} env step {t}: cycles output {cycles}, "
                                 f"cycles_per_env_step {expected_cycles}, measured by the TB "
                                 f"{seen}")

        # Read back every neuron's state, i_in and the last substep's spikes.
        plan = dbg_plan
        try:
            resp = await request_response(
                tb.src["dbg_req"], tb.snk["dbg_resp"],
                [tb.payload("dbg_req", slot=m, sel=sel, addr=j) for m, sel, j in plan])
        except TimeoutError as exc:
            raise AssertionError(f"{where} env step {t}: {exc}") from None
        got = {}
        for (m, sel, j), r in zip(plan, resp, strict=True):
            got[(m, sel, j)] = (r & 0xFFFFFFFF) if sel == DebugSel.SPIKES else r
        for m in range(s):
            for sel in (DebugSel.SPIKES, DebugSel.I_IN, DebugSel.I_SYN, DebugSel.V, DebugSel.RATE):
                exp = exp_of[sel][t, m]
                count = n_spk_words if sel == DebugSel.SPIKES else n
                vals = np.array([got[(m, sel, j)] for j in range(count)], np.int64)
                bad = np.flatnonzero(vals != exp[:count])
                if bad.size:
                    j = int(bad[0])
                    unit = "spike word" if sel == DebugSel.SPIKES else "neuron"
                    raise AssertionError(
                        f"{where} env step {t}, slot {m}, {unit} {j}: {QUANTITY[sel]} core "
                        f"{int(vals[j])}, golden model {int(exp[j])} ({bad.size} of {count} "
                        f"differ{'; event ' + ev if ev else ''})")
    dut._log.info("%s %d env steps bit-exact; %d cycles per env step", where, steps,
                  expected_cycles)
