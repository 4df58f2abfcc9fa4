// Relative positional encoding front: y = x * scale and posEmb = pe[:, :T] in one launch.
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! x, y: xCount elements; pe: at least peCount elements, the first peCount (= T * D) are copied to posEmb.
cudaError_t launchRelPositionalEncoding(ElemType type, void const* x, void const* pe, void* y, void* posEmb,
    int64_t xCount, int64_t peCount, float scale, cudaStream_t stream);
} // namespace trt_helper
