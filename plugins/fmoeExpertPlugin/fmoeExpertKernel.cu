#include "fmoeExpertKernel.h"
#include "kernelCommon.cuh"

#include <algorithm>
#include <vector>

namespace trt_helper
{
namespace
{
constexpr size_t kAlign = 256;
constexpr size_t kCublasWorkspace = size_t{32} << 20; // cuBLAS's recommended size on Hopper
constexpr int32_t kPadded = -1;
constexpr int32_t kInvalid = -2;

constexpr int32_t kPadRows = 16;

//! Rows of the sorted buffers: every routed token, plus room for the padded layout of a balanced routing.
//! With E experts of at most `cap` rows each, the padded layout (expert e at rows [e*cap, (e+1)*cap)) runs both
//! expert GEMMs as one strided-batched GEMM; it is used when E*cap fits, else the grouped GEMM of exact sizes.
int64_t paddedCapacityRows(int64_t tokens, int32_t experts)
{
    return tokens + tokens / 2 + static_cast<int64_t>(experts) * kPadRows;
}

size_t alignUp(size_t v)
{
    return (v + kAlign - 1) / kAlign * kAlign;
}

//! Carves the workspace into its buffers (the same arithmetic sizes and uses it).
struct Layout
{
    int32_t* counts;    //!< E + 1 ints: tokens per expert, then the invalid count
    int32_t* offsets;   //!< E + 3 ints: exclusive scan of counts, routed rows, invalid ids, padded cap (0: exact)
    int32_t* tokenRow;  //!< per token: its row in the sorted buffers, or kPadded / kInvalid
    int32_t* rowExpert; //!< per sorted row: its expert
    void const** ptrs;  //!< 6 * E pointers for the grouped GEMMs (A1, B1, C1, A2, B2, C2)
    char* xs;           //!< sorted x rows, later the sorted GEMM2 output (paddedCapacityRows rows)
    char* hs;           //!< sorted hidden rows (paddedCapacityRows rows)
    char* cublas;       //!< cuBLAS workspace
    size_t total;

    Layout(char* base, int32_t elem, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts)
    {
        int64_t const rows = paddedCapacityRows(tokens, experts);
        size_t off = 0;
        auto take = [&](size_t bytes) {
            char* p = base ? base + off : nullptr;
            off += alignUp(bytes);
            return p;
        };
        counts = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * (experts + 1)));
        offsets = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * (experts + 3)));
        tokenRow = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * tokens));
        rowExpert = reinterpret_cast<int32_t*>(take(sizeof(int32_t) * tokens));
        ptrs = reinterpret_cast<void const**>(take(sizeof(void*) * 6 * experts));
        xs = take(static_cast<size_t>(elem) * rows * dim);
        hs = take(static_cast<size_t>(elem) * rows * hidden);
        cublas = take(kCublasWorkspace);
        total = off;
    }
};

// One block does the whole routing, so that no memset and no second launch sit before the host wait:
// per token its validity (length mask, id range) and its slot within its expert (shared-memory atomics); then
// warp 0 scans the counts, writes the grouped-GEMM pointer arrays of the nonempty experts in order, and decides the
// layout (padded when E * cap fits in capacityRows). offsets[0..E) = expert starts, offsets[E] = routed rows,
// offsets[E + 1] = invalid ids, offsets[E + 2] = cap (0: exact layout); the same E + 3 values go to `hostOffsets`
// (mapped pinned memory the host reads after one event wait), the counts to `counts`.
constexpr int kRouteThreads = 1024;

__global__ void __launch_bounds__(kRouteThreads) moeRouteKernel(int32_t const* __restrict__ idx,
    int32_t const* __restrict__ lengths, int32_t* __restrict__ tokenRow, int32_t* __restrict__ counts,
    int32_t* __restrict__ offsets, int32_t* __restrict__ hostOffsets, void const** __restrict__ ptrs, int64_t tokens,
    int64_t time, int32_t experts, int32_t dim, int32_t hidden, int32_t elem, char const* w1, char const* w2,
    char* xs, char* hs, int64_t capacityRows)
{
    extern __shared__ int32_t sCounts[]; // experts + 1 (the last counts invalid ids)
    for (int32_t e = threadIdx.x; e <= experts; e += blockDim.x)
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
            atomicAdd(sCounts + experts, 1);
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
    int32_t groups = 0;
    int32_t maxCount = 0;
    size_t const hd = static_cast<size_t>(hidden) * dim * elem;
    for (int32_t base = 0; base < experts; base += 32)
    {
        int32_t const e = base + lane;
        int32_t const c = e < experts ? sCounts[e] : 0;
        int32_t incl = c;
        int32_t nonempty = c > 0 ? 1 : 0;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1)
        {
            int32_t const up = __shfl_up_sync(0xffffffffu, incl, d);
            int32_t const upNe = __shfl_up_sync(0xffffffffu, nonempty, d);
            if (lane >= d)
            {
                incl += up;
                nonempty += upNe;
            }
        }
        int32_t const start = run + incl - c;
        int32_t const group = groups + nonempty - (c > 0 ? 1 : 0);
        if (e < experts)
        {
            counts[e] = c;
            offsets[e] = start;
            hostOffsets[e] = start;
        }
        if (c > 0)
        {
            ptrs[0 * experts + group] = w1 + e * hd;
            ptrs[1 * experts + group] = xs + static_cast<size_t>(start) * dim * elem;
            ptrs[2 * experts + group] = hs + static_cast<size_t>(start) * hidden * elem;
            ptrs[3 * experts + group] = w2 + e * hd;
            ptrs[4 * experts + group] = hs + static_cast<size_t>(start) * hidden * elem;
            ptrs[5 * experts + group] = xs + static_cast<size_t>(start) * dim * elem;
        }
        maxCount = max(maxCount, __reduce_max_sync(0xffffffffu, c));
        run += __shfl_sync(0xffffffffu, incl, 31);
        groups += __shfl_sync(0xffffffffu, nonempty, 31);
    }
    if (lane == 0)
    {
        int32_t const cap = (maxCount + kPadRows - 1) / kPadRows * kPadRows;
        int32_t const tail[3] = {run, sCounts[experts], static_cast<int64_t>(cap) * experts <= capacityRows ? cap : 0};
        for (int i = 0; i < 3; ++i)
        {
            offsets[experts + i] = tail[i];
            hostOffsets[experts + i] = tail[i];
        }
    }
    __syncwarp();
    __threadfence_system(); // the host reads hostOffsets after an event wait on this stream
}

// One warp per routed token: copies its row of x to its sorted position: offsets[e] + slot (exact layout,
// cap = offsets[E + 2] == 0) or e * cap + slot (padded layout).
template <typename T>
__global__ void moeScatterKernel(T const* __restrict__ x, int32_t const* __restrict__ idx,
    int32_t const* __restrict__ offsets, int32_t* __restrict__ tokenRow, int32_t* __restrict__ rowExpert,
    T* __restrict__ xs, int64_t tokens, int32_t dim, int32_t experts)
{
    int32_t const cap = offsets[experts + 2];
    int64_t const n = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
    int const lane = threadIdx.x & 31;
    if (n >= tokens)
    {
        return;
    }
    int32_t const slot = tokenRow[n];
    if (slot < 0)
    {
        return;
    }
    int32_t const e = __ldg(idx + n);
    int32_t const row = cap > 0 ? e * cap + slot : offsets[e] + slot;
    __syncwarp();
    if (lane == 0)
    {
        tokenRow[n] = row;
        rowExpert[row] = e;
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

// fp32 data keeps the accurate expf; 16-bit data, rounded to 8-11 mantissa bits anyway, uses the fast intrinsics.
template <typename T>
__device__ __forceinline__ float activate(float v, MoeActivation act)
{
    constexpr bool kFast = sizeof(T) == 2;
    switch (act)
    {
    case MoeActivation::kSWISH: return kFast ? __fdividef(v, 1.F + __expf(-v)) : v / (1.F + expf(-v));
    case MoeActivation::kRELU: return fmaxf(v, 0.F);
    case MoeActivation::kGELU: return 0.5F * v * (1.F + erff(v * 0.70710678118654752F));
    }
    return v;
}

// hs[r, :] = act(hs[r, :] + b1[e(r), :]) over `rows` rows, e(r) = r / cap (padded layout) or rowExpert[r]; a block
// per row at a time, kV elements (one 16-byte access when kV > 1) per thread step. Padding rows (slot >= count of
// their expert) are skipped: the GEMMs compute them from stale data and nothing reads them.
template <typename T, int kV>
__global__ void moeBiasActKernel(T* __restrict__ hs, T const* __restrict__ b1, int32_t const* __restrict__ rowExpert,
    int32_t const* __restrict__ counts, int64_t rows, int32_t cap, int32_t hidden, MoeActivation act)
{
    int32_t const perRow = hidden / kV;
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x)
    {
        int64_t const e = cap > 0 ? r / cap : rowExpert[r];
        if (cap > 0 && r - e * cap >= counts[e])
        {
            continue;
        }
        T* row = hs + r * hidden;
        T const* bias = b1 + e * hidden;
        for (int32_t c = threadIdx.x; c < perRow; c += blockDim.x)
        {
            if constexpr (kV > 1)
            {
                float v[kV];
                float b[kV];
                loadVec(row + c * kV, v);
                loadVec(bias + c * kV, b);
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    v[j] = activate<T>(v[j] + b[j], act);
                }
                storeVec(row + c * kV, v);
            }
            else
            {
                row[c] = fromFloat<T>(activate<T>(toFloat(row[c]) + toFloat(__ldg(bias + c)), act));
            }
        }
    }
}

// One warp per token: y[n] = (ys[row] + b2[e]) * score[n]; padded tokens 0, invalid ids NaN.
template <typename T>
__global__ void moeGatherKernel(T const* __restrict__ ys, T const* __restrict__ b2, int32_t const* __restrict__ idx,
    int32_t const* __restrict__ tokenRow, T const* __restrict__ score, T* __restrict__ y, int64_t tokens, int32_t dim)
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
        T const fill = fromFloat<T>(row == kPadded ? 0.F : __int_as_float(0x7fc00000));
        for (int32_t i = lane; i < dim; i += 32)
        {
            dst[i] = fill;
        }
        return;
    }
    int32_t const e = __ldg(idx + n);
    float const s = score ? toFloat(__ldg(score + n)) : 1.F;
    T const* src = ys + static_cast<int64_t>(row) * dim;
    T const* bias = b2 + static_cast<int64_t>(e) * dim;
    if (dim % kVec<T> == 0)
    {
        for (int32_t i = lane * kVec<T>; i < dim; i += 32 * kVec<T>)
        {
            float v[kVec<T>];
            float b[kVec<T>];
            loadVec(src + i, v);
            loadVec(bias + i, b);
#pragma unroll
            for (int j = 0; j < kVec<T>; ++j)
            {
                v[j] = (v[j] + b[j]) * s;
            }
            storeVec(dst + i, v);
        }
    }
    else
    {
        for (int32_t i = lane; i < dim; i += 32)
        {
            dst[i] = fromFloat<T>((toFloat(src[i]) + toFloat(__ldg(bias + i))) * s);
        }
    }
}

cudaDataType_t cudaType(ElemType t)
{
    switch (t)
    {
    case ElemType::kFLOAT32: return CUDA_R_32F;
    case ElemType::kFLOAT16: return CUDA_R_16F;
    case ElemType::kBFLOAT16: return CUDA_R_16BF;
    }
    return CUDA_R_32F;
}

//! C_g (rows x n_g, column-major ld rows) = A_g^T B_g for the nonempty experts: in row-major terms
//! out[m_g, rows] = in[m_g, k] . W[e]^T with W[e] (rows, k).
cublasStatus_t groupedGemm(cublasHandle_t handle, ElemType type, std::vector<int32_t> const& groupRows, int32_t rows,
    int32_t k, void const* const* a, void const* const* b, void* const* c, void const* const* hostA,
    void const* const* hostB, void* const* hostC)
{
    int const groups = static_cast<int>(groupRows.size());
    if (groups == 0)
    {
        return CUBLAS_STATUS_SUCCESS;
    }
    cudaDataType_t const dt = cudaType(type);
    std::vector<cublasOperation_t> ta(groups, CUBLAS_OP_T);
    std::vector<cublasOperation_t> tb(groups, CUBLAS_OP_N);
    std::vector<int> m(groups, rows);
    std::vector<int> kk(groups, k);
    std::vector<int> ld(groups, k);
    std::vector<int> ldc(groups, rows);
    std::vector<int> one(groups, 1);
    std::vector<float> alpha(groups, 1.F);
    std::vector<float> beta(groups, 0.F);
    cublasStatus_t status = cublasGemmGroupedBatchedEx(handle, ta.data(), tb.data(), m.data(), groupRows.data(),
        kk.data(), alpha.data(), a, dt, ld.data(), b, dt, ld.data(), beta.data(), c, dt, ldc.data(), groups, one.data(),
        CUBLAS_COMPUTE_32F);
    if (status != CUBLAS_STATUS_NOT_SUPPORTED)
    {
        return status;
    }
    // older cuBLAS or an unsupported type combination: one GEMM per expert
    for (int g = 0; g < groups && status == CUBLAS_STATUS_SUCCESS; ++g)
    {
        status = cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, groupRows[g], k, &alpha[0], hostA[g], dt, k,
            hostB[g], dt, k, &beta[0], hostC[g], dt, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    return status;
}

//! Blocks for one warp per token (no grid-stride loop; tokens are capped at INT32_MAX by the caller).
unsigned warpBlocksFor(int64_t tokens, int perBlock)
{
    return static_cast<unsigned>((tokens * 32 + perBlock - 1) / perBlock);
}
} // namespace

size_t fmoeWorkspaceSize(ElemType type, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts)
{
    return Layout(nullptr, elemSize(type), tokens, dim, hidden, experts).total;
}

cudaError_t fmoeForward(FMoEProblem const& p, FMoEHostResources const& res, void* workspace, size_t workspaceSize,
    cudaStream_t stream, int64_t* invalidTokens, cublasStatus_t* cublasStatus)
{
    *invalidTokens = 0;
    *cublasStatus = CUBLAS_STATUS_SUCCESS;
    int64_t const tokens = p.batch * p.time;
    if (tokens == 0 || p.dim == 0)
    {
        return cudaSuccess;
    }
    int32_t const elem = elemSize(p.type);
    Layout const ws(static_cast<char*>(workspace), elem, tokens, p.dim, p.hidden, p.experts);
    if (workspace == nullptr || workspaceSize < ws.total)
    {
        return cudaErrorInvalidValue;
    }
    int32_t const E = p.experts;

    size_t const sharedBytes = sizeof(int32_t) * (E + 1);
    if (sharedBytes > 48 * 1024)
    {
        return cudaErrorInvalidValue; // more than 12287 experts
    }
    moeRouteKernel<<<1, kRouteThreads, sharedBytes, stream>>>(p.expertIdx, p.lengths, ws.tokenRow, ws.counts,
        ws.offsets, res.hostOffsetsDevice, ws.ptrs, tokens, p.time, E, p.dim, p.hidden, elem,
        static_cast<char const*>(p.w1), static_cast<char const*>(p.w2), ws.xs, ws.hs, paddedCapacityRows(tokens, E));
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess || (err = cudaEventRecord(res.countsReady, stream)) != cudaSuccess)
    {
        return err;
    }
    // the scatter runs on the device while the host waits for the counts (it reads the layout on the device)
    err = dispatchElemType(p.type, [&](auto tag) {
        using T = decltype(tag);
        moeScatterKernel<T><<<warpBlocksFor(tokens, 256), 256, 0, stream>>>(static_cast<T const*>(p.x), p.expertIdx,
            ws.offsets, ws.tokenRow, ws.rowExpert, reinterpret_cast<T*>(ws.xs), tokens, p.dim, E);
        return cudaGetLastError();
    });
    if (err != cudaSuccess || (err = cudaEventSynchronize(res.countsReady)) != cudaSuccess)
    {
        return err;
    }
    *invalidTokens = res.hostOffsets[E + 1];
    int64_t const routed = res.hostOffsets[E];
    int32_t const cap = res.hostOffsets[E + 2];
    bool const padded = cap > 0;
    int64_t const computedRows = padded ? static_cast<int64_t>(cap) * E : routed;

    cublasStatus_t st = cublasSetStream(res.cublas, stream);
    if (st == CUBLAS_STATUS_SUCCESS)
    {
        st = cublasSetWorkspace(res.cublas, ws.cublas, kCublasWorkspace);
    }
    cudaDataType_t const dt = cudaType(p.type);
    float const one = 1.F;
    float const zero = 0.F;
    int64_t const hd = static_cast<int64_t>(p.hidden) * p.dim;
    // the nonempty experts in order, as the offsets kernel laid out the device pointer arrays
    std::vector<int32_t> groupRows;
    std::vector<void const*> hA1, hB1, hA2, hB2;
    std::vector<void*> hC1, hC2;
    if (!padded)
    {
        for (int32_t e = 0; e < E; ++e)
        {
            int32_t const start = res.hostOffsets[e];
            int32_t const count = res.hostOffsets[e + 1] - start;
            if (count > 0)
            {
                groupRows.push_back(count);
                hA1.push_back(static_cast<char const*>(p.w1) + e * hd * elem);
                hB1.push_back(ws.xs + static_cast<size_t>(start) * p.dim * elem);
                hC1.push_back(ws.hs + static_cast<size_t>(start) * p.hidden * elem);
                hA2.push_back(static_cast<char const*>(p.w2) + e * hd * elem);
                hB2.push_back(ws.hs + static_cast<size_t>(start) * p.hidden * elem);
                hC2.push_back(ws.xs + static_cast<size_t>(start) * p.dim * elem);
            }
        }
    }
    void const* const* dp = ws.ptrs;
    // GEMM1: hs[rows, H] = xs[rows, D] . W1[e]^T (column-major: C (H x rows) = W1[e]^T(H x D) . xs^T(D x rows))
    if (st == CUBLAS_STATUS_SUCCESS && routed > 0)
    {
        st = padded ? cublasGemmStridedBatchedEx(res.cublas, CUBLAS_OP_T, CUBLAS_OP_N, p.hidden, cap, p.dim, &one,
                 p.w1, dt, p.dim, hd, ws.xs, dt, p.dim, static_cast<int64_t>(cap) * p.dim, &zero, ws.hs, dt, p.hidden,
                 static_cast<int64_t>(cap) * p.hidden, E, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
                    : groupedGemm(res.cublas, p.type, groupRows, p.hidden, p.dim, dp + 0 * E, dp + 1 * E,
                        const_cast<void* const*>(dp + 2 * E), hA1.data(), hB1.data(), hC1.data());
    }
    if (st == CUBLAS_STATUS_SUCCESS && routed > 0)
    {
        err = dispatchElemType(p.type, [&](auto tag) {
            using T = decltype(tag);
            constexpr int kV = kVec<T>;
            bool const vectorised = p.hidden % kV == 0 && aligned16(p.b1);
            unsigned const blocks = static_cast<unsigned>(std::min<int64_t>(computedRows, 65535 * 8));
            if (vectorised)
            {
                moeBiasActKernel<T, kV><<<blocks, 256, 0, stream>>>(reinterpret_cast<T*>(ws.hs),
                    static_cast<T const*>(p.b1), ws.rowExpert, ws.counts, computedRows, cap, p.hidden, p.act);
            }
            else
            {
                moeBiasActKernel<T, 1><<<blocks, 256, 0, stream>>>(reinterpret_cast<T*>(ws.hs),
                    static_cast<T const*>(p.b1), ws.rowExpert, ws.counts, computedRows, cap, p.hidden, p.act);
            }
            return cudaGetLastError();
        });
        if (err != cudaSuccess)
        {
            return err;
        }
        // GEMM2: ys[rows, D] = hs[rows, H] . W2[e]^T, written over xs
        st = padded ? cublasGemmStridedBatchedEx(res.cublas, CUBLAS_OP_T, CUBLAS_OP_N, p.dim, cap, p.hidden, &one,
                 p.w2, dt, p.hidden, hd, ws.hs, dt, p.hidden, static_cast<int64_t>(cap) * p.hidden, &zero, ws.xs, dt,
                 p.dim, static_cast<int64_t>(cap) * p.dim, E, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
                    : groupedGemm(res.cublas, p.type, groupRows, p.dim, p.hidden, dp + 3 * E, dp + 4 * E,
                        const_cast<void* const*>(dp + 5 * E), hA2.data(), hB2.data(), hC2.data());
    }
    if (st != CUBLAS_STATUS_SUCCESS)
    {
        *cublasStatus = st;
        return cudaErrorUnknown;
    }
    return dispatchElemType(p.type, [&](auto tag) {
        using T = decltype(tag);
        moeGatherKernel<T><<<warpBlocksFor(tokens, 256), 256, 0, stream>>>(reinterpret_cast<T const*>(ws.xs),
            static_cast<T const*>(p.b2), p.expertIdx, ws.tokenRow, static_cast<T const*>(p.score),
            static_cast<T*>(p.y), tokens, p.dim);
        return cudaGetLastError();
    });
}
} // namespace trt_helper
