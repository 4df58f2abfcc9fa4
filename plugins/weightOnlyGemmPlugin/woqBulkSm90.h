// The Hopper WeightOnlyGemm kernel for decode sizes (woqBulkSm90.cu): weights streamed through shared memory by bulk
// copies.
#pragma once

#include "kernelTypes.h"
#include "woqTile.cuh"

namespace trt_helper
{
//! Launches the bulk-copy kernel where it applies: a GPU of compute capability 9.0 or newer that this library has
//! sm_90 code for, m ≤ 8, n % 16 == 0, k % 64 == 0, 16-byte aligned weights and scales, and for int8 more strips than
//! CTAs. Otherwise launches nothing and returns cudaErrorNotSupported (the caller takes the register-streaming kernel).
cudaError_t launchWoqBulkSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream);
} // namespace trt_helper
