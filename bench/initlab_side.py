"""The initlab side of every workload. Imports only initlab and NumPy (never torch), so the
memory benchmark's initlab process carries no PyTorch pages."""
import numpy as np


def conv_step(x, weight, bias, grad_y, stride, padding):
    """A callable running initlab's fast conv forward and its backward (input, weight, bias)."""
    from initlab.functional import conv2d_backward, conv2d_forward

    def step():
        y, cache = conv2d_forward(x, weight, bias, stride, padding)
        return y, conv2d_backward(grad_y, cache)

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
