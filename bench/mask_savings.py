"""What the connectivity mask of the digits mixer would save in rho memory and link bytes.

    python bench/mask_savings.py [--neurons 512] [--board arty_a7]

Everything is computed from the code that sizes the device and the wire: the mask
(:func:`ec_hw.topology.connectivity_mask`), the packed genome (:func:`pack_genome`), the rho
memory (:func:`ec_hw.gateware.sampler.rho_memory_depth`), the default frame size
(:func:`ec_hw.gateware.top.default_max_payload`) and the frame counts of ``LOAD`` and
``LOAD_RHO`` (:func:`ec_hw.protocol.member_load_wire_bytes`, :func:`load_rho_wire_bytes`).

"Now" is what the device stores and the host sends today: every connection, the masked ones
as 0. The alternatives are encodings that are *not built*:

* rho, live only: 16 bits per live connection (the device would need the mask's structure to
  know where each value goes);
* rho, live blocks: the 64-bit Threefry blocks (4 rho) that hold a live connection, in the
  72-bit words the memory uses now;
* LOAD_RHO / LOAD, live runs: today's frames (header ``start, count``), sent only for the runs
  of consecutive rho values / 64-bit genome words that can be nonzero, on a device that
  zero-fills a slot (or knows the mask) first.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from ec_hw.build import load_board
from ec_hw.config import CoreConfig
from ec_hw.gateware.sampler import RHO_WORD_BITS, rho_memory_depth
from ec_hw.gateware.top import default_max_payload
from ec_hw.genome import RHO_PER_BLOCK, GenomeLayout
from ec_hw.model.packing import pack_genome
from ec_hw.protocol import (
    FRAME_OVERHEAD,
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    WireFormat,
    chunks,
    load_rho_wire_bytes,
    member_load_wire_bytes,
)
from ec_hw.tasks.classify import task_net
from ec_hw.tasks.data import load_dataset
from ec_hw.topology import connectivity_mask


def runs(live: np.ndarray) -> list[int]:
    """Lengths of the runs of consecutive True values."""
    d = np.diff(np.concatenate([[0], live.astype(np.int8), [0]]))
    return list(np.flatnonzero(d == -1) - np.flatnonzero(d == 1))


def run_frames_bytes(live: np.ndarray, per_frame: int, header: int, item_bytes: int) -> int:
    """Request bytes of frames that carry only the runs of ``live`` items."""
    frames = sum(len(chunks(n, per_frame)) for n in runs(live))
    return frames * (FRAME_OVERHEAD + header) + int(live.sum()) * item_bytes


def savings(net, wire: WireFormat, mask: np.ndarray) -> dict[str, int]:
    """Bits and request bytes now (full matrices) and live only, for flat ``mask``."""
    lay = GenomeLayout.of(net)
    n_conn = net.n_conn
    blocks = np.concatenate([mask, np.zeros(-n_conn % RHO_PER_BLOCK, bool)])
    words = pack_genome(mask, lay) != 0
    load_live = sum(run_frames_bytes(words[lo:hi], wire.max_load_words, LOAD_HEADER.size,
                                     wire.word_bytes)
                    for lo, hi in ((0, lay.off_rec), (lay.off_rec, lay.off_out),
                                   (lay.off_out, lay.n_words)))
    return {
        "n_conn": n_conn, "n_live": int(mask.sum()),
        "rho_bits_now": rho_memory_depth(net) * RHO_WORD_BITS,
        "rho_bits_live": 16 * int(mask.sum()),
        "rho_blocks": len(blocks) // RHO_PER_BLOCK,
        "rho_blocks_live": int(blocks.reshape(-1, RHO_PER_BLOCK).any(axis=1).sum()),
        "load_rho_bytes_now": load_rho_wire_bytes(wire, net)[0],
        "load_rho_bytes_live": run_frames_bytes(mask, wire.max_rho_values,
                                                LOAD_RHO_HEADER.size, 2),
        "rho_runs": len(runs(mask)),
        "load_bytes_now": member_load_wire_bytes(wire, net)[0],
        "load_bytes_live": load_live,
        "words": lay.n_words, "words_live": int(words.sum()), "word_bytes": wire.word_bytes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=512)
    ap.add_argument("--board", default="arty_a7")
    args = ap.parse_args()

    net = task_net(load_dataset("digits"), n_neurons=args.neurons)
    board = load_board(args.board)
    core = replace(CoreConfig(), slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    wire = WireFormat.of(net, core, default_max_payload(net, core))
    r = savings(net, wire, connectivity_mask(net))
    n_conn, n_live = r["n_conn"], r["n_live"]
    print(f"network: N = {net.n_neurons}, {net.topology}, board {board.name} "
          f"(max_payload {wire.max_payload} B)")
    print(f"connections: {n_live:,} live of {n_conn:,} ({100 * n_live / n_conn:.1f} %)")
    now = r["rho_bits_now"]
    print(f"rho memory now: {now:,} bits ({now / 1e6:.2f} Mbit, "
          f"{now // RHO_WORD_BITS:,} words of {RHO_WORD_BITS})")
    print(f"rho memory, live only (16 bits each): {r['rho_bits_live']:,} bits "
          f"({100 * r['rho_bits_live'] / now:.1f} % of now)")
    lb = r["rho_blocks_live"]
    print(f"rho memory, live 64-bit blocks in 72-bit words: {lb * 64:,} bits "
          f"({lb:,} of {r['rho_blocks']:,} blocks, {100 * lb * 64 / now:.1f} % of now)")
    print(f"LOAD_RHO per generation now: {r['load_rho_bytes_now']:,} B; live runs only: "
          f"{r['load_rho_bytes_live']:,} B "
          f"({100 * r['load_rho_bytes_live'] / r['load_rho_bytes_now']:.1f} %, "
          f"{r['rho_runs']:,} runs; their values alone {2 * n_live:,} B)")
    wl = r["words_live"]
    print(f"LOAD per member now: {r['load_bytes_now']:,} B ({r['words']:,} words); live-word "
          f"runs only: {r['load_bytes_live']:,} B ({wl:,} words, "
          f"{100 * r['load_bytes_live'] / r['load_bytes_now']:.1f} %; the words alone "
          f"{wl * r['word_bytes']:,} B)")
    print(f"connection memory per slot now: {r['words'] * 64:,} bits; live words only: "
          f"{wl * 64:,} bits ({100 * wl / r['words']:.1f} %)")


if __name__ == "__main__":
    main()
