"""Acoustic networks: wave-RNN on the FDTD engine, layered acoustic stacks."""
