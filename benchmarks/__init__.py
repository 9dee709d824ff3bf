"""Benchmark scripts and the PyTorch translation of the seed model (``torch_seed``)."""
