// The expert GEMMs of FMoEExpert as one grouped GEMM whose problem sizes and pointers live in device memory only:
// the host never reads the routing, so an enqueue never waits and can be captured in a CUDA graph. Per group g (an
// expert; empty ones have m = 0):
//   D_g (m x n, row-major, ldd) = act(A_g (m x k, row-major, lda) . B_g (k x n, column-major, ldb) + C_g)
// with C_g a bias row broadcast over the rows (ldc = 0), fp32 accumulation. Kernels: CUTLASS 2.x GemmGrouped with
// GroupScheduleMode::kDeviceOnly (fp16/bf16 mma.sync; fp32 SIMT); on Hopper the block kernels (fmoeBlockGemmSm90.cuh:
// CUTLASS 3.x TMA + wgmma over the routed rows padded to blocks of 64 or 128 rows, one expert per block, read from a
// device table) and, in tuning builds, CUTLASS 3.x ptr-array grouped GEMMs (TMA + wgmma, null host problem shapes);
// fmoeGroupedGemm.cu picks one per GEMM from the host-known sizes.
#pragma once

#include "kernelTypes.h"

#include <cstdint>

#ifndef TRTH_HAVE_SM90_GROUPED
#define TRTH_HAVE_SM90_GROUPED 0 // 1: the Hopper kernels are built (CMake: tuning builds for arch 90)
#endif
#ifndef TRTH_HAVE_SM90_BLOCK
#define TRTH_HAVE_SM90_BLOCK 0 // 1: the Hopper block kernels are built (CMake: arch 90 in the build, CUDA >= 12.3)
#endif
#ifndef TRTH_FMOE_TUNING
#define TRTH_FMOE_TUNING 0 // 1: the tuning-only kernels too (CMake option TRT_HELPER_FMOE_TUNING)
#endif

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

//! The 16-bit tensor-core kernels: tile M x N x K, stages (sm80: CUTLASS 2.x mma.sync; sm90: 3.x TMA + wgmma,
//! pingpong or cooperative). The default build holds the ones its dispatch table uses; a TRTH_FMOE_TUNING build all
//! (the sweep of benchmarks/plugins/fmoe_stages.cu).
enum class GemmKernel : int32_t
{
    kSM80_64x128x32 = 0,
    kSM80_128x128x32 = 1,
    kSM90_64x128_PINGPONG = 2,
    kSM80_128x128x64 = 3,
    kSM80_64x64x64 = 4,
    kSM80_128x64x64 = 5,
    kSM90_128x128_COOPERATIVE = 6,
    kSM90_128x256_COOPERATIVE = 7,
    kSM90_64x256_PINGPONG = 8,
    kSM90_BLOCK_64x128 = 9,
    kSM90_BLOCK_128x128 = 10, //!< cooperative (two warp groups per 128-row tile): the routing then pads to 128 rows
    kSM90_BLOCK_128x256 = 11,
    kSM90_BLOCK_64x128_C2 = 12, //!< 64x128 on clusters of 2 row blocks sharing their weight tiles (TMA multicast)
    kSM90_BLOCK_64x256 = 13,
    kCount = 14,
};

//! Rows of one entry of the block table: the block kernels' routing pads every expert's rows to a multiple of this
//! (or of the tile rows of the block kernels that run: groupedGemmRowPad).
constexpr int32_t kBlockRows = 64;

//! Rows per expert (tokens / experts) from which the dispatch takes the kernels for many rows.
constexpr int64_t kGroupedGemmLargeRows = 128;

//! "sm80_64x128x32", ...; nullptr for an unknown value.
char const* gemmKernelName(GemmKernel k);
//! True for the Hopper kernels.
bool gemmKernelIsSm90(GemmKernel k);
//! True for the block kernels (they read the flat operands and the block table of GroupedGemmArgs).
bool gemmKernelIsBlock(GemmKernel k);
//! True when this build holds the block kernels for `type` and the current device runs them: the routing then pads.
bool blockGemmAvailable(ElemType type);
//! The padding of every expert's rows a block kernel needs (its tile rows, times 2 on clusters of 2 row blocks); 1 for
//! the other kernels.
int32_t gemmKernelRowPad(GemmKernel k);
//! The padding of every expert's rows the routing gives FMoE's two GEMMs (GEMM1 n = hidden, k = dim; GEMM2 the
//! other way round) with `rowsHint` rows per expert: 1 without the block kernels, else kBlockRows or the larger tile
//! padding of the block kernels groupedGemmChoice takes.
int32_t groupedGemmRowPad(ElemType type, int64_t rowsHint, int32_t dim, int32_t hidden);
//! The largest padding any kernel of this build may need (sizes the workspace whatever device runs it).
int32_t groupedGemmMaxRowPad(ElemType type);
//! True when this build holds the kernel (tuning-only kernels need TRTH_FMOE_TUNING; Hopper ones the sm_90a part)
//! and it runs on the current device.
bool gemmKernelAvailable(GemmKernel k);

struct GroupedGemmArgs
{
    ElemType type;
    GemmActivation act;
    int32_t groups;          //!< number of groups (experts)
    int64_t rowsHint;        //!< expected rows per group (tokens / experts): with n and k, picks the kernel
    int32_t n;               //!< every group's n (host-known: only m is routing-dependent)
    int32_t k;               //!< every group's k
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
    // The same GEMMs as flat operands, for the block kernels: rows of A and D padded per expert to rowPad.
    void const* aRows;          //!< (rows, k) row-major
    void const* weights;        //!< (groups, n, k): B_g column-major
    void const* bias;           //!< (groups, n)
    void* dRows;                //!< (rows, n) row-major
    int64_t rows;               //!< capacity of aRows / dRows, a multiple of groupedGemmMaxRowPad
    int32_t rowPad;             //!< the routing's padding of every expert's rows (a block kernel's tile rows divide it)
    int32_t const* blockExpert; //!< device: rows / kBlockRows experts, -1 after the last used block
    // Block kernels only, optional: scatter the output rows. When set, row r of group g's rows (groupStart[g] + i,
    // i < groupRows[g]) goes to row rowToken[r] of dRows, times rowScale[rowToken[r]] where rowScale is set; the
    // group's padding rows (i >= groupRows[g]) are not stored.
    int32_t const* rowToken;   //!< device: rows ints
    void const* rowScale;      //!< device: one element per row of dRows
    int32_t const* groupStart; //!< device: groups ints, each group's first row
    int32_t const* groupRows;  //!< device: groups ints, each group's rows that hold data
    //! Block kernels: launched as a programmatic dependent of the previous launch in the stream (it waits for that one
    //! to complete before reading anything); other kernels launch as usual.
    bool dependentLaunch;
};

//! Alignment (elements) that k, n and the leading dimensions must have: 8 for 16-bit types, 1 for fp32.
int32_t groupedGemmAlignment(ElemType type);

//! Scratch bytes groupedGemm needs for `groups` groups of `type` on the current device, whatever kernel runs (0
//! without the Hopper kernels).
size_t groupedGemmWorkspace(ElemType type, int32_t groups);

//! The kernel groupedGemm runs for these arguments (16-bit types): a per-(rows bucket, GEMM) table measured on an
//! H200 (fmoeGroupedGemm.cu), or TRT_HELPER_FMOE_GEMM in tuning builds (see there).
GemmKernel groupedGemmChoice(GroupedGemmArgs const& args);

//! Launches the grouped GEMM on `stream` (no host synchronisation); returns the launch error, if any.
cudaError_t groupedGemm(GroupedGemmArgs const& args, cudaStream_t stream);

//! Launches one given 16-bit kernel; cudaErrorInvalidValue when it is not available (gemmKernelAvailable).
cudaError_t groupedGemmWith(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);

//! Per element type and kernel family (fmoeGroupedGemmF16.cu / Bf16.cu; Sm90F16.cu / Sm90Bf16.cu, sm_90a).
cudaError_t groupedGemmSm80F16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
cudaError_t groupedGemmSm80Bf16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
cudaError_t groupedGemmSm90F16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
cudaError_t groupedGemmSm90Bf16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
cudaError_t blockGemmSm90F16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
cudaError_t blockGemmSm90Bf16(GroupedGemmArgs const& args, GemmKernel kernel, cudaStream_t stream);
//! Scratch bytes of one Hopper kernel (its TMA descriptors per SM).
size_t groupedGemmSm90F16Workspace(GemmKernel kernel, int32_t groups);
size_t groupedGemmSm90Bf16Workspace(GemmKernel kernel, int32_t groups);
} // namespace trt_helper
