"""initlab: a CNN from scratch in NumPy, and a lab for how filter weights are initialized."""
__version__ = "0.1.0"
