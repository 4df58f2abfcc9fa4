// The expert GEMMs of FMoEExpert as one grouped GEMM whose problem sizes and pointers live in device memory only:
// the host never reads the routing, so an enqueue never waits and can be captured in a CUDA graph. Per group g (an
// expert; empty ones have m = 0):
//   D_g (m x n, row-major, ldd) = act(A_g (m x k, row-major, lda) . B_g (k x n, column-major, ldb) + C_g)
// with C_g a bias row broadcast over the rows (ldc = 0), fp32 accumulation. Kernels: CUTLASS 2.x GemmGrouped with
// GroupScheduleMode::kDeviceOnly (fp16/bf16 mma.sync; fp32 SIMT) and, on Hopper, a CUTLASS 3.x ptr-array grouped
// GEMM (TMA + wgmma, null host problem shapes); fmoeGroupedGemm.cu picks one.
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
    int32_t groups;          //!< number of groups (experts)
    int64_t rowsHint;        //!< expected rows per group (tokens / experts), picks the tile shape on the host
    int32_t const* problems; //!< device: groups x (m, n, k) int32 (cutlass::gemm::GemmCoord)
    void* const* a;          //!< device: groups pointers
    void* const* b;
    void* const* c;
    void* const* d;
    int64_t const* lda; //!< device: groups leading dimensions each (also CUTLASS 3's (ld, _1, _0) strides)
    int64_t const* ldb;
    int64_t const* ldc;
    int64_t const* ldd;
    void* workspace; //!< scratch of the Hopper kernel (groupedGemmWorkspace bytes)
    size_t workspaceSize;
};

//! Alignment (elements) that k, n and the leading dimensions must have: 8 for 16-bit types, 1 for fp32.
int32_t groupedGemmAlignment(ElemType type);

//! Scratch bytes groupedGemm needs for `groups` groups of `type` on the current device (0 for the Ampere kernels).
size_t groupedGemmWorkspace(ElemType type, int32_t groups);

//! Hopper kernels (fmoeGroupedGemmSm90.cu, built for sm_90a when the CUDA archs include 90).
cudaError_t groupedGemmSm90(GroupedGemmArgs const& args, cudaStream_t stream);
size_t groupedGemmSm90Workspace(ElemType type, int32_t groups);

//! Launches the grouped GEMM on `stream` (no host synchronisation); returns the launch error, if any.
cudaError_t groupedGemm(GroupedGemmArgs const& args, cudaStream_t stream);
} // namespace trt_helper
