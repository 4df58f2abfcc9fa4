// Lengths after WeNet's Conv2dSubsampling{4,6,8}: each stride-s, kernel-k convolution maps L -> max(0, (L - k) / s +
// 1).
//   factor 4: k3 s2, k3 s2   -> ((L - 1) // 2 - 1) // 2
//   factor 6: k3 s2, k5 s3   -> ((L - 1) // 2 - 2) // 3
//   factor 8: k3 s2 three times
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
cudaError_t launchSubsampleLengths(
    int32_t const* lengths, int32_t* out, int64_t count, int32_t factor, cudaStream_t stream);
} // namespace trt_helper
