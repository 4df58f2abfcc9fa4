// The Hopper WeightOnlyGemm kernel for 64 and more tokens (woqWgmmaSm90.cu, sm_90a): wgmma with the dequantized
// weights as the register operand.
#pragma once

#include "kernelTypes.h"
#include "woqTile.cuh"

namespace trt_helper
{
//! From how many tokens the wgmma kernel runs: from M = 64 it measured faster than the register kernel on an H200 at
//! every benchmark shape (N = 1280 included) but W4 at M = 64 on N = 4096 (4096 -> 4096 +11 %, 11008 -> 4096 +5 %; W8
//! there 14-23 % faster) (2026-12-03, benchmarks/results/woq_wgmma_dispatch_h200.log); slower at M ≤ 32. (Benchmark
//! builds may set it with -D: run_woq_gpu.sh step ab.)
#ifndef TRTH_WOQ_WGMMA_MIN_TOKENS
#define TRTH_WOQ_WGMMA_MIN_TOKENS 64
#endif
constexpr int64_t kWgmmaMinTokens = TRTH_WOQ_WGMMA_MIN_TOKENS;

//! Launches the wgmma kernel where it applies: a GPU of compute capability 9.0 and this library built with sm_90a code
//! (TRTH_HAVE_WOQ_WGMMA), m ≥ kWgmmaMinTokens, n % 128 == 0, k % 64 == 0, 16-byte aligned x, weights and scales.
//! Otherwise launches nothing and returns cudaErrorNotSupported (the caller takes another kernel).
cudaError_t launchWoqWgmmaSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream);
} // namespace trt_helper
