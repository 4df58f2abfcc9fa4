// The Hopper WeightOnlyGemm kernel for more than 8 tokens (woqWgmmaSm90.cu, sm_90a): wgmma with the dequantized
// weights as the register operand.
#pragma once

#include "kernelTypes.h"
#include "woqTile.cuh"

namespace trt_helper
{
//! Where the wgmma kernel measured faster than the register kernel on an H200 (benchmarks/results/woq_wgmma_h200.json:
//! M ≥ 64 with N = 11008 / 12288; it was slower at M ≤ 32 and for N ≤ 5120): the fewest tokens and output features.
constexpr int64_t kWgmmaMinTokens = 64;
constexpr int32_t kWgmmaMinFeatures = 8192;

//! Launches the wgmma kernel where it applies: a GPU of compute capability 9.0 and this library built with sm_90a code
//! (TRTH_HAVE_WOQ_WGMMA), m ≥ kWgmmaMinTokens, n ≥ kWgmmaMinFeatures, n % 128 == 0, k % 64 == 0, 4-byte aligned x,
//! 16-byte aligned weights and scales. Otherwise launches nothing and returns cudaErrorNotSupported (the caller takes
//! another kernel).
cudaError_t launchWoqWgmmaSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream);
} // namespace trt_helper
