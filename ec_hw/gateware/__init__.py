"""Amaranth gateware of the LIF core: one ``wiring.Component`` per block (see STYLE.md)."""
