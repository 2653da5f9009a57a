"""initlab: a CNN from scratch in NumPy, and a lab for how filter weights are initialized."""
__version__ = "0.1.0"


def load(path, *, warn: bool = True):
    """Load a trained model: ``initlab.load("model.safetensors")`` -> `initlab.trained.TrainedModel`
    with ``predict``, ``predict_proba``, ``normalize``, ``class_names``, ``image_shape``, ...
    (imported on first use, so that ``import initlab`` stays light)."""
    from .trained import load as _load
    return _load(path, warn=warn)
