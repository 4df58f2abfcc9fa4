// WeightOnlyGemm kernels: one source for SM80/86/89/90 (mma.sync m16n8k16, fp32 accumulate).
//
// Decode sizes (M ≤ 16) are a read of the packed weights, so the kernel is built around keeping many independent
// 16-byte weight loads in flight. The weights take the 16-row A slot of the mma and the tokens the 8-column B slot
// (yᵀ = W xᵀ), so M = 1…8 wastes no weight bandwidth. A CTA owns kNS strips of 16 output features and kMT·8 tokens;
// its nw warps split K into chunks of kU 64-column tiles (warp w takes chunks w, w + nw, …) and are reduced through
// shared memory at the end: no workspace, one launch. Each lane reads 8 / kMT (≥ 2) 16-byte weight words per
// chunk, L1-bypassing, double-buffered in registers (the next chunk's loads are issued before the current one is
// computed). The offline layout (trt_helper/quant/woq_layout.py) puts a lane's mma A fragments in its 16 bytes and
// permutes K inside each tile so that the lane's activations are 16 contiguous columns: two 16-byte loads per
// token row and tile (from L1 / L2; x is small). int4 → fp16/bf16 by the magic-number trick (OR the nibble into the
// mantissa of 1024.0 / 128.0, one fma), int8 → fp16 by a byte permute into 1024.0, int8 → bf16 through fp32; the
// mma multiplies the exact q, and the scale is applied per tile to the fp32 partial sums (a tile lies in one group).
// The grid is sized so that every CTA runs in one wave where possible (occupancy queried once per device).
#include "weightOnlyGemmKernel.h"
#include "bulkCopySm90.cuh"
#include "dependentLaunch.h"
#include "deviceCache.h"
#include "woqBulkSm90.h"
#include "woqTile.cuh"
#include "woqWgmmaSm90.h"

#include <algorithm>
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <utility>

namespace trt_helper
{
namespace
{
using woq::kBlockK;
using woq::Params;
constexpr int kMaxWarps = 16;

//! 64-column tiles per chunk: 8 / kMT (at least 2) 16-byte weight loads per lane and chunk (registers: the
//! activations of a chunk take 8 · kMT more per tile); half as many in the short-chunk kernels.
template<int kBits, int kMT, int kNS, bool kShort>
constexpr int kTilesPerChunk = std::max(1,
    (kMT == 1          ? 8
            : kMT == 2 ? 4
                       : 2)
        / (kNS * kBits / 4) / (kShort ? 2 : 1));

//! Registers per thread of the short-chunk kernels: 96 lets 20 warps share an SM (128: 16).
#if defined(__CUDACC_VER_MAJOR__)                                                                                      \
    && (__CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 4))
#define TRTH_WOQ_SHORT_BOUNDS __maxnreg__(96)
#else
#define TRTH_WOQ_SHORT_BOUNDS __launch_bounds__(kMaxWarps * 32)
#endif

//! A streamed weight word: read once, so it bypasses L1 (which keeps the activations).
__device__ __forceinline__ uint4 ldStream(uint4 const* p)
{
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
}

//! kBits 4/8; kMT n8 token tiles; kNS 16-row strips per CTA; kShort: half-size chunks. blockDim.x = 32 · nw,
//! nw ≤ kMaxWarps.
template<typename T, int kBits, int kMT, int kNS, bool kShort>
__device__ __forceinline__ void woqGemm(Params const& p)
{
    constexpr int kCH = kBits / 4; // 16-byte loads per lane, strip and tile
    constexpr int kU = kTilesPerChunk<kBits, kMT, kNS, kShort>;
    int const lane = threadIdx.x & 31;
    int const warp = threadIdx.x >> 5;
    int const nw = blockDim.x >> 5;
    int const gid = lane >> 2;
    int const strip0 = blockIdx.y * kNS;
    int64_t const m0 = static_cast<int64_t>(blockIdx.x) * (8 * kMT);
    int const chunks = (p.tiles + kU - 1) / kU;
    // A programmatic dependent launch where the GPU has one (launch; woq::kL2PrefetchBytes): on sm_90 the first bytes
    // of the CTA's strips head for L2 before the wait for the grid before it (the other token tiles read the same)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (threadIdx.x == 0 && blockIdx.x == 0)
    {
        int64_t const bytes = static_cast<int64_t>(min(kNS, p.strips - strip0)) * p.tiles * kCH * 512;
        bulk::prefetchL2(p.w + static_cast<int64_t>(strip0) * p.tiles * kCH * 32,
            static_cast<uint32_t>(std::min(bytes, int64_t{woq::kL2PrefetchBytes})));
    }
#endif
    waitForPrerequisiteGrid();

    // Strips past the end read the last strip (their outputs are never stored); scales likewise per feature.
    uint4 const* wp[kNS];
    int feat[kNS][2];
#pragma unroll
    for (int ns = 0; ns < kNS; ++ns)
    {
        int const strip = min(strip0 + ns, p.strips - 1);
        wp[ns] = p.w + static_cast<int64_t>(strip) * p.tiles * kCH * 32 + lane;
        feat[ns][0] = min(strip * 16 + gid, p.n - 1);
        feat[ns][1] = min(strip * 16 + gid + 8, p.n - 1);
    }
    woq::LaneActivations<T, kMT> const x(p, m0);
    float acc[kNS][kMT][4] = {};
    uint4 wa[kNS][kU][kCH];
    uint4 wb[kNS][kU][kCH];

    // The weights of chunk c (tiles past the end reload the last tile; their activations are zero).
    auto load = [&](uint4(&dst)[kNS][kU][kCH], int c)
    {
#pragma unroll
        for (int u = 0; u < kU; ++u)
        {
            int const t = min(c * kU + u, p.tiles - 1);
#pragma unroll
            for (int ns = 0; ns < kNS; ++ns)
            {
#pragma unroll
                for (int ch = 0; ch < kCH; ++ch)
                {
                    dst[ns][u][ch] = ldStream(wp[ns] + (t * kCH + ch) * 32);
                }
            }
        }
    };
    auto compute = [&](uint4 const(&w)[kNS][kU][kCH], int c)
    {
#pragma unroll
        for (int u = 0; u < kU; ++u)
        {
            int const t = c * kU + u;
            uint4 xv[kMT][2];
            x.load(t, xv);
            int const ts = min(t, p.tiles - 1);
#pragma unroll
            for (int ns = 0; ns < kNS; ++ns)
            {
                woq::tileProduct<T, kBits, kMT>(
                    w[ns][u], xv, woq::scaleAt<T>(p, ts, feat[ns][0]), woq::scaleAt<T>(p, ts, feat[ns][1]), acc[ns]);
            }
        }
    };

    // Chunks warp, warp + nw, …; the next chunk's weights are in flight while this one is computed.
    int c = warp;
    if (c < chunks)
    {
        load(wa, c);
    }
    while (c < chunks)
    {
        if (c + nw < chunks)
        {
            load(wb, c + nw);
        }
        compute(wa, c);
        c += nw;
        if (c >= chunks)
        {
            break;
        }
        if (c + nw < chunks)
        {
            load(wa, c + nw);
        }
        compute(wb, c);
        c += nw;
    }

    // Reduce the warps' K slices: every warp stores its fragments, then the CTA sums and writes y.
    constexpr int kFrag = kNS * kMT * 4;
    extern __shared__ float red[]; // [nw][kFrag][32]
#pragma unroll
    for (int ns = 0; ns < kNS; ++ns)
    {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
#pragma unroll
            for (int r = 0; r < 4; ++r)
            {
                red[(warp * kFrag + (ns * kMT + mt) * 4 + r) * 32 + lane] = acc[ns][mt][r];
            }
        }
    }
    __syncthreads();
    T const* bias = static_cast<T const*>(p.bias);
    T* y = static_cast<T*>(p.y);
    for (int i = threadIdx.x; i < kFrag * 32; i += blockDim.x)
    {
        int const l = i & 31;
        int const frag = i >> 5;
        int const r = frag & 3;
        int const mt = (frag >> 2) % kMT;
        int const ns = (frag >> 2) / kMT;
        int const f = (strip0 + ns) * 16 + (l >> 2) + 8 * (r >> 1);
        int64_t const row = m0 + mt * 8 + 2 * (l & 3) + (r & 1);
        if (f >= p.n || row >= p.m)
        {
            continue;
        }
        float sum = 0.F;
        for (int w = 0; w < nw; ++w)
        {
            sum += red[(w * kFrag + frag) * 32 + l];
        }
        if (bias != nullptr)
        {
            sum += toFloat<T>(bias[f]);
        }
        y[row * p.n + f] = fromFloat<T>(sum);
    }
}

template<typename T, int kBits, int kMT, int kNS>
__global__ void __launch_bounds__(kMaxWarps * 32) woqGemmKernel(Params const p)
{
    woqGemm<T, kBits, kMT, kNS, false>(p);
}

//! Short chunks and fewer registers: more warps per SM, for matrices of few strips (their parallelism is along K).
template<typename T, int kBits, int kMT, int kNS>
__global__ void TRTH_WOQ_SHORT_BOUNDS woqGemmKernelShort(Params const p)
{
    woqGemm<T, kBits, kMT, kNS, true>(p);
}

template<typename T, int kBits, int kMT, int kNS, bool kShort>
constexpr auto kernelFor()
{
    if constexpr (kShort)
    {
        return woqGemmKernelShort<T, kBits, kMT, kNS>;
    }
    else
    {
        return woqGemmKernel<T, kBits, kMT, kNS>;
    }
}

template<int kMT, int kNS>
constexpr size_t kSmemPerWarp = kNS * kMT * 4 * 32 * sizeof(float);

//! Per device and warp count (1 … kMaxWarps), cached: CTAs of this kernel resident on one SM (0 on error).
template<typename T, int kBits, int kMT, int kNS, bool kShort>
int ctasPerSm(int device, int warps)
{
    static PerDeviceCache cache[kMaxWarps];
    return cache[warps - 1].get(device,
        [&](int)
        {
            int n = 0;
            return cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                       &n, kernelFor<T, kBits, kMT, kNS, kShort>(), warps * 32, warps * kSmemPerWarp<kMT, kNS>)
                    == cudaSuccess
                ? n
                : 0;
        });
}

struct Choice
{
    int64_t warps = 0; //!< warps of the grid when it runs in one wave, else 0
    int64_t ctas = 0;
    int warpsPerCta = 0;
};

//! Warps per CTA for CTAs of kNS strips: as many as let all CTAs run in one wave (any count up to kMaxWarps and the
//! chunks per strip: the kernel waits on latency, so every resident warp counts), then as few as take the same
//! number of chunks per warp (the slowest warp sets the CTA's time; fewer warps have less to reduce).
template<typename T, int kBits, int kMT, int kNS, bool kShort>
Choice choose(Params const& p, int device, int sms)
{
    constexpr int kU = kTilesPerChunk<kBits, kMT, kNS, kShort>;
    int const chunks = (p.tiles + kU - 1) / kU;
    Choice c;
    c.ctas = (p.m + 8 * kMT - 1) / (8 * kMT) * ((p.strips + kNS - 1) / kNS);
    for (int nw = std::min(kMaxWarps, std::max(chunks, 1)); nw >= 1; --nw)
    {
        if (c.ctas <= static_cast<int64_t>(ctasPerSm<T, kBits, kMT, kNS, kShort>(device, nw)) * sms)
        {
            int const rounds = std::max(1, (chunks + nw - 1) / nw);
            c.warpsPerCta = std::max(1, (chunks + rounds - 1) / rounds);
            c.warps = c.ctas * c.warpsPerCta;
            return c;
        }
    }
    c.warpsPerCta = 1; // more than one wave: up to 4 warps per CTA
    while (c.warpsPerCta < 4 && 2 * c.warpsPerCta <= chunks)
    {
        c.warpsPerCta *= 2;
    }
    return c;
}

//! A programmatic dependent launch on compute capability 9.0 and later (woq::kL2PrefetchBytes).
template<typename T, int kBits, int kMT, int kNS, bool kShort>
cudaError_t launch(Params const& p, int device, int nw, cudaStream_t stream)
{
    dim3 const grid(
        static_cast<unsigned>((p.m + 8 * kMT - 1) / (8 * kMT)), static_cast<unsigned>((p.strips + kNS - 1) / kNS));
    cudaLaunchAttribute dependent{};
    cudaLaunchConfig_t const config = dependentLaunchConfig(
        grid, dim3(nw * 32), nw * kSmemPerWarp<kMT, kNS>, stream, dependent, computeCapability(device) >= 90);
    return cudaLaunchKernelEx(&config, kernelFor<T, kBits, kMT, kNS, kShort>(), p);
}

//! One or two strips per CTA: the one that runs more warps in one wave (then more CTAs on more SMs, then two
//! strips, which share their activation loads); 32-token tiles take one strip (registers).
template<typename T, int kBits, int kMT, bool kShort>
cudaError_t launchStrips(Params const& p, int device, int sms, cudaStream_t stream)
{
    Choice const one = choose<T, kBits, kMT, 1, kShort>(p, device, sms);
    if constexpr (kMT < 4)
    {
        Choice const two = choose<T, kBits, kMT, 2, kShort>(p, device, sms);
        auto key = [sms](Choice const& c) { return std::make_pair(c.warps, std::min<int64_t>(c.ctas, sms)); };
        if (key(two) >= key(one))
        {
            return launch<T, kBits, kMT, 2, kShort>(p, device, two.warpsPerCta, stream);
        }
    }
    return launch<T, kBits, kMT, 1, kShort>(p, device, one.warpsPerCta, stream);
}

//! Matrices of few strips take the short-chunk kernels: at most 2.5 per SM up to 8 tokens, 2 per SM up to 16 (on an
//! H200 they are faster there and slower on larger N; benchmarks/results/woq_experiments_h200.json).
template<typename T, int kBits, int kMT>
cudaError_t launchForM(Params const& p, cudaStream_t stream)
{
    int device = 0;
    if (cudaError_t const e = cudaGetDevice(&device); e != cudaSuccess)
    {
        return e;
    }
    int const sms = smCount(device);
    if (sms == 0)
    {
        return cudaErrorInvalidDevice;
    }
    if constexpr (kMT <= 2)
    {
        if (2 * static_cast<int64_t>(p.strips) <= (kMT == 1 ? 5 : 4) * static_cast<int64_t>(sms))
        {
            return launchStrips<T, kBits, kMT, true>(p, device, sms, stream);
        }
    }
    return launchStrips<T, kBits, kMT, false>(p, device, sms, stream);
}

template<typename T, int kBits>
cudaError_t launchForBits(Params const& p, cudaStream_t stream)
{
    if (p.m <= 8)
    {
        return launchForM<T, kBits, 1>(p, stream);
    }
    if (p.m <= 16)
    {
        return launchForM<T, kBits, 2>(p, stream);
    }
    return launchForM<T, kBits, 4>(p, stream);
}

template<typename T>
cudaError_t launchForType(int32_t bits, Params const& p, cudaStream_t stream)
{
    return bits == 4 ? launchForBits<T, 4>(p, stream) : launchForBits<T, 8>(p, stream);
}
} // namespace

cudaError_t launchWeightOnlyGemm(ElemType type, int32_t bits, int32_t groupSize, void const* x, void const* weights,
    void const* scales, void const* bias, void* y, int64_t m, int32_t n, int32_t k, cudaStream_t stream)
{
    if ((bits != 4 && bits != 8) || k % 16 != 0 || (groupSize != 0 && groupSize != 64 && groupSize != 128)
        || (groupSize != 0 && k % groupSize != 0))
    {
        return cudaErrorInvalidValue;
    }
    if (m == 0 || n == 0)
    {
        return cudaSuccess;
    }
    int32_t const groupShift = groupSize == 0 ? woq::kPerChannelShift : groupSize == 64 ? 0 : 1;
    Params const p{x, static_cast<uint4 const*>(weights), scales, bias, y, m, n, k, (n + 15) / 16,
        (k + kBlockK - 1) / kBlockK, groupShift};
#ifdef TRTH_HAVE_WOQ_WGMMA
    if (cudaError_t const e = launchWoqWgmmaSm90(type, bits, p, stream); e != cudaErrorNotSupported)
    {
        return e; // launched (or failed) on Hopper
    }
#endif
    if (cudaError_t const e = launchWoqBulkSm90(type, bits, p, stream); e != cudaErrorNotSupported)
    {
        return e;
    }
    return woq::forHalfType(
        type, cudaErrorInvalidValue, [&](auto t) { return launchForType<decltype(t)>(bits, p, stream); });
}
} // namespace trt_helper
