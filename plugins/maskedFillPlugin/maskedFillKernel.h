// Masked fill along a time axis: y = x, except y[b, ..t..] = fill where t >= len[b].
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! x, y: (batch, perBatch) elements of `type`, where the time index of element i (within a batch) is
//! (i / innerStride) % time. lengths: (batch) int32.
cudaError_t launchMaskedFill(ElemType type, void const* x, int32_t const* lengths, void* y, int64_t batch,
    int64_t perBatch, int64_t time, int64_t innerStride, float fill, cudaStream_t stream);
} // namespace trt_helper
