"""The PyTorch side of every workload: the same operations and networks, built with torch.nn.

Layer order matches initlab's builders, so `Sequential.state_dict()` keys ("<index>.weight")
line up and an initlab state dict loads here unchanged.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def conv_step(x, weight, bias, grad_y, stride, padding):
    """A callable running F.conv2d forward and the backward to input, weight and bias."""
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    wt = torch.from_numpy(weight.copy()).requires_grad_(True)
    bt = torch.from_numpy(bias.copy()).requires_grad_(True)
    gt = torch.from_numpy(grad_y.copy())

    def step():
        y = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
        grads = torch.autograd.grad(y, (xt, wt, bt), gt)
        return y, grads

    return step


def lenet5(in_channels=1, num_classes=10):
    """LeNet-5 for 28x28 inputs, in initlab's `lenet5` layer order."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )


def he_init(model):
    """He-normal weights (fan_in, ReLU gain) and zero biases, as initlab's models start: the
    memory benchmark's two children then train the same kind of network (the timed workloads
    copy initlab's weights instead)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model


def plain_cnn(depth=30, width=16, in_channels=1, num_classes=10):
    """`depth` conv 3x3 pad 1 + ReLU blocks, global average pooling, flatten, linear."""
    layers = []
    for i in range(depth):
        layers += [nn.Conv2d(in_channels if i == 0 else width, width, 3, padding=1), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)]
    return nn.Sequential(*layers)


def load_numpy_state(model, state: dict):
    """Copy a {name: ndarray} state dict (initlab's) into `model`; strict about names/shapes."""
    model.load_state_dict({k: torch.from_numpy(np.array(v, copy=True)) for k, v in state.items()})


def trainer(model, lr=0.01, momentum=0.9):
    """A callable step(x, y) doing one SGD-with-momentum step on a NumPy batch; returns the loss."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss

    return step


def forward(model, x):
    """Logits as a NumPy array (no graph kept)."""
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()
