"""Evaluators for TensorRT's layers, one module per family; importing this package registers them all.

Each evaluator takes the downcast layer and its input values and returns its output values, following the
layer's documentation in NvInfer.h. Loop and if-conditional boundary layers are run by the executor itself
(``reference/control.py``).
"""

from . import attention, basic, extern, image, indexing, linear, pointwise, quantize, reduce, shape  # noqa: F401
