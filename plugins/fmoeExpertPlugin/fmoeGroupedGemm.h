// The expert GEMMs of FMoEExpert as one grouped GEMM whose problem sizes and pointers live in device memory
// (CUTLASS 2.x GemmGrouped, GroupScheduleMode::kDeviceOnly): the host never reads the routing, so an enqueue
// never waits and can be captured in a CUDA graph. Per group g (an expert; empty ones have m = 0):
//   D_g (m x n, row-major, ldd) = act(A_g (m x k, row-major, lda) . B_g (k x n, column-major, ldb) + C_g)
// with C_g a bias row broadcast over the rows (ldc = 0). fp16/bf16: tensor cores (mma.sync), fp32 accumulate;
// fp32: SIMT fp32.
#pragma once

#include "kernelTypes.h"

#include <cstdint>

namespace trt_helper
{
//! Epilogue activation; kIDENTITY for the second GEMM (the other values match MoeActivation).
enum class GemmActivation : int32_t
{
    kSWISH = 0,
    kRELU = 1,
    kGELU = 2,
    kIDENTITY = 3,
};

struct GroupedGemmArgs
{
    ElemType type;
    GemmActivation act;
    int32_t groups;     //!< number of groups (experts)
    int64_t rowsHint;   //!< expected rows per group (tokens / experts), picks the tile shape on the host
    int32_t const* problems; //!< device: groups x (m, n, k) int32 (cutlass::gemm::GemmCoord)
    void* const* a;     //!< device: groups pointers
    void* const* b;
    void* const* c;
    void* const* d;
    int64_t const* lda; //!< device: groups leading dimensions each
    int64_t const* ldb;
    int64_t const* ldc;
    int64_t const* ldd;
};

//! Alignment (elements) that k, n and the leading dimensions must have: 8 for 16-bit types, 1 for fp32.
int32_t groupedGemmAlignment(ElemType type);

//! Launches the grouped GEMM on `stream` (no host synchronisation); returns the launch error, if any.
cudaError_t groupedGemm(GroupedGemmArgs const& args, cudaStream_t stream);
} // namespace trt_helper
