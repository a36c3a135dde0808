"""The training rows of the ratio table: gradients and transposed convolution.

Each row times one backward product of a layer against PyTorch's CPU
autograd kernel for it (``torch.ops.aten.convolution_backward``, the call
``torch.autograd.grad`` reaches for ``F.conv2d``) or ``F.conv_transposeNd``;
the torch-op row times a training step's forward and backward pass through
``pyconvx.torch.conv2d`` against the same step through ``F.conv2d``.
The grad_output of a backward row is a fixed function of the shapes (seeded),
the same array on both sides.  A timed call returns its products as they
are (grad_input and grad_weight; no copy is timed); the like-for-like check
compares them in order as one flat array.
"""

import importlib
from dataclasses import dataclass

import numpy as np

import pyconvx

from .workloads import Workload

__all__ = ["TRAINING_WORKLOADS", "BackwardWorkload", "TorchOpWorkload", "TransposeWorkload"]


@dataclass(frozen=True)
class PlanSummary:
    """The fields of a ``pyconvx.Plan`` the table reports, for a backward or
    transposed call (see ``pyconvx.plan_backward`` / ``plan_transpose``)."""

    algorithm: str
    microkernel: "str | None"
    tile: "tuple | None"
    simd: "str | None"
    box: "tuple | None"
    threads: int
    work_units: int
    workspace_bytes: int
    flops: int


def _phase_plans(transposed):
    """The forward plans a transposed convolution runs: one when its phases are
    stacked, else one per phase that has taps."""
    if hasattr(transposed, "plan"):
        return [transposed.plan]
    return [phase.plan for phase in transposed.phases if phase.plan is not None]


def _phase_units(transposed):
    return sum(plan.work_units for plan in _phase_plans(transposed))


def _grad_output(shape, dtype):
    rng = np.random.default_rng(1)
    return rng.standard_normal(shape).astype(dtype)


class BackwardWorkload(Workload):
    """grad_input and grad_weight of one layer against torch's convolution_backward."""

    def __init__(self, key, name, x_shape, w_shape, dtype, conv_kwargs, goal, **extra):
        super().__init__(key, name, x_shape, w_shape, dtype, conv_kwargs,
                         "torch convolution_backward", "torch", self._torch_factory, goal,
                         **extra)

    def plan(self, threads):
        p = pyconvx.plan_backward(self.x_shape, self.w_shape, threads=threads,
                                  dtype=self.dtype, needs=("input", "weight"),
                                  **self.conv_kwargs)
        weight = p.grad_weight
        units = weight.work_units + _phase_units(p.grad_input)
        return PlanSummary("backward", f"phases+{weight.path}", weight.tile, weight.simd,
                           weight.band.box, weight.threads, units, p.workspace_bytes,
                           p.grad_input.flops + weight.flops)

    def pyconvx_call(self, x, w, threads):
        g = _grad_output(self.out_shape, self.dtype)
        kwargs = dict(self.conv_kwargs)

        def call():
            grads = pyconvx.conv_backward(x, w, g, needs=("input", "weight"),
                                          threads=threads, **kwargs)
            return grads.grad_input, grads.grad_weight

        return call

    def _torch_factory(self, x, w, threads):
        torch = importlib.import_module("torch")
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        ndim = x.ndim - 2
        g = torch.from_numpy(_grad_output(self.out_shape, self.dtype))
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        stride = self.conv_kwargs.get("stride", 1)
        padding = self.conv_kwargs.get("padding", 0)
        groups = self.conv_kwargs.get("groups", 1)

        def call():
            grad_x, grad_w, _ = torch.ops.aten.convolution_backward(
                g, tx, tw, None, [stride] * ndim, [padding] * ndim, [1] * ndim, False,
                [0] * ndim, groups, [True, True, False])
            return grad_x, grad_w

        def restore():
            torch.set_num_threads(before)

        return call, restore


class TransposeWorkload(Workload):
    """``conv_transpose`` against ``F.conv_transposeNd``; ``w_shape`` is
    ``(C_in, C_out / groups, *kernel)``."""

    def __init__(self, key, name, x_shape, w_shape, dtype, conv_kwargs, goal, **extra):
        peer = f"torch F.conv_transpose{len(w_shape) - 2}d"
        super().__init__(key, name, x_shape, w_shape, dtype, conv_kwargs, peer, "torch",
                         self._torch_factory, goal, **extra)

    @property
    def out_shape(self):
        return pyconvx.output_shape(self.x_shape, self.w_shape, transposed=True,
                                    **self.conv_kwargs)

    def plan(self, threads):
        p = pyconvx.plan_transpose(self.x_shape, self.w_shape, threads=threads,
                                   dtype=self.dtype, **self.conv_kwargs)
        first = _phase_plans(p.grad_input)[0]
        how = "stacked" if len(_phase_plans(p.grad_input)) == 1 else "phases"
        return PlanSummary(f"{len(p.grad_input.phases)} {how}", first.microkernel, first.tile,
                           first.simd, first.box, first.threads, _phase_units(p.grad_input),
                           p.workspace_bytes, p.grad_input.flops)

    def pyconvx_call(self, x, w, threads):
        kwargs = dict(self.conv_kwargs)

        def call():
            return pyconvx.conv_transpose(x, w, threads=threads, **kwargs)

        return call

    def _torch_factory(self, x, w, threads):
        torch = importlib.import_module("torch")
        functional = importlib.import_module("torch.nn.functional")
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        function = {3: functional.conv_transpose1d, 4: functional.conv_transpose2d}[x.ndim]
        kwargs = dict(self.conv_kwargs)

        def call():
            with torch.no_grad():
                return function(tx, tw, **kwargs)

        def restore():
            torch.set_num_threads(before)

        return call, restore


def _torch_step(conv2d, x, w, g, threads, kwargs):
    """A forward and backward pass of ``conv2d`` (pyconvx.torch's or torch's)
    on tensors sharing the arrays' memory, on ``threads`` torch threads, as
    ``(call, restore)``; ``call()`` returns the output and both gradients."""
    torch = importlib.import_module("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    tx = torch.from_numpy(x).requires_grad_()
    tw = torch.from_numpy(w).requires_grad_()
    tg = torch.from_numpy(g)

    def call():
        y = conv2d(tx, tw, **kwargs)
        grad_x, grad_w = torch.autograd.grad(y, (tx, tw), tg)
        return y, grad_x, grad_w

    def restore():
        torch.set_num_threads(before)

    return call, restore


class TorchOpWorkload(Workload):
    """A training step through the PyTorch op ``pyconvx.torch.conv2d`` (forward
    and backward for input and weight) against the same step through
    ``torch.nn.functional.conv2d``."""

    def __init__(self, key, name, x_shape, w_shape, dtype, conv_kwargs, goal, **extra):
        super().__init__(key, name, x_shape, w_shape, dtype, conv_kwargs,
                         "torch F.conv2d + autograd", "torch", self._torch_factory, goal,
                         **extra)

    def plan(self, threads):
        forward = pyconvx.plan(self.x_shape, self.w_shape, threads=threads, dtype=self.dtype,
                               **self.conv_kwargs)
        p = pyconvx.plan_backward(self.x_shape, self.w_shape, threads=threads,
                                  dtype=self.dtype, needs=("input", "weight"),
                                  **self.conv_kwargs)
        weight = p.grad_weight
        return PlanSummary("torch op", f"{forward.algorithm}+phases+{weight.path}", forward.tile,
                           forward.simd, forward.box, forward.threads,
                           forward.work_units + weight.work_units + _phase_units(p.grad_input),
                           max(forward.workspace_bytes, p.workspace_bytes),
                           forward.flops + p.grad_input.flops + weight.flops)

    def pyconvx_call(self, x, w, threads):
        torch_op = importlib.import_module("pyconvx.torch")
        call, _ = _torch_step(torch_op.conv2d, x, w, _grad_output(self.out_shape, self.dtype),
                              threads, self.conv_kwargs)
        return call

    def _torch_factory(self, x, w, threads):
        functional = importlib.import_module("torch.nn.functional")
        return _torch_step(functional.conv2d, x, w, _grad_output(self.out_shape, self.dtype),
                           threads, self.conv_kwargs)


TRAINING_WORKLOADS = [
    BackwardWorkload("grad3x3", "backward (input + weight): 3x3, 64->64, 56x56, N=8, pad 1",
                     (8, 64, 56, 56), (64, 64, 3, 3), "float32", {"padding": 1}, 1.0),
    BackwardWorkload("grad3x3_f64", "the same backward in float64",
                     (8, 64, 56, 56), (64, 64, 3, 3), "float64", {"padding": 1}, 0.3),
    BackwardWorkload("grad1x1", "backward (input + weight): 1x1, 256->256, 28x28, N=8",
                     (8, 256, 28, 28), (256, 256, 1, 1), "float32", {"padding": 0}, 1.0),
    BackwardWorkload("grad_depthwise3x3",
                     "backward (input + weight): depthwise 3x3, C=256, 28x28, N=8",
                     (8, 256, 28, 28), (256, 1, 3, 3), "float32",
                     {"padding": 1, "groups": 256}, 0.8),
    TorchOpWorkload("torchop3x3_f64",
                    "pyconvx.torch.conv2d forward + backward: 3x3, 64->64, 56x56, N=8, float64",
                    (8, 64, 56, 56), (64, 64, 3, 3), "float64", {"padding": 1}, 0.5),
    TransposeWorkload("convT4x4s2", "conv_transpose2d 4x4 stride 2 pad 1, 128->64, 28->56, N=8",
                      (8, 128, 28, 28), (128, 64, 4, 4), "float32",
                      {"stride": 2, "padding": 1}, 1.0),
    TransposeWorkload("convT1d_k16s8", "conv_transpose1d k16 stride 8, 64->32, L=4000, N=4",
                      (4, 64, 4000), (64, 32, 16), "float32", {"stride": 8}, 1.0),
]
