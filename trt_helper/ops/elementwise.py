"""Binary elementwise ops with numpy-style broadcasting; python numbers become constants."""

from __future__ import annotations

import torch


class ElementwiseOps:
    """addAdd, addSub, addMul, addDiv, addFloorDiv, addPow, addMaximum, addMinimum, comparisons, logic."""

    def _binary(self, a, b, operation, op, name):
        if not isinstance(a, self.trt.ITensor) and isinstance(b, self.trt.ITensor):
            a = self._scalar_like(a, b, op)
        self._check_tensor(a, op, "first operand")
        if not isinstance(b, self.trt.ITensor):
            b = self._scalar_like(b, a, op)
        if a.dtype != b.dtype:
            raise TypeError(f"{self._where(op)}: operands have different dtypes {self.torch_dtype(a)} {self.shape(a)} "
                            f"and {self.torch_dtype(b)} {self.shape(b)}; cast one with addCast")
        a, b = self._broadcast_ranks(a, b, op)
        for x, y in zip(self.shape(a), self.shape(b)):
            if x != y and -1 not in (x, y) and 1 not in (x, y):
                raise ValueError(f"{self._where(op)}: shapes {self.shape(a)} and {self.shape(b)} do not broadcast")
        layer = self.network.add_elementwise(a, b, getattr(self.trt.ElementWiseOperation, operation))
        return self._finish(layer, op, name, (a, b)).get_output(0)

    def _broadcast_ranks(self, a, b, op):
        """Prepend unit dims to the lower-rank operand (TensorRT needs equal ranks)."""
        ra, rb = len(a.shape), len(b.shape)
        if ra < rb:
            a = self.addUnsqueeze(a, list(range(rb - ra)), name=f"{op}_broadcast")
        elif rb < ra:
            b = self.addUnsqueeze(b, list(range(ra - rb)), name=f"{op}_broadcast")
        return a, b

    def addAdd(self, a, b, name=None):
        """``a + b``."""
        return self._binary(a, b, "SUM", "addAdd", name)

    def addSub(self, a, b, name=None):
        """``a - b``."""
        return self._binary(a, b, "SUB", "addSub", name)

    def addMul(self, a, b, name=None):
        """``a * b``."""
        return self._binary(a, b, "PROD", "addMul", name)

    def addDiv(self, a, b, name=None):
        """``a / b`` (floating tensors; use :meth:`addFloorDiv` for integers)."""
        tensor = a if isinstance(a, self.trt.ITensor) else b
        self._check_float(tensor, "addDiv")
        return self._binary(a, b, "DIV", "addDiv", name)

    def addFloorDiv(self, a, b, name=None):
        """``a // b`` (rounds toward minus infinity, like torch)."""
        return self._binary(a, b, "FLOOR_DIV", "addFloorDiv", name)

    def addPow(self, a, b, name=None):
        """``a ** b``."""
        return self._binary(a, b, "POW", "addPow", name)

    def addMaximum(self, a, b, name=None):
        """``torch.maximum(a, b)``."""
        return self._binary(a, b, "MAX", "addMaximum", name)

    def addMinimum(self, a, b, name=None):
        """``torch.minimum(a, b)``."""
        return self._binary(a, b, "MIN", "addMinimum", name)

    def addEqual(self, a, b, name=None):
        """``a == b`` (bool)."""
        return self._binary(a, b, "EQUAL", "addEqual", name)

    def addGreater(self, a, b, name=None):
        """``a > b`` (bool)."""
        return self._binary(a, b, "GREATER", "addGreater", name)

    def addLess(self, a, b, name=None):
        """``a < b`` (bool)."""
        return self._binary(a, b, "LESS", "addLess", name)

    def addAnd(self, a, b, name=None):
        """``a & b`` for bool tensors."""
        return self._binary(a, b, "AND", "addAnd", name)

    def addOr(self, a, b, name=None):
        """``a | b`` for bool tensors."""
        return self._binary(a, b, "OR", "addOr", name)

    def addMatMul(self, a, b, transpose_a=False, transpose_b=False, name=None):
        """``a @ b`` (rank >= 2, batch dims broadcast), optionally transposing the last two dims of either."""
        op = "addMatMul"
        self._check_rank(a, op, range(2, 9), "a")
        self._check_rank(b, op, range(2, 9), "b")
        if a.dtype != b.dtype:
            raise TypeError(f"{self._where(op)}: a {self.torch_dtype(a)} {self.shape(a)} and b {self.torch_dtype(b)} "
                            f"{self.shape(b)} differ in dtype")
        k_a = self.shape(a)[-2 if transpose_a else -1]
        k_b = self.shape(b)[-1 if transpose_b else -2]
        if -1 not in (k_a, k_b) and k_a != k_b:
            raise ValueError(f"{self._where(op)}: inner dims differ: a {self.shape(a)} (transpose={transpose_a}) and "
                             f"b {self.shape(b)} (transpose={transpose_b})")
        a, b = self._broadcast_ranks(a, b, op)
        mop = self.trt.MatrixOperation
        layer = self.network.add_matrix_multiply(a, mop.TRANSPOSE if transpose_a else mop.NONE,
                                                 b, mop.TRANSPOSE if transpose_b else mop.NONE)
        return self._finish(layer, op, name, (a, b)).get_output(0)
