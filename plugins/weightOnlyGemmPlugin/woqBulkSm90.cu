// WeightOnlyGemm for decode sizes (M ≤ 8) on Hopper: the packed weights stream through shared memory.
//
// The register-streaming kernel (weightOnlyGemmKernel.cu) keeps its weight loads in flight in registers, so its bytes
// in flight and its occupancy compete for the same registers. Here one producer warp per CTA moves each strip's packed
// tiles (contiguous in the layout of trt_helper/quant/woq_layout.py) into a ring of shared-memory stages with bulk
// copies (cp.async.bulk, sm_90), each stage completing on its own mbarrier together with its scale rows (32 bytes per
// group), and 8 consumer warps dequantize and multiply (woq::tileMma, the register kernel's mma path); for int4 g128
// matrices of at most one strip per SM, 16 consumer warps in one CTA per SM, each with half as many tiles. Consumer
// warp w takes kU consecutive tiles of every stage, so that the tiles of one scale group are summed in one
// fp32 partial before the scale is applied, and arrives on the stage's "empty" barrier when done; at the end of a strip
// the warps' sums meet in shared memory and are written with the bias. CTAs are persistent (as many as fit on the GPU
// at once, strips dealt round robin), so the producer prefetches across strips. No workspace, one launch, no host
// synchronisation. On an H200 a plain read through this ring runs at the rate of a grid-stride read kernel; what the
// consumers add is instruction issue (benchmarks/plugins/woq_variants.cu).
#include "woqBulkSm90.h"

#include "bulkCopySm90.cuh"
#include "deviceCache.h"

#include <algorithm>

namespace trt_helper
{
namespace
{
using woq::Params;

constexpr int kStageBytes = 16384;       //!< packed weight bytes per stage
constexpr int kSharedPerSm = 227 * 1024; //!< shared memory per SM of an H100 / H200 (less 1 KB)
using woq::kPerChannelShift;

template<int kBits>
constexpr int kTileBytes = 512 * kBits / 4; //!< one packed 16 × 64 tile
template<int kBits>
constexpr int kStageTiles = kStageBytes / kTileBytes<kBits>; //!< 32 (int4) or 16 (int8)
constexpr int kMT = 1; //!< one n8 mma tile of tokens: M ≤ 8 (for M ≤ 16 the register kernel was faster)
//! Consumer warps per CTA: 8, with 3 CTAs per SM (the register bound of the kernel, launch bounds), or, for int4 g128
//! matrices of at most one strip per SM, 16 with one CTA per SM, so that each warp takes half as many tiles of a stage
//! (H200: 5120→1280 at M = 1 / 4 / 8 4–6 % faster; benchmarks/results/woq_bulk_wide_h200.log).
constexpr int kWideConsumers = 16;
template<int kConsumers>
constexpr int kCtasPerSm = kConsumers == kWideConsumers ? 1 : 3;
//! Bytes of x that a CTA of the int4 kernel holds in shared memory (one bulk copy at its start) where M · K · 2 fits:
//! the consumers then read x there instead of from L2 at every stage. int8 has no room left beside its four stages.
#ifndef TRTH_WOQ_SHARED_X_BYTES
#define TRTH_WOQ_SHARED_X_BYTES 12288
#endif
constexpr int kSharedXBytes = TRTH_WOQ_SHARED_X_BYTES;

//! Stages of the ring: as many as fit when kCtasPerSm CTAs share an SM beside kXBytes of x.
template<int kBits, int kXBytes, int kConsumers>
constexpr int kStages = std::min(8,
    static_cast<int>(
        (kSharedPerSm / kCtasPerSm<kConsumers> - 1024 - 2 * kConsumers * kMT * 4 * 32 * sizeof(float) - kXBytes - 256)
        / (kStageBytes + kStageTiles<kBits> * 32)));

//! The CTA's shared memory: the ring (weights, scale rows: one per group a stage touches, 16 features each), the
//! partial sums of the consumer warps (two strips' worth: one barrier per strip), x (kSharedX), the mbarriers. Without
//! x the kernel leaves that memory to the L1 cache, which holds x for the consumers' loads. Also the kernel's shape.
template<int kBits, bool kSharedX, int kConsumersArg>
struct Shared
{
    static constexpr int kConsumers = kConsumersArg;           //!< consumer warps (plus one producer warp)
    static constexpr int kThreads = 32 * (kConsumers + 1);     //!< threads per CTA
    static constexpr int kU = kStageTiles<kBits> / kConsumers; //!< consecutive tiles of a stage per consumer warp
    static constexpr int kXBytes = kSharedX ? kSharedXBytes : 0;
    static constexpr int kRing = kStages<kBits, kXBytes, kConsumers>;
    uint4 weights[kRing][kStageBytes / 16];
    unsigned short scales[kRing][kStageTiles<kBits>][16];
    float partial[2][kConsumers][kMT * 4][32];
    __half x[std::max(kXBytes, 16) / 2]; //!< x (M, K) with kSharedX
    uint64_t full[kRing];
    uint64_t empty[kRing];
    uint64_t xFull;
};

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
//! Producer warp: for every stage of every strip of this CTA, waits for the slot to be free, then lane 0 copies the
//! tiles and lanes 0… the stage's scale rows.
template<int kBits, int kGroupShift, class S>
__device__ __forceinline__ void produce(Params const& p, S& s, int stagesPerStrip)
{
    constexpr int kRing = S::kRing;
    constexpr bool kSharedX = S::kXBytes > 0;
    int const lane = threadIdx.x & 31;
    if (kSharedX && lane == 0)
    {
        uint32_t const bytes = static_cast<uint32_t>(p.m * p.k * 2);
        bulk::barrierArriveExpect(&s.xFull, bytes);
        bulk::bulkCopy(s.x, p.x, bytes, &s.xFull);
    }
    auto const* scales = static_cast<unsigned short const*>(p.scales);
    bulk::RingPosition pos;
    for (int strip = blockIdx.x; strip < p.strips; strip += gridDim.x)
    {
        for (int j = 0; j < stagesPerStrip; ++j, pos.advance<kRing>())
        {
            bulk::barrierWait(&s.empty[pos.slot], pos.phase ^ 1);
            int const t0 = j * kStageTiles<kBits>;
            int const count = min(kStageTiles<kBits>, p.tiles - t0);
            int const row0 = t0 >> kGroupShift;
            int const rows = ((t0 + count - 1) >> kGroupShift) - row0 + 1;
            if (lane == 0)
            {
                uint32_t const bytes = count * kTileBytes<kBits>;
                bulk::barrierArriveExpect(&s.full[pos.slot], bytes + rows * 32);
                bulk::bulkCopy(s.weights[pos.slot],
                    p.w + (static_cast<int64_t>(strip) * p.tiles + t0) * (kTileBytes<kBits> / 16), bytes,
                    &s.full[pos.slot]);
            }
            if (lane < rows)
            {
                bulk::bulkCopy(s.scales[pos.slot][lane], scales + static_cast<int64_t>(row0 + lane) * p.n + strip * 16,
                    32, &s.full[pos.slot]);
            }
        }
    }
}

//! Consumer warp `warp`: tiles kU·warp … kU·warp + kU − 1 of every stage, summed per scale group before the scale is
//! applied; the CTA's consumers then sum their partial sums of the strip and write y.
template<typename T, int kBits, int kGroupShift, class S>
__device__ __forceinline__ void consume(Params const& p, S& s, int stagesPerStrip, int warp)
{
    constexpr int kRing = S::kRing;
    constexpr int kConsumers = S::kConsumers;
    constexpr bool kSharedX = S::kXBytes > 0;
    constexpr int kCH = kBits / 4;
    constexpr int kU = S::kU;
    constexpr int kGroupTiles = kGroupShift == kPerChannelShift ? kU : std::min(kU, 1 << kGroupShift);
    int const lane = threadIdx.x & 31;
    int const gid = lane >> 2;
    T const* bias = static_cast<T const*>(p.bias);
    T* y = static_cast<T*>(p.y);
    // The lane's x rows at its first column 16 · (lane % 4) of every tile; rows past m read row 0 only in name: their
    // loads are predicated off and leave the previous (finite) values, which reach only outputs that are not stored.
    T const* xRow[kMT];
    bool rowOk[kMT];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
    {
        int const r = mt * 8 + gid;
        rowOk[mt] = r < p.m;
        int64_t const offset = (rowOk[mt] ? r : 0) * static_cast<int64_t>(p.k) + 16 * (lane & 3);
        xRow[mt] = kSharedX ? reinterpret_cast<T const*>(s.x) + offset : static_cast<T const*>(p.x) + offset;
    }
    if constexpr (kSharedX)
    {
        bulk::barrierWait(&s.xFull, 0);
    }
    uint4 xv[kU][kMT][2] = {};
    bulk::RingPosition pos;
    int parity = 0;
    for (int strip = blockIdx.x; strip < p.strips; strip += gridDim.x, parity ^= 1)
    {
        float acc[kMT][4] = {};
        for (int j = 0; j < stagesPerStrip; ++j, pos.advance<kRing>())
        {
            int const tw = j * kStageTiles<kBits> + warp * kU; // the warp's first tile
            int const live = min(kU, p.tiles - tw);            // tiles of the warp before the end of the strip
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
            {
                // the warp's tiles of this stage at constant offsets from one address
                auto const* x = reinterpret_cast<uint4 const*>(xRow[mt] + static_cast<int64_t>(tw) * woq::kBlockK);
#pragma unroll
                for (int u = 0; u < kU; ++u)
                {
                    if (u < live && rowOk[mt])
                    {
                        xv[u][mt][0] = kSharedX ? x[u * (woq::kBlockK / 8)] : __ldg(x + u * (woq::kBlockK / 8));
                        xv[u][mt][1] = kSharedX ? x[u * (woq::kBlockK / 8) + 1] : __ldg(x + u * (woq::kBlockK / 8) + 1);
                    }
                }
            }
            bulk::barrierWait(&s.full[pos.slot], pos.phase);
#pragma unroll
            for (int g = 0; g < kU; g += kGroupTiles)
            {
                if (g < live)
                {
                    float part[kMT][4] = {};
#pragma unroll
                    for (int u = g; u < g + kGroupTiles; ++u)
                    {
                        if (u < live)
                        {
                            int const i = warp * kU + u; // tile of the stage
                            uint4 w[kCH];
#pragma unroll
                            for (int ch = 0; ch < kCH; ++ch)
                            {
                                w[ch] = s.weights[pos.slot][(i * kCH + ch) * 32 + lane];
                            }
                            woq::tileMma<T, kBits, kMT>(w, xv[u], part);
                        }
                    }
                    int const t = tw + g;
                    unsigned short const* row
                        = s.scales[pos.slot][(t >> kGroupShift) - ((j * kStageTiles<kBits>) >> kGroupShift)];
                    woq::addScaled<kMT>(
                        acc, part, toFloat<T>(woq::fromBits<T>(row[gid])), toFloat<T>(woq::fromBits<T>(row[gid + 8])));
                }
            }
            __syncwarp();
            if (lane == 0)
            {
                bulk::barrierArrive(&s.empty[pos.slot]);
            }
        }
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
#pragma unroll
            for (int r = 0; r < 4; ++r)
            {
                s.partial[parity][warp][mt * 4 + r][lane] = acc[mt][r];
            }
        }
        asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory"); // the consumer warps only
        for (int i = threadIdx.x; i < kMT * 4 * 32; i += kConsumers * 32)
        {
            int const l = i & 31;
            int const r = (i >> 5) & 3;
            int const mt = i >> 7;
            int64_t const row = mt * 8 + 2 * (l & 3) + (r & 1);
            int const f = strip * 16 + (l >> 2) + 8 * (r >> 1);
            if (row < p.m)
            {
                float sum = 0.F;
#pragma unroll
                for (int w = 0; w < kConsumers; ++w)
                {
                    sum += s.partial[parity][w][i >> 5][l];
                }
                if (bias != nullptr)
                {
                    sum += toFloat<T>(bias[f]);
                }
                y[row * p.n + f] = fromFloat<T>(sum);
            }
        }
    }
}
#endif

template<typename T, int kBits, int kGroupShift, bool kSharedX, int kConsumers>
__global__ void __launch_bounds__(32 * (kConsumers + 1), kCtasPerSm<kConsumers>) woqBulkKernel(Params const p)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    using S = Shared<kBits, kSharedX, kConsumers>;
    extern __shared__ __align__(128) unsigned char raw[];
    auto& s = *reinterpret_cast<S*>(raw);
    int const warp = threadIdx.x >> 5;
    if (threadIdx.x == 0)
    {
        for (int i = 0; i < S::kRing; ++i)
        {
            bulk::barrierInit(&s.full[i], 1);
            bulk::barrierInit(&s.empty[i], kConsumers);
        }
        bulk::barrierInit(&s.xFull, 1);
        bulk::fenceBarrierInit();
    }
    __syncthreads();
    int const stagesPerStrip = (p.tiles + kStageTiles<kBits> - 1) / kStageTiles<kBits>;
    if (warp == kConsumers)
    {
        produce<kBits, kGroupShift>(p, s, stagesPerStrip);
    }
    else
    {
        consume<T, kBits, kGroupShift>(p, s, stagesPerStrip, warp);
    }
#endif
}

//! Per device, cached: CTAs of this kernel that fit on the GPU at once; 0 where it cannot run (no sm_90 code for the
//! device, compute capability below 9.0) or on error.
template<typename T, int kBits, int kGroupShift, bool kSharedX, int kConsumers>
int bulkResidentCtas(int device)
{
    static PerDeviceCache cache;
    return cache.get(device,
        [](int d)
        {
            using S = Shared<kBits, kSharedX, kConsumers>;
            auto const kernel = woqBulkKernel<T, kBits, kGroupShift, kSharedX, kConsumers>;
            cudaFuncAttributes attr{};
            return computeCapability(d) >= 90 && cudaFuncGetAttributes(&attr, kernel) == cudaSuccess
                    && attr.binaryVersion >= 90
                ? residentCtas(kernel, S::kThreads, static_cast<int>(sizeof(S)), d)
                : 0;
        });
}

//! `ctas` persistent CTAs at most (bulkResidentCtas, which raised the kernel's shared-memory limit on this device).
template<typename T, int kBits, int kGroupShift, bool kSharedX, int kConsumers>
cudaError_t launchWith(Params const& p, int ctas, cudaStream_t stream)
{
    using S = Shared<kBits, kSharedX, kConsumers>;
    woqBulkKernel<T, kBits, kGroupShift, kSharedX, kConsumers>
        <<<std::min(p.strips, ctas), S::kThreads, sizeof(S), stream>>>(p);
    return cudaGetLastError();
}

template<typename T, int kBits, int kGroupShift, bool kSharedX>
cudaError_t launch(Params const& p, int device, cudaStream_t stream)
{
    int const ctas = bulkResidentCtas<T, kBits, kGroupShift, kSharedX, 8>(device);
    // int8 has half the columns per byte to dequantize: on an H200 it won only where every CTA streams more than one
    // strip (benchmarks/results/woq_bulk_h200.json)
    if (ctas <= 0 || (kBits == 8 && p.strips <= ctas))
    {
        return cudaErrorNotSupported;
    }
    if constexpr (kBits == 4 && kGroupShift == 1) // int4 g128, where it measured faster (g64 1-3 % slower)
    {
        int const wide = bulkResidentCtas<T, kBits, kGroupShift, kSharedX, kWideConsumers>(device);
        if (p.strips <= wide)
        {
            return launchWith<T, kBits, kGroupShift, kSharedX, kWideConsumers>(p, wide, stream);
        }
    }
    return launchWith<T, kBits, kGroupShift, kSharedX, 8>(p, ctas, stream);
}

//! x in shared memory where it fits (int4; x 16-byte aligned), else read from global memory by every consumer warp.
template<typename T, int kBits, int kGroupShift>
cudaError_t launchX(Params const& p, int device, cudaStream_t stream)
{
    if constexpr (kBits == 4)
    {
        if (p.m * p.k * 2 <= kSharedXBytes && reinterpret_cast<uintptr_t>(p.x) % 16 == 0)
        {
            return launch<T, kBits, kGroupShift, true>(p, device, stream);
        }
    }
    return launch<T, kBits, kGroupShift, false>(p, device, stream);
}

template<typename T, int kBits>
cudaError_t launchForGroup(Params const& p, int device, cudaStream_t stream)
{
    switch (p.groupShift)
    {
    case 0: return launchX<T, kBits, 0>(p, device, stream);
    case 1: return launchX<T, kBits, 1>(p, device, stream);
    case kPerChannelShift: return launchX<T, kBits, kPerChannelShift>(p, device, stream);
    default: break;
    }
    return cudaErrorNotSupported;
}

template<typename T>
cudaError_t launchForBits(int32_t bits, Params const& p, int device, cudaStream_t stream)
{
    return bits == 4 ? launchForGroup<T, 4>(p, device, stream) : launchForGroup<T, 8>(p, device, stream);
}
} // namespace

cudaError_t launchWoqBulkSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream)
{
    bool const aligned = reinterpret_cast<uintptr_t>(p.w) % 16 == 0 && reinterpret_cast<uintptr_t>(p.scales) % 16 == 0;
    int const device = currentDevice();
    if (p.m > 8 * kMT || p.n % 16 != 0 || p.k % woq::kBlockK != 0 || !aligned || (bits != 4 && bits != 8) || device < 0)
    {
        return cudaErrorNotSupported;
    }
    return woq::forHalfType(
        type, cudaErrorNotSupported, [&](auto t) { return launchForBits<decltype(t)>(bits, p, device, stream); });
}
} // namespace trt_helper
