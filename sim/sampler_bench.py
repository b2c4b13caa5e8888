"""cocotb bench of the device sampler (``ec_hw.gateware.sampler.SampleUnit``).

Run by ``test_rtl_sampler.py``, which computes everything expected in the pytest process: the
quantized rho values (written through ``rho_load`` in a random connection order) and, for
every member command, the core words of ``sample_members(...)`` in load order
(:mod:`ec_hw.coremap`). The bench loads rho through ``rho_load`` (random idle cycles), then
for each member sends ``cmd`` and collects the ``load`` transfers under random backpressure,
comparing each word bit-exactly. A final member
runs with the sink always ready and must take exactly ``sample_cycles`` cycles from the ``cmd``
transfer to its last ``load`` transfer, after which ``busy`` is low.
"""

from __future__ import annotations

import cocotb
from bench_io import bench_params, bench_test
from cocotb.triggers import ReadOnly
from stream_tb import TB

from ec_hw.coremap import word_ints


async def _sample(tb: TB, cmd: list[int], n_words: int, timeout: int) -> list[tuple]:
    slot, gen_seed, member, antithetic = cmd
    payload = {"gen_seed": gen_seed, "member": member, "antithetic": antithetic}
    if "slot" in tb.ports["cmd"]["fields"]:
        payload["slot"] = slot
    recv = cocotb.start_soon(tb.snk["load"].recv_n(n_words, timeout))
    await tb.src["cmd"].send(payload)
    t0 = tb.now_cycles()
    got = await recv
    return got, tb.now_cycles() - t0


@bench_test
async def sampler_matches_golden_model(dut):
    p, arr = bench_params()
    where = f"[{p['config']}]"
    tb = TB(dut, p["ports"], seed=p["seed"], idle_prob=p["idle_prob"],
            stall_prob=p["stall_prob"])
    await tb.start()
    await tb.src["rho_load"].send_all({"addr": c, "data": v} for c, v in
                                      zip(arr["rho_addr"].tolist(), arr["rho"].tolist(),
                                          strict=True))
    starts = arr["member_start"].tolist()
    matrix, addr = arr["exp_matrix"].tolist(), arr["exp_addr"].tolist()
    data = word_ints(arr["exp_data"])
    cmds = p["cmds"]
    timeout = 4 * p["sample_cycles"]
    for k, cmd in enumerate(cmds):
        last = k == len(cmds) - 1
        if last:
            tb.snk["load"].stall_prob = 0.0
        lo, hi = starts[k], starts[k + 1]
        got, cycles = await _sample(tb, cmd, hi - lo, timeout)
        for i, word in enumerate(got):
            exp = (matrix[lo + i], addr[lo + i], data[lo + i])
            have = (word["matrix"], word["addr"], word["data"])
            if have != exp:
                raise AssertionError(
                    f"{where} member {cmd}: load transfer {i} is (matrix, addr, data) = "
                    f"({have[0]}, {have[1]}, {have[2]:#x}), golden model "
                    f"({exp[0]}, {exp[1]}, {exp[2]:#x}); differing bits {have[2] ^ exp[2]:#x}")
        await ReadOnly()
        if int(dut.busy.value):
            raise AssertionError(f"{where} member {cmd}: busy still high after the last word")
        if last and cycles != p["sample_cycles"]:
            raise AssertionError(f"{where} member {cmd}: {cycles} cycles from cmd to the last "
                                 f"load transfer, sample_cycles() says {p['sample_cycles']}")
        await tb.cycles(1 + k % 3)  # vary the gap between members


@bench_test
async def sampled_core_matches_golden_model(dut):
    """SampleUnit.load -> Core.load: members sampled on the device drive the core's actions."""
    p, arr = bench_params()
    where = f"[{p['config']} sampled core]"
    tb = TB(dut, p["ports"], seed=p["seed"], idle_prob=p["idle_prob"],
            stall_prob=p["stall_prob"])
    await tb.start()
    await tb.src["rho_load"].send_all({"addr": c, "data": v} for c, v in
                                      zip(arr["rho_addr"].tolist(), arr["rho"].tolist(),
                                          strict=True))
    slot_field = "slot" in tb.ports["sample"]["fields"]
    timeout = 4 * p["sample_cycles"] + 2000
    for slot, gen_seed, member, antithetic in p["cmds"]:
        payload = {"gen_seed": gen_seed, "member": member, "antithetic": antithetic}
        if slot_field:
            payload["slot"] = slot
        await tb.src["sample"].send(payload)
        await tb.wait_until(dut.busy, 0, timeout)
    s, d, a = p["slots"], p["obs_dim"], p["act_dim"]
    x_q, exp_act = arr["x_q"], arr["exp_act"]
    for t in range(p["steps"]):
        for m in range(s):
            for i in range(d):
                obs = {"index": i, "value": int(x_q[t, m, i])}
                if slot_field:
                    obs["slot"] = m
                await tb.src["obs"].send(obs)
        await tb.src["cmd"].send({"op": 0, **({"slot": 0} if slot_field else {})})
        acts = await tb.snk["act"].recv_n(s * a, p["step_timeout"])
        for k, got in enumerate(acts):
            m, i = divmod(k, a)
            if got["value"] != int(exp_act[t, m, i]):
                raise AssertionError(f"{where} env step {t}, slot {m}, action {i}: core "
                                     f"{got['value']}, golden model {int(exp_act[t, m, i])} "
                                     f"(member {p['cmds'][m]})")
        await tb.wait_until(dut.busy, 0, p["step_timeout"])
