"""Bit-exact Numba golden models of the core (see :mod:`ec_hw.fixedpoint`) and float references.

Every gateware block that computes has a twin here with the same stem.
"""
