#include "fmoeExpertKernel.h"
#include "dependentLaunch.h"
#include "fmoeGroupedGemm.h"
#include "kernelCommon.cuh"

namespace trt_helper
{
namespace
{
constexpr size_t kAlign = 256;
constexpr int32_t kPadded = -1;
constexpr int32_t kInvalid = -2;
constexpr int32_t kMaxExperts = 12287; // the routing block's shared counts stay within 48 KiB

size_t alignUp(size_t v)
{
    return (v + kAlign - 1) / kAlign * kAlign;
}

//! The grouped GEMMs' per-expert arguments (device memory, written by the routing kernel).
struct GemmTables
{
    int32_t* problems; //!< 2 x E x (m, n, k): GEMM1 then GEMM2
    void** ptrs;       //!< 8 x E pointers: A1, B1, C1, D1, A2, B2, C2, D2
    int64_t* lds;      //!< 3 x E leading dimensions: D, H, 0 (the broadcast bias rows)
};

//! Rows of xs / hs: the tokens, and where a build has the block kernels (16-bit types) room to pad every expert's
//! rows to a multiple of the largest tile rows they have (whichever device runs it: the size must not depend on the
//! device).
int64_t rowCapacity(ElemType type, int64_t tokens, int32_t experts)
{
    int64_t const pad = groupedGemmMaxRowPad(type);
    int64_t const padded = tokens + static_cast<int64_t>(experts) * (pad - 1);
    return (padded + pad - 1) / pad * pad;
}

//! Carves the workspace into its buffers (the same arithmetic sizes and uses it).
struct Layout
{
    int32_t* offsets;     //!< E + 1 ints: exclusive scan of the per-expert (padded) counts, then the rows used
    int32_t* counts;      //!< E ints: the tokens routed to each expert
    int32_t* tokenRow;    //!< per token: its slot within its expert, then its row in xs; or kPadded / kInvalid
    int32_t* rowToken;    //!< per routed row of xs (padded routing): its token
    int32_t* blockExpert; //!< rows / kBlockRows ints (padded routing): each block's expert, -1 after the last used
    GemmTables tables;
    int64_t rows; //!< row capacity of xs and hs
    char* xs;     //!< routed x rows in expert order, later GEMM2's output (rows x D)
    char* hs;     //!< hidden rows (rows x H)
    char* gemm;   //!< the grouped GEMM's scratch
    size_t gemmBytes;
    size_t total;

    Layout(char* base, ElemType type, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts)
        : rows(rowCapacity(type, tokens, experts))
        , gemmBytes(groupedGemmWorkspace(type, experts))
    {
        int32_t const elem = elemSize(type);
        size_t off = 0;
        auto take = [&](size_t bytes)
        {
            char* p = base ? base + off : nullptr;
            off += alignUp(bytes);
            return p;
        };
        offsets = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * (experts + 1)));
        counts = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * experts));
        tokenRow = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * tokens));
        rowToken = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * rows));
        blockExpert = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * (rows / kBlockRows)));
        tables.problems = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * 6 * experts));
        tables.ptrs = reinterpret_cast<void**>(take(sizeof(void*) * 8 * experts));
        tables.lds = reinterpret_cast<int64_t*>(take(sizeof(int64_t) * 3 * experts));
        xs = take(static_cast<size_t>(elem) * rows * dim);
        hs = take(static_cast<size_t>(elem) * rows * hidden);
        gemm = take(gemmBytes);
        total = off;
    }
};

// One block does the whole routing: per token its validity (length mask, id range) and its slot within its expert
// (shared-memory atomics); then warp 0 scans the counts, each rounded up to a multiple of `pad` (1, or the tile rows
// of the block kernels, a multiple of kBlockRows: then it also writes the expert of every kBlockRows rows), into
// offsets and writes, for every expert e (empty ones with m = 0), the two grouped GEMMs' problem sizes, pointers and
// leading dimensions:
//   GEMM1: hs[start_e .. +c_e, H] = act(xs[start_e .., D] . W1[e]^T + b1[e])  (m c_e, n H, k D)
//   GEMM2: xs[start_e .. +c_e, D] = hs[start_e .., H] . W2[e]^T + b2[e]       (m c_e, n D, k H)
constexpr int kRouteThreads = 1024;

__global__ void __launch_bounds__(kRouteThreads)
    moeRouteKernel(int32_t const* __restrict__ idx, int32_t const* __restrict__ lengths, int32_t* __restrict__ tokenRow,
        int32_t* __restrict__ offsets, int32_t* __restrict__ counts, int32_t* __restrict__ blockExpert, int32_t pad,
        int32_t blocks, GemmTables tables, int64_t tokens, int64_t time, int32_t experts, int32_t dim, int32_t hidden,
        int32_t elem, char const* w1, char const* b1, char const* w2, char const* b2, char* xs, char* hs)
{
    allowDependentLaunch();              // the scatter may start; it waits for this kernel to complete
    extern __shared__ int32_t sCounts[]; // experts
    for (int32_t e = threadIdx.x; e < experts; e += blockDim.x)
    {
        sCounts[e] = 0;
    }
    __syncthreads();
    for (int64_t n = threadIdx.x; n < tokens; n += blockDim.x)
    {
        if (lengths != nullptr && n % time >= __ldg(lengths + n / time))
        {
            tokenRow[n] = kPadded;
            continue;
        }
        int32_t const e = __ldg(idx + n);
        if (e < 0 || e >= experts)
        {
            tokenRow[n] = kInvalid;
            continue;
        }
        tokenRow[n] = atomicAdd(sCounts + e, 1); // slot within the expert; the scatter adds the expert's start
    }
    __syncthreads();
    if (threadIdx.x >= 32)
    {
        return;
    }
    int const lane = threadIdx.x;
    int32_t run = 0;
    size_t const hd = static_cast<size_t>(hidden) * dim * elem;
    int32_t* const problems1 = tables.problems;
    int32_t* const problems2 = tables.problems + 3 * experts;
    void** const p = tables.ptrs;
    for (int32_t base = 0; base < experts; base += 32)
    {
        int32_t const e = base + lane;
        int32_t const m = e < experts ? sCounts[e] : 0;
        int32_t const c = (m + pad - 1) / pad * pad;
        int32_t incl = c;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1)
        {
            int32_t const up = __shfl_up_sync(0xffffffffu, incl, d);
            if (lane >= d)
            {
                incl += up;
            }
        }
        int32_t const start = run + incl - c;
        if (e < experts)
        {
            offsets[e] = start;
            counts[e] = m;
            for (int32_t b = start / kBlockRows; pad > 1 && b < (start + c) / kBlockRows; ++b)
            {
                blockExpert[b] = e;
            }
            char* const xRows = xs + static_cast<size_t>(start) * dim * elem;
            char* const hRows = hs + static_cast<size_t>(start) * hidden * elem;
            problems1[3 * e] = m;
            problems1[3 * e + 1] = hidden;
            problems1[3 * e + 2] = dim;
            problems2[3 * e] = m;
            problems2[3 * e + 1] = dim;
            problems2[3 * e + 2] = hidden;
            p[0 * experts + e] = xRows;
            p[1 * experts + e] = const_cast<char*>(w1 + e * hd);
            p[2 * experts + e] = const_cast<char*>(b1 + static_cast<size_t>(e) * hidden * elem);
            p[3 * experts + e] = hRows;
            p[4 * experts + e] = hRows;
            p[5 * experts + e] = const_cast<char*>(w2 + e * hd);
            p[6 * experts + e] = const_cast<char*>(b2 + static_cast<size_t>(e) * dim * elem);
            p[7 * experts + e] = xRows;
            tables.lds[e] = dim;
            tables.lds[experts + e] = hidden;
            tables.lds[2 * experts + e] = 0;
        }
        run += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0)
    {
        offsets[experts] = run;
    }
    for (int32_t b = (pad > 1 ? run / kBlockRows : blocks) + lane; b < blocks; b += 32)
    {
        blockExpert[b] = -1;
    }
}

//! The output row of a token the routing did not route (lanes of one warp): 0 when padded, NaN for an invalid id.
template<typename T>
__device__ void fillUnrouted(T* dst, int32_t code, int32_t dim, int lane)
{
    T const fill = fromFloat<T>(code == kPadded ? 0.F : __int_as_float(0x7fc00000));
    for (int32_t i = lane; i < dim; i += 32)
    {
        dst[i] = fill;
    }
}

// One warp per routed token: copies its row of x to row offsets[e] + slot of xs and records that row (in tokenRow,
// and in rowToken where the routing pads). Where GEMM2 writes y itself (y set), the unrouted tokens' rows of y too.
template<typename T>
__global__ void moeScatterKernel(T const* __restrict__ x, int32_t const* __restrict__ idx,
    int32_t const* __restrict__ offsets, int32_t* __restrict__ tokenRow, int32_t* __restrict__ rowToken,
    T* __restrict__ xs, T* __restrict__ y, int64_t tokens, int32_t dim)
{
    waitForPrerequisiteGrid(); // the routing's tables (launched as its dependent on the block-GEMM path)
    allowDependentLaunch();
    int64_t const n = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
    int const lane = threadIdx.x & 31;
    if (n >= tokens)
    {
        return;
    }
    int32_t const slot = tokenRow[n];
    if (slot < 0)
    {
        if (y != nullptr)
        {
            fillUnrouted(y + n * dim, slot, dim, lane);
        }
        return;
    }
    int32_t const row = offsets[__ldg(idx + n)] + slot;
    __syncwarp();
    if (lane == 0)
    {
        tokenRow[n] = row;
        if (rowToken != nullptr)
        {
            rowToken[row] = static_cast<int32_t>(n);
        }
    }
    T const* src = x + n * dim;
    T* dst = xs + static_cast<int64_t>(row) * dim;
    if (dim % kVec<T> == 0)
    {
        for (int32_t v = lane; v < dim / kVec<T>; v += 32)
        {
            reinterpret_cast<uint4*>(dst)[v] = __ldg(reinterpret_cast<uint4 const*>(src) + v);
        }
    }
    else
    {
        for (int32_t i = lane; i < dim; i += 32)
        {
            dst[i] = src[i];
        }
    }
}

// One warp per token: y[n] = ys[row] * score[n] (b2 is already in ys); padded tokens 0, invalid ids NaN.
template<typename T>
__global__ void moeGatherKernel(T const* __restrict__ ys, int32_t const* __restrict__ tokenRow,
    T const* __restrict__ score, T* __restrict__ y, int64_t tokens, int32_t dim)
{
    int64_t const n = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
    int const lane = threadIdx.x & 31;
    if (n >= tokens)
    {
        return;
    }
    int32_t const row = tokenRow[n];
    T* dst = y + n * dim;
    if (row < 0)
    {
        fillUnrouted(dst, row, dim, lane);
        return;
    }
    float const s = score ? toFloat(__ldg(score + n)) : 1.F;
    T const* src = ys + static_cast<int64_t>(row) * dim;
    if (dim % kVec<T> == 0)
    {
        for (int32_t i = lane * kVec<T>; i < dim; i += 32 * kVec<T>)
        {
            float v[kVec<T>];
            loadVec(src + i, v);
#pragma unroll
            for (int j = 0; j < kVec<T>; ++j)
            {
                v[j] *= s;
            }
            storeVec(dst + i, v);
        }
    }
    else
    {
        for (int32_t i = lane; i < dim; i += 32)
        {
            dst[i] = fromFloat<T>(toFloat(src[i]) * s);
        }
    }
}

//! Blocks for one warp per token (no grid-stride loop; tokens are capped at INT32_MAX by the caller).
unsigned warpBlocksFor(int64_t tokens, int perBlock)
{
    return static_cast<unsigned>((tokens * 32 + perBlock - 1) / perBlock);
}

//! The launches of one forward in their order (run; planForward sets them up for fmoeForward;
//! benchmarks/plugins/fmoe_stages.cu times them one by one). Each returns the launch error, if any.
struct ForwardStages
{
    FMoEProblem const& p;
    Layout const& ws;
    int64_t tokens;
    cudaStream_t stream;
    int32_t pad; //!< each expert's rows padded to a multiple of this (groupedGemmRowPad)
    //! true: GEMM2 scatters its rows to y times the score (a block kernel; gemm2ToOutput), so no gather runs and the
    //! scatter writes the unrouted tokens' rows of y
    bool gemm2WritesY;
    //! true: the scatter and the two GEMMs are launched as programmatic dependents of the launch before them (each
    //! starts while that one ends and waits for it before touching memory; the Hopper block GEMMs and the scatter
    //! support it), so their launch and set-up overlap the previous kernel's tail
    bool dependentLaunch = false;

    cudaError_t route() const
    {
        int32_t const E = p.experts;
        moeRouteKernel<<<1, kRouteThreads, sizeof(int32_t) * E, stream>>>(p.expertIdx, p.lengths, ws.tokenRow,
            ws.offsets, ws.counts, ws.blockExpert, pad, static_cast<int32_t>(ws.rows / kBlockRows), ws.tables, tokens,
            p.time, E, p.dim, p.hidden, elemSize(p.type), static_cast<char const*>(p.w1),
            static_cast<char const*>(p.b1), static_cast<char const*>(p.w2), static_cast<char const*>(p.b2), ws.xs,
            ws.hs);
        return cudaGetLastError();
    }

    cudaError_t scatter() const
    {
        return dispatchElemType(p.type,
            [&](auto tag)
            {
                using T = decltype(tag);
                cudaLaunchAttribute dependent{};
                cudaLaunchConfig_t const config = dependentLaunchConfig(
                    warpBlocksFor(tokens, 256), dim3(256), 0, stream, dependent, dependentLaunch);
                return cudaLaunchKernelEx(&config, moeScatterKernel<T>, static_cast<T const*>(p.x), p.expertIdx,
                    ws.offsets, ws.tokenRow, pad > 1 ? ws.rowToken : nullptr, reinterpret_cast<T*>(ws.xs),
                    gemm2WritesY ? static_cast<T*>(p.y) : nullptr, tokens, p.dim);
            });
    }

    //! GEMM1 (which = 1): hs = act(xs . W1^T + b1); GEMM2: xs = hs . W2^T + b2 (the tables the routing wrote).
    GroupedGemmArgs gemm(int which) const
    {
        int32_t const E = p.experts;
        void* const* const ptr = ws.tables.ptrs + (which == 1 ? 0 : 4 * E);
        int64_t const* const ld = ws.tables.lds;
        GroupedGemmArgs g{};
        g.type = p.type;
        g.act = which == 1 ? static_cast<GemmActivation>(p.act) : GemmActivation::kIDENTITY;
        g.groups = E;
        g.rowsHint = tokens / E;
        g.n = which == 1 ? p.hidden : p.dim;
        g.k = which == 1 ? p.dim : p.hidden;
        g.problems = ws.tables.problems + (which == 1 ? 0 : 3 * E);
        g.a = ptr;
        g.b = ptr + E;
        g.c = ptr + 2 * E;
        g.d = ptr + 3 * E;
        g.lda = which == 1 ? ld : ld + E; // the input rows: D, then H
        g.ldb = g.lda;                    // W1[e] is D x H column-major, W2[e] H x D
        g.ldc = ld + 2 * E;               // 0: the bias row broadcast
        g.ldd = which == 1 ? ld + E : ld;
        g.workspace = ws.gemm;
        g.workspaceSize = ws.gemmBytes;
        g.aRows = which == 1 ? ws.xs : ws.hs;
        g.weights = which == 1 ? p.w1 : p.w2;
        g.bias = which == 1 ? p.b1 : p.b2;
        g.dRows = which == 1 ? ws.hs : ws.xs;
        g.rows = ws.rows;
        g.rowPad = pad;
        g.blockExpert = pad > 1 ? ws.blockExpert : nullptr;
        g.dependentLaunch = dependentLaunch;
        return g;
    }

    //! GEMM2 for a block kernel, its rows stored straight to the tokens' rows of y times the score: y = hs . W2^T + b2
    //! (times score) with the gather's work done in its epilogue.
    GroupedGemmArgs gemm2ToOutput() const
    {
        GroupedGemmArgs g = gemm(2);
        g.dRows = p.y;
        g.rowToken = ws.rowToken;
        g.rowScale = p.score;
        g.groupStart = ws.offsets;
        g.groupRows = ws.counts;
        return g;
    }

    cudaError_t gather() const
    {
        return dispatchElemType(p.type,
            [&](auto tag)
            {
                using T = decltype(tag);
                moeGatherKernel<T><<<warpBlocksFor(tokens, 256), 256, 0, stream>>>(reinterpret_cast<T const*>(ws.xs),
                    ws.tokenRow, static_cast<T const*>(p.score), static_cast<T*>(p.y), tokens, p.dim);
                return cudaGetLastError();
            });
    }

    //! The whole forward: route, scatter, GEMM1, GEMM2 (to y, or then the gather).
    cudaError_t run() const
    {
        cudaError_t err = route();
        if (err == cudaSuccess)
        {
            err = scatter();
        }
        if (err == cudaSuccess)
        {
            err = groupedGemm(gemm(1), stream);
        }
        if (err == cudaSuccess)
        {
            err = groupedGemm(gemm2WritesY ? gemm2ToOutput() : gemm(2), stream);
        }
        return err != cudaSuccess || gemm2WritesY ? err : gather();
    }
};

//! The forward's launches for this problem (fmoeForward runs them): the routing padded for the kernel the table
//! picks, GEMM2 storing y where it is a block kernel, dependent launches where both GEMMs are.
ForwardStages planForward(FMoEProblem const& p, Layout const& ws, int64_t tokens, cudaStream_t stream)
{
    int32_t const pad = groupedGemmRowPad(p.type, tokens / p.experts, p.dim, p.hidden);
    ForwardStages stages{p, ws, tokens, stream, pad, false};
    bool const block2 = gemmKernelIsBlock(groupedGemmChoice(stages.gemm(2)));
    stages.gemm2WritesY = pad > 1 && aligned16(p.y) && block2;
    stages.dependentLaunch = pad > 1 && block2 && gemmKernelIsBlock(groupedGemmChoice(stages.gemm(1)));
    return stages;
}
} // namespace

size_t fmoeWorkspaceSize(ElemType type, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts)
{
    return Layout(nullptr, type, tokens, dim, hidden, experts).total;
}

std::string fmoeCheckSizes(ElemType type, int64_t dim, int64_t hidden, int64_t experts)
{
    if (experts > kMaxExperts)
    {
        return "at most " + std::to_string(kMaxExperts) + " experts, got " + std::to_string(experts);
    }
    int32_t const align = groupedGemmAlignment(type);
    if ((dim >= 0 && dim % align != 0) || hidden % align != 0)
    {
        return "16-bit tensor-core GEMMs need D and hidden to be multiples of " + std::to_string(align)
            + ", got D = " + std::to_string(dim) + ", hidden = " + std::to_string(hidden);
    }
    return {};
}

cudaError_t fmoeForward(FMoEProblem const& p, void* workspace, size_t workspaceSize, cudaStream_t stream)
{
    int64_t const tokens = p.batch * p.time;
    if (tokens == 0 || p.dim == 0)
    {
        return cudaSuccess;
    }
    Layout const ws(static_cast<char*>(workspace), p.type, tokens, p.dim, p.hidden, p.experts);
    bool const needsAligned = groupedGemmAlignment(p.type) > 1;
    if (workspace == nullptr || workspaceSize < ws.total || !fmoeCheckSizes(p.type, p.dim, p.hidden, p.experts).empty()
        || (needsAligned && !(aligned16(p.w1) && aligned16(p.b1) && aligned16(p.w2) && aligned16(p.b2))))
    {
        return cudaErrorInvalidValue;
    }
    return planForward(p, ws, tokens, stream).run();
}
} // namespace trt_helper
