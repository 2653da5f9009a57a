"""Benchmarks: initlab side by side with PyTorch (CPU) and a textbook NumPy peer. Run `python -m bench`."""
