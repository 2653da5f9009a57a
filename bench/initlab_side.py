"""The initlab side of every workload. Imports only initlab and NumPy (never torch), so the
memory benchmark's initlab process carries no PyTorch pages."""
import numpy as np


def conv_step(x, weight, bias, grad_y, stride, padding):
    """A callable running a Conv2D layer's forward and backward (input, weight and bias
    gradients), as a training step does: the layer keeps its scratch buffers between calls."""
    from initlab.layers import Conv2D
    out_channels, in_channels, kh, kw = weight.shape
    layer = Conv2D(in_channels, out_channels, (kh, kw), stride, padding,
                   weight_init=weight, bias_init=bias, dtype=weight.dtype)

    def step():
        y = layer.forward(x)
        grad_x = layer.backward(grad_y)
        return y, (grad_x, layer.grads["weight"], layer.grads["bias"])

    return step


def lenet5(rng=0):
    from initlab.models import lenet5 as build
    return build(in_channels=1, num_classes=10, image_size=28, rng=rng)


def plain_cnn(depth=30, width=16, rng=0):
    from initlab.models import plain_cnn as build
    return build(depth=depth, width=width, activation="relu", in_channels=1, num_classes=10,
                 rng=rng)


def trainer(model, lr=0.01, momentum=0.9):
    """A callable step(x, y) doing one SGD-with-momentum step on a batch; returns the loss."""
    from initlab.losses import SoftmaxCrossEntropy
    from initlab.optim import SGD
    opt = SGD(model, lr=lr, momentum=momentum)
    loss_fn = SoftmaxCrossEntropy()

    def step(x, y):
        logits = model.forward(x)
        loss = loss_fn.forward(logits, y)
        model.backward(loss_fn.backward())
        opt.step()
        return loss

    return step


def state_dict(model) -> dict:
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def forward(model, x):
    return model.forward(x)
