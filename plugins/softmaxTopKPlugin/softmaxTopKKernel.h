// Top-1 of softmax(logits) over the last axis: value = max probability = 1 / sum(exp(x - max)), index = argmax
// (lowest index on ties). Tokens t >= len[b] get value 0 and index 0.
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! logits: (batch, time, experts) of `type`; lengths: (batch) int32; value: (batch, time) of `type`;
//! index: (batch, time) int32.
cudaError_t launchSoftmaxTop1(ElemType type, void const* logits, int32_t const* lengths, void* value, int32_t* index,
    int64_t batch, int64_t time, int32_t experts, cudaStream_t stream);
} // namespace trt_helper
