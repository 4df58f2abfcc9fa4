// Weight-only quantized GEMM y = x · dequant(W)ᵀ (+ bias): W4A16 / W8A16, fp16 or bf16 activations, fp32 accumulate.
#pragma once

#include "kernelTypes.h"

namespace trt_helper
{
//! x (m, k), y (m, n) and scales / bias of element type `type` (fp16 or bf16, not fp32). weights: the packed tiles of
//! trt_helper/woq_layout.py (ceil(n/16)·16 rows × ceil(k/64)·64 columns, `bits` 4 or 8); scales (n) when groupSize
//! is 0, else (k / groupSize, n); bias (n) or null. k % 16 == 0; groupSize 0, 64 or 128 dividing k. Pointers are
//! 16-byte aligned. Returns the launch status (cudaErrorInvalidValue for an unsupported type / bits).
cudaError_t launchWeightOnlyGemm(ElemType type, int32_t bits, int32_t groupSize, void const* x, void const* weights,
    void const* scales, void const* bias, void* y, int64_t m, int32_t n, int32_t k, cudaStream_t stream);
} // namespace trt_helper
