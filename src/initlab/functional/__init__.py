"""Stateless operations besides convolution: pooling, activations and their derivatives,
log-softmax. Convolution has its own package, `convolution`; `conv2d`, `conv2d_naive` and
`im2col` can also be reached from here.

Floor 1: NumPy only. Shapes are NCHW. One module a job:

* `pooling.py`: max and average pooling as reductions over the KH*KW window offsets, forward
  and backward, and PyTorch's pooling options on a general path beside the default one;
* `activations.py`: each activation phi(x) and its derivative phi'(x), `ACTIVATIONS` by name;
* `softmax.py`: a numerically stable softmax and log-softmax.
"""
# docs/architecture.md's "how does a kernel step over the image?" names these here too
from ..convolution import conv2d, conv2d_naive, im2col  # noqa: F401
from .activations import (  # noqa: F401
    ACTIVATIONS, SELU_ALPHA, SELU_SCALE, _std_normal_cdf, elu, elu_grad, gelu, gelu_grad, gelu_tanh,
    gelu_tanh_grad, leaky_relu, leaky_relu_grad, relu, relu_grad, selu, selu_grad, sigmoid, sigmoid_grad,
    tanh, tanh_grad,
)
from .pooling import (  # noqa: F401
    PoolCache, PoolOptionsCache, avg_pool2d, avg_pool2d_backward, avg_pool2d_forward,
    avg_pool2d_options_forward, check_pool_input, max_pool2d, max_pool2d_backward, max_pool2d_forward,
    max_pool2d_indices, max_pool2d_options_forward, pool2d_options_backward, pool_output_size,
    # the unchecked kernels the pooling layers run (their entry checked the input)
    _avg_pool2d_backward, _avg_pool2d_forward, _avg_pool2d_options_forward, _max_pool2d_backward,
    _max_pool2d_forward, _max_pool2d_options_forward,
)
from .softmax import log_softmax, softmax  # noqa: F401
