"""Gradient checkpointing: trade a second forward pass for memory (Chen et al. 2016).

Floor 3, beside `model`. Plain backprop keeps every layer's cache from the forward pass until
backward has used it: memory grows with depth L. Here the layers are cut into k segments;
the forward pass keeps only each segment's input and drops the caches as it goes; backward
walks the segments from the last to the first, re-running each one's forward from its saved
input (which rebuilds exactly the caches plain backprop would have had) and then its backward,
dropping them again. Memory: k segment inputs plus one segment's caches, ~k + L/k layers,
smallest at k ~ sqrt(L); time: one more forward pass. The gradients are the same bits, since
every layer computes the same values from the same inputs.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidValueError


def segment_bounds(n_layers: int, segments: int) -> list[tuple[int, int]]:
    """[(start, stop)] cutting range(n_layers) into min(segments, n_layers) nearly equal runs."""
    segments = min(segments, n_layers)
    edges = np.linspace(0, n_layers, segments + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def check_recomputable(layers) -> None:
    """Recomputation must give the same values: refuse layers whose forward draws random numbers
    (Dropout) or updates state (BatchNorm's running statistics)."""
    for index, layer in enumerate(layers):
        if layer.buffers or hasattr(layer, "rng"):
            raise InvalidValueError(
                f"Sequential checkpoint_segments: layer {index} ({type(layer).__name__}) changes state or draws "
                "random numbers in forward, so a recomputed forward would differ; use plain backprop "
                "(checkpoint_segments=None) for this model")


def forward(model, x, training=True):
    """Run the model, keeping only each segment's input (in model._segment_inputs)."""
    inputs = []
    for start, stop in segment_bounds(len(model.layers), model.checkpoint_segments):
        inputs.append(x)
        for layer in model.layers[start:stop]:
            x = layer.forward(x, training=training)
            layer.release(workspace=True)
    model._segment_inputs, model._segment_training = inputs, training
    return x


def backward(model, grad, input_grad=False):
    """Backward segment by segment from the last: recompute its forward, back-propagate, drop."""
    bounds = segment_bounds(len(model.layers), model.checkpoint_segments)
    for (start, stop), x in zip(reversed(bounds), reversed(model._segment_inputs)):
        segment = model.layers[start:stop]
        for layer in segment:
            x = layer.forward(x, training=model._segment_training)
        for index in range(stop - 1, start - 1, -1):
            layer = model.layers[index]
            if index == 0 and not input_grad and layer.can_skip_input_grad:
                layer.backward(grad, need_input_grad=False)
                grad = None
            else:
                grad = layer.backward(grad)
            layer.release(workspace=True)
    return grad
