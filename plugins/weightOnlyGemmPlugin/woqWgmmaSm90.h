// The Hopper WeightOnlyGemm kernel for more than 8 tokens (woqWgmmaSm90.cu, sm_90a): wgmma with the dequantized
// weights as the register operand.
#pragma once

#include "kernelTypes.h"
#include "woqTile.cuh"

namespace trt_helper
{
//! Where the wgmma kernel measured faster than the register kernel on an H200 (2026-12-02, woq_variants A/B,
//! benchmarks/results/woq_wgmma_tma_h200.log): from M = 64 at N = 11008 / 12288, from M = 128 at N = 4096 / 5120
//! (4096 -> 4096 W4 M = 128 excepted: 12 % slower); slower at M ≤ 32 and at N = 1280 (W4): m ≥ kWgmmaMinTokens,
//! n ≥ kWgmmaMinFeatures and m · n ≥ kWgmmaMinWork. (Benchmark builds may set them with -D to time the kernel
//! elsewhere: run_woq_gpu.sh step ab.)
#ifndef TRTH_WOQ_WGMMA_MIN_TOKENS
#define TRTH_WOQ_WGMMA_MIN_TOKENS 64
#endif
#ifndef TRTH_WOQ_WGMMA_MIN_FEATURES
#define TRTH_WOQ_WGMMA_MIN_FEATURES 4096
#endif
#ifndef TRTH_WOQ_WGMMA_MIN_WORK
#define TRTH_WOQ_WGMMA_MIN_WORK (1 << 19)
#endif
constexpr int64_t kWgmmaMinTokens = TRTH_WOQ_WGMMA_MIN_TOKENS;
constexpr int32_t kWgmmaMinFeatures = TRTH_WOQ_WGMMA_MIN_FEATURES;
constexpr int64_t kWgmmaMinWork = TRTH_WOQ_WGMMA_MIN_WORK;

//! Launches the wgmma kernel where it applies: a GPU of compute capability 9.0 and this library built with sm_90a code
//! (TRTH_HAVE_WOQ_WGMMA), m ≥ kWgmmaMinTokens, n ≥ kWgmmaMinFeatures, m · n ≥ kWgmmaMinWork, n % 128 == 0, k % 64 == 0,
//! 16-byte aligned x, weights and scales. Otherwise launches nothing and returns cudaErrorNotSupported (the caller
//! takes another kernel).
cudaError_t launchWoqWgmmaSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream);
} // namespace trt_helper
