// LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics in fp32.
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! x, y: (rows, dim); gamma, beta: (dim). All of element type `type`. Returns the launch status.
cudaError_t launchLayerNorm(ElemType type, void const* x, void const* gamma, void const* beta, void* y, int64_t rows,
    int32_t dim, float eps, cudaStream_t stream);
} // namespace trt_helper
