"""Bit-exact Numba golden models of the core (see :mod:`ec_hw.fixedpoint`) and float references.

Every gateware block that computes has a twin here with the same stem. Call
:func:`ec_hw.runtime.setup_process` once before the first kernel runs (the ``ec-hw`` command,
the trainer's workers, the benchmarks and the tests do): it drops Numba caches that an edit of
an inlined source made stale and keeps OpenMP from spin-waiting.
"""
