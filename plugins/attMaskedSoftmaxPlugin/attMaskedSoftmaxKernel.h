// Length-masked softmax over the last axis of scores (B, H, Tq, Tk): keys k < len[b] get softmax(scale * x),
// keys k >= len[b] get exactly 0; a row with len <= 0 is all zeros. len is clamped to Tk. Padded keys are not read.
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! x, y: (batch, rowsPerBatch, tk) of `type`; lengths: (batch) int32.
cudaError_t launchAttMaskedSoftmax(ElemType type, void const* x, int32_t const* lengths, void* y, int64_t batch,
    int64_t rowsPerBatch, int32_t tk, float scale, cudaStream_t stream);
} // namespace trt_helper
