"""Shared library of the OVN charm bundle: everything that touches the machine or OVN.

One module per concern. Pure decision functions come first in each module; the few functions that
run commands or write files come last and are named for what they do to the machine.
"""
