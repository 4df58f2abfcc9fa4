// WeightOnlyGemm for decode sizes (M ≤ 8) on Hopper: the packed weights stream through shared memory.
//
// The register-streaming kernel (weightOnlyGemmKernel.cu) keeps its weight loads in flight in registers, so its bytes
// in flight and its occupancy compete for the same registers. Here one producer warp per CTA moves each strip's packed
// tiles (contiguous in the layout of trt_helper/quant/woq_layout.py) into a ring of shared-memory stages with bulk
// copies (cp.async.bulk, sm_90), each stage completing on its own mbarrier together with its scale rows (32 bytes per
// group), and 8 consumer warps dequantize and multiply (woq::tileMma, the register kernel's mma path) or, where x fits
// in shared memory, multiply the packed weights as they are with x as 16-bit integers on the integer tensor cores
// (the integer path: convertX, chunkInt); for int4 g128 matrices of at most one strip per SM, 16 consumer warps in one
// CTA per SM, each with half as many tiles. Consumer
// warp w takes kU consecutive tiles of every stage, so that the tiles of one scale group are summed in one
// fp32 partial before the scale is applied, and arrives on the stage's "empty" barrier when done; at the end of a strip
// the warps' sums meet in shared memory and are written with the bias. CTAs are persistent (as many as fit on the GPU
// at once, strips dealt round robin), so the producer prefetches across strips. No workspace, one launch, no host
// synchronisation. On an H200 a plain read through this ring runs at the rate of a grid-stride read kernel; what the
// consumers add is instruction issue (benchmarks/plugins/woq_variants.cu).
#include "woqBulkSm90.h"

#include "bulkCopySm90.cuh"
#include "dependentLaunch.h"
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
//! Bytes of x that a CTA holds in shared memory where M · K · 2 fits: the consumers then read x there instead of from
//! L2 at every stage.
#ifndef TRTH_WOQ_SHARED_X_BYTES
#define TRTH_WOQ_SHARED_X_BYTES 12288
#endif
constexpr int kSharedXBytes = TRTH_WOQ_SHARED_X_BYTES;
//! Where the consumers read x: from global memory (through L1); from shared memory as fp16 / bf16 (one bulk copy by
//! the producer); from shared memory as 16-bit integers (the integer path: convertX, chunkInt).
enum class XSource
{
    kGlobal,
    kShared,
    kInteger
};
//! The integer path's chunks of x: one scale and one sum per token and 128 columns (two tiles, one weight scale).
constexpr int kChunkTiles = 2;
//! Shared memory for x: the integer path's high and low bytes take M · K · 2 bytes, its chunk entries (with room to
//! spare) 3/8 of that. That leaves int4 two ring stages at 3 CTAs per SM (H200, M = 1, 4096→12288 / 4096→11008,
//! benchmarks/results/woq_bulk_integer_h200.log: three stages, the region sized to the entries' need, 3–4 % slower
//! (run 4); the entries' arrays sized to their need, so that 4 CTAs fit per SM and 768 strips are dealt to 528 CTAs,
//! 9 % slower (run 5)).
template<XSource kX>
constexpr int kXRegionBytes = kX == XSource::kInteger ? kSharedXBytes * 11 / 8
    : kX == XSource::kShared                          ? kSharedXBytes
                                                      : 0;

//! Stages of the ring: as many as fit when kCtasPerSm CTAs share an SM beside x.
template<int kBits, XSource kX, int kConsumers>
constexpr int kStages = std::min(8,
    static_cast<int>((kSharedPerSm / kCtasPerSm<kConsumers>
                         - 1024 - 2 * kConsumers * kMT * 4 * 32 * sizeof(float) - kXRegionBytes<kX> - 256)
        / (kStageBytes + kStageTiles<kBits> * 32)));

//! The CTA's shared memory: the ring (weights, scale rows: one per group a stage touches, 16 features each), the
//! partial sums of the consumer warps (two strips' worth: one barrier per strip), x (XSource), the mbarriers. Without
//! x the kernel leaves that memory to the L1 cache, which holds x for the consumers' loads. Also the kernel's shape.
template<int kBits, XSource kXArg, int kConsumersArg>
struct Shared
{
    static constexpr XSource kX = kXArg;
    static constexpr int kConsumers = kConsumersArg;           //!< consumer warps (plus one producer warp)
    static constexpr int kThreads = 32 * (kConsumers + 1);     //!< threads per CTA
    static constexpr int kU = kStageTiles<kBits> / kConsumers; //!< consecutive tiles of a stage per consumer warp
    static constexpr int kRing = kStages<kBits, kX, kConsumers>;
    static constexpr int kXBytes = kX == XSource::kGlobal ? 0 : kSharedXBytes;
    static constexpr int kIntegerBytes = kX == XSource::kInteger ? kSharedXBytes : 0;
    uint4 weights[kRing][kStageBytes / 16];
    unsigned short scales[kRing][kStageTiles<kBits>][16];
    float partial[2][kConsumers][kMT * 4][32];
    __half x[std::max(kX == XSource::kShared ? kXBytes / 2 : 0, 8)]; //!< x (M, K), XSource::kShared
    //! XSource::kInteger: x as q = round(x / scale) in 16 bits, a signed high and an unsigned low byte, each lane's 16
    //! columns of a tile in one uint4: index (tile · M + token) · 4 + lane % 4 (convertX)
    uint4 xHigh[std::max(kIntegerBytes / 32, 1)];
    uint4 xLow[std::max(kIntegerBytes / 32, 1)];
    //! per chunk and pair of tokens (M rounded up to even, the padding token zero): −o₀ · Σ q of both, −o₁ · Σ q of
    //! both (o₀ / o₁ the offsets of the stored u in the rows gid / gid + 8 of woq::fragmentU8), the integer path's
    //! initial sums of a lane's outputs
    //! (chunks · (M + 1) ≤ M · K / 64 entries: kIntegerBytes / 128)
    uint4 xOffsets[std::max(kIntegerBytes / 128, 1)];
    float xScales[std::max(kIntegerBytes / 64, 2)]; //!< per chunk and token: max |x| / 32767
    uint64_t full[kRing];
    uint64_t empty[kRing];
    uint64_t xFull; //!< XSource::kShared: x has arrived
};

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
//! Producer warp: for every stage of every strip of this CTA, waits for the slot to be free, then lane 0 copies the
//! tiles and lanes 0… the stage's scale rows.
template<int kBits, int kGroupShift, class S>
__device__ __forceinline__ void produce(Params const& p, S& s, int stagesPerStrip)
{
    constexpr int kRing = S::kRing;
    int const lane = threadIdx.x & 31;
    if (S::kX == XSource::kShared && lane == 0)
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

//! The producer warp: an L2 prefetch of the first woq::kL2PrefetchBytes of the strips this CTA will stream (lane j:
//! the CTA's j-th strip).
template<int kBits>
__device__ __forceinline__ void prefetchWeights(Params const& p)
{
    int64_t const stripBytes = int64_t{p.tiles} * kTileBytes<kBits>;
    int const j = threadIdx.x & 31;
    int const strip = blockIdx.x + j * gridDim.x;
    int64_t const bytes = std::min(stripBytes, woq::kL2PrefetchBytes - j * stripBytes);
    if (strip < p.strips && bytes > 0)
    {
        bulk::prefetchL2(p.w + static_cast<int64_t>(strip) * (stripBytes / 16), static_cast<uint32_t>(bytes));
    }
}

//! The lane's kBits / 4 16-byte words of tile `tile` of the stage in ring slot `slot`.
template<int kBits, class S>
__device__ __forceinline__ void loadTile(S const& s, int slot, int tile, uint4 (&w)[kBits / 4])
{
    int const lane = threadIdx.x & 31;
#pragma unroll
    for (int ch = 0; ch < kBits / 4; ++ch)
    {
        w[ch] = s.weights[slot][(tile * (kBits / 4) + ch) * 32 + lane];
    }
}

//! The consumers (threads 0 … 32 · kConsumers − 1) turn x (M ≤ 8 tokens) into 16-bit integers per token and chunk of
//! 128 columns, q = round(x · 32767 / max |x|), stored as a signed high and an unsigned low byte in the column order of
//! woq::fragmentU8 (the B fragments of mma.m16n8k32: lane c of a quad, sub-tile s of a tile, the tile columns
//! 16c + 4s + {0, 2, 1, 3}), with the chunk's scale max |x| / 32767 and Σ q. A thread converts 16 columns of one token
//! (lane c's of a tile); the 8 threads of a chunk are consecutive lanes of one warp.
template<typename T, int kBits, class S>
__device__ __forceinline__ void convertX(Params const& p, S& s)
{
    constexpr int kLanes = 4 * kChunkTiles;
    int const perToken = p.k / 16;
    int const items = static_cast<int>(p.m) * perToken;
    int const mp = (static_cast<int>(p.m) + 1) & ~1;
    for (int base = 0; base < items; base += S::kConsumers * 32) // the same trip count in every lane of a warp
    {
        int const i = base + threadIdx.x;
        bool const ok = i < items;
        int const n = ok ? i / perToken : 0;
        int const col = ok ? (i - n * perToken) * 16 : 0;
        float v[16] = {};
        if (ok)
        {
            auto const* x = static_cast<T const*>(p.x) + static_cast<int64_t>(n) * p.k + col;
            float half[2][kVec<T>];
            loadVec<T>(x, half[0]);
            loadVec<T>(x + 8, half[1]);
#pragma unroll
            for (int e = 0; e < 16; ++e)
            {
                v[e] = half[e >> 3][e & 7];
            }
        }
        float amax = 0.F;
#pragma unroll
        for (int e = 0; e < 16; ++e)
        {
            amax = fmaxf(amax, fabsf(v[e]));
        }
#pragma unroll
        for (int o = 1; o < kLanes; o *= 2)
        {
            amax = fmaxf(amax, __shfl_xor_sync(0xFFFFFFFFU, amax, o));
        }
        float const inv = amax > 0.F ? 32767.F / amax : 0.F; // 0 for a NaN maximum: its scale makes the output NaN
        // q = rint(v · inv) in the low bits of v · inv + 1.5 · 2^23 (|q| ≤ 32767): no conversion instruction
        constexpr float kRound = 12582912.F;
        constexpr uint32_t kRoundBits = 0x4B400000U;
        uint32_t bits[16];
        uint32_t sumBits = 0;
#pragma unroll
        for (int e = 0; e < 16; ++e)
        {
            bits[e] = __float_as_uint(fmaf(v[e], inv, kRound));
            sumBits += bits[e];
        }
        int sum = static_cast<int>(sumBits - 16 * kRoundBits);
#pragma unroll
        for (int o = 1; o < kLanes; o *= 2)
        {
            sum += __shfl_xor_sync(0xFFFFFFFFU, sum, o);
        }
        if (ok)
        {
            // the 16 columns are those of lane c of a quad in every sub-tile s of the tile, bytes of the columns
            // 4 s + {0, 2, 1, 3}: the low and the high byte of each q
            uint32_t hi[4];
            uint32_t lo[4];
#pragma unroll
            for (int sub = 0; sub < 4; ++sub)
            {
                uint32_t const even = __byte_perm(bits[4 * sub], bits[4 * sub + 2], 0x5410);
                uint32_t const odd = __byte_perm(bits[4 * sub + 1], bits[4 * sub + 3], 0x5410);
                hi[sub] = __byte_perm(even, odd, 0x7531);
                lo[sub] = __byte_perm(even, odd, 0x6420);
            }
            int const word = (col / woq::kBlockK * static_cast<int>(p.m) + n) * 4 + (col / 16) % 4;
            s.xHigh[word] = make_uint4(hi[0], hi[1], hi[2], hi[3]);
            s.xLow[word] = make_uint4(lo[0], lo[1], lo[2], lo[3]);
            if (i % kLanes == 0)
            {
                int const entry = col / (woq::kBlockK * kChunkTiles) * mp + n;
                // int4: u = q + 8 in the rows gid, 16 u in the rows gid + 8; int8: u = q + 128
                int const offset0 = kBits == 4 ? 8 : 128;
                auto* offsets = reinterpret_cast<int*>(s.xOffsets) + (entry >> 1) * 4 + (entry & 1);
                offsets[0] = -offset0 * sum;
                offsets[2] = -128 * sum;
                s.xScales[entry] = amax / 32767.F;
                if (n + 1 == p.m && n + 1 < mp) // the padding token
                {
                    offsets[1] = 0;
                    offsets[3] = 0;
                    s.xScales[entry + 1] = 0.F;
                }
            }
        }
    }
}

//! The integer path's sums of one chunk (tiles g, g + 1 of the warp's in the stage's slot), scaled
//! into acc: the packed u8 weights (woq::fragmentU8, no dequantization) times x's two bytes on the integer tensor
//! cores, exact in int32, starting from −o · Σ q (the offset of u), then x's and the weights' scales in fp32.
template<int kBits, class S>
__device__ __forceinline__ void chunkInt(S& s, int slot, int stageTile, int t, uint4 const* xHigh, uint4 const* xLow,
    int xTileWords, uint4 offsets, float2 xScale, float s0, float s1, float (&acc)[4])
{
    constexpr int kCH = kBits / 4;
    int high[4] = {};
    int low[4] = {static_cast<int>(offsets.x), static_cast<int>(offsets.y), static_cast<int>(offsets.z),
        static_cast<int>(offsets.w)};
#pragma unroll
    for (int u = 0; u < kChunkTiles; ++u)
    {
        uint4 w[kCH];
        loadTile<kBits>(s, slot, stageTile + u, w);
        uint4 const xh = xHigh[(t + u) * xTileWords];
        uint4 const xl = xLow[(t + u) * xTileWords];
#pragma unroll
        for (int q = 0; q < 2; ++q)
        {
            uint32_t a[4];
            woq::fragmentU8<kBits>(w, q, a);
            woq::mma16832<true>(high, a, q == 0 ? xh.x : xh.z, q == 0 ? xh.y : xh.w);
            woq::mma16832<false>(low, a, q == 0 ? xl.x : xl.z, q == 0 ? xl.y : xl.w);
        }
    }
    float const x0 = xScale.x;                          // token 2 · (lane % 4)
    float const x1 = xScale.y;                          // and the next
    float const w1 = kBits == 4 ? s1 * (1.F / 16) : s1; // int4: 16 u in the rows gid + 8
    acc[0] += __int2float_rn(high[0] * 256 + low[0]) * (s0 * x0);
    acc[1] += __int2float_rn(high[1] * 256 + low[1]) * (s0 * x1);
    acc[2] += __int2float_rn(high[2] * 256 + low[2]) * (w1 * x0);
    acc[3] += __int2float_rn(high[3] * 256 + low[3]) * (w1 * x1);
}

//! Consumer warp `warp`: tiles kU·warp … kU·warp + kU − 1 of every stage, summed per scale group before the scale is
//! applied; the CTA's consumers then sum their partial sums of the strip and write y. With XSource::kInteger the
//! integer path (convertX, chunkInt), otherwise fp16 / bf16 fragments (woq::tileMma).
template<typename T, int kBits, int kGroupShift, class S>
__device__ __forceinline__ void consume(Params const& p, S& s, int stagesPerStrip, int warp)
{
    constexpr int kRing = S::kRing;
    constexpr int kConsumers = S::kConsumers;
    constexpr bool kInteger = S::kX == XSource::kInteger;
    constexpr bool kSharedX = S::kX == XSource::kShared;
    constexpr int kCH = kBits / 4;
    constexpr int kU = S::kU;
    constexpr int kGroupTiles = kInteger  ? kChunkTiles
        : kGroupShift == kPerChannelShift ? kU
                                          : std::min(kU, 1 << kGroupShift);
    static_assert(!kInteger || kGroupShift != 0, "the integer path's chunks of two tiles need one scale per chunk");
    static_assert(kMT == 1, "one n8 token tile: the sums below are laid out for it");
    int const lane = threadIdx.x & 31;
    int const gid = lane >> 2;
    T const* bias = static_cast<T const*>(p.bias);
    T* y = static_cast<T*>(p.y);
    int const m = static_cast<int>(p.m);
    bool const rowOk = gid < m;
    // fp16 path: the lane's x row at its first column 16 · (lane % 4) of every tile; rows past m read row 0 only in
    // name: their loads are predicated off and leave the previous (finite) values, which reach only outputs that are
    // not stored. Integer path: the lane's words of x (token 0's past m, reaching only outputs not stored), the chunk
    // entries of tokens 2c and 2c + 1 (c = lane % 4).
    int64_t const xOffset = (rowOk ? gid : 0) * static_cast<int64_t>(p.k) + 16 * (lane & 3);
    T const* xRow = kSharedX ? reinterpret_cast<T const*>(s.x) + xOffset : static_cast<T const*>(p.x) + xOffset;
    int const xTileWords = 4 * m;
    uint4 const* xHigh = s.xHigh + (rowOk ? gid : 0) * 4 + (lane & 3);
    uint4 const* xLow = s.xLow + (rowOk ? gid : 0) * 4 + (lane & 3);
    int const mp = (m + 1) & ~1;
    int const pair = min(lane & 3, mp / 2 - 1); // tokens 2c, 2c + 1 (past m: another pair's, unused)
    if constexpr (kInteger)
    {
        convertX<T, kBits>(p, s);
        asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory"); // the consumer warps only
    }
    if constexpr (kSharedX)
    {
        bulk::barrierWait(&s.xFull, 0);
    }
    uint4 xv[kU][1][2] = {};
    bulk::RingPosition pos;
    int parity = 0;
    for (int strip = blockIdx.x; strip < p.strips; strip += gridDim.x, parity ^= 1)
    {
        float acc[1][4] = {};
        for (int j = 0; j < stagesPerStrip; ++j, pos.advance<kRing>())
        {
            int const tw = j * kStageTiles<kBits> + warp * kU; // the warp's first tile
            int const live = min(kU, p.tiles - tw);            // tiles of the warp before the end of the strip
            if constexpr (!kInteger)
            {
                // the warp's tiles of this stage at constant offsets from one address
                auto const* x = reinterpret_cast<uint4 const*>(xRow + static_cast<int64_t>(tw) * woq::kBlockK);
#pragma unroll
                for (int u = 0; u < kU; ++u)
                {
                    if (u < live && rowOk)
                    {
                        xv[u][0][0] = kSharedX ? x[u * (woq::kBlockK / 8)] : __ldg(x + u * (woq::kBlockK / 8));
                        xv[u][0][1] = kSharedX ? x[u * (woq::kBlockK / 8) + 1] : __ldg(x + u * (woq::kBlockK / 8) + 1);
                    }
                }
            }
            bulk::barrierWait(&s.full[pos.slot], pos.phase);
#pragma unroll
            for (int g = 0; g < kU; g += kGroupTiles)
            {
                if (g < live)
                {
                    int const t = tw + g;
                    unsigned short const* row
                        = s.scales[pos.slot][(t >> kGroupShift) - ((j * kStageTiles<kBits>) >> kGroupShift)];
                    float const s0 = toFloat<T>(woq::fromBits<T>(row[gid]));
                    float const s1 = toFloat<T>(woq::fromBits<T>(row[gid + 8]));
                    if constexpr (kInteger) // a chunk: two tiles, both before the strip's end (k % 128 == 0)
                    {
                        int const entry = t / kChunkTiles * mp + 2 * pair;
                        chunkInt<kBits>(s, pos.slot, warp * kU + g, t, xHigh, xLow, xTileWords, s.xOffsets[entry / 2],
                            *reinterpret_cast<float2 const*>(&s.xScales[entry]), s0, s1, acc[0]);
                    }
                    else
                    {
                        float part[1][4] = {};
#pragma unroll
                        for (int u = g; u < g + kGroupTiles; ++u)
                        {
                            if (u < live)
                            {
                                int const i = warp * kU + u; // tile of the stage
                                uint4 w[kCH];
                                loadTile<kBits>(s, pos.slot, i, w);
                                woq::tileMma<T, kBits, 1>(w, xv[u], part);
                            }
                        }
                        woq::addScaled<1>(acc, part, s0, s1);
                    }
                }
            }
            __syncwarp();
            if (lane == 0)
            {
                bulk::barrierArrive(&s.empty[pos.slot]);
            }
        }
#pragma unroll
        for (int r = 0; r < 4; ++r)
        {
            s.partial[parity][warp][r][lane] = acc[0][r];
        }
        asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory"); // the consumer warps only
        for (int i = threadIdx.x; i < 4 * 32; i += kConsumers * 32)
        {
            int const l = i & 31;
            int const r = i >> 5;
            int64_t const row = 2 * (l & 3) + (r & 1);
            int const f = strip * 16 + (l >> 2) + 8 * (r >> 1);
            if (row < p.m)
            {
                float sum = 0.F;
#pragma unroll
                for (int w = 0; w < kConsumers; ++w)
                {
                    sum += s.partial[parity][w][r][l];
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

template<typename T, int kBits, int kGroupShift, XSource kX, int kConsumers>
__global__ void __launch_bounds__(32 * (kConsumers + 1), kCtasPerSm<kConsumers>) woqBulkKernel(Params const p)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    using S = Shared<kBits, kX, kConsumers>;
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
    // A programmatic dependent launch (launchWith; woq::kL2PrefetchBytes)
    if (warp == kConsumers)
    {
        prefetchWeights<kBits>(p);
    }
    waitForPrerequisiteGrid();
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
template<typename T, int kBits, int kGroupShift, XSource kX, int kConsumers>
int bulkResidentCtas(int device)
{
    static PerDeviceCache cache;
    return cache.get(device,
        [](int d)
        {
            using S = Shared<kBits, kX, kConsumers>;
            auto const kernel = woqBulkKernel<T, kBits, kGroupShift, kX, kConsumers>;
            cudaFuncAttributes attr{};
            return computeCapability(d) >= 90 && cudaFuncGetAttributes(&attr, kernel) == cudaSuccess
                    && attr.binaryVersion >= 90
                ? residentCtas(kernel, S::kThreads, static_cast<int>(sizeof(S)), d)
                : 0;
        });
}

//! `ctas` persistent CTAs at most (bulkResidentCtas, which raised the kernel's shared-memory limit on this device).
template<typename T, int kBits, int kGroupShift, XSource kX, int kConsumers>
cudaError_t launchWith(Params const& p, int ctas, cudaStream_t stream)
{
    using S = Shared<kBits, kX, kConsumers>;
    cudaLaunchAttribute dependent{};
    cudaLaunchConfig_t const config
        = dependentLaunchConfig(dim3(std::min(p.strips, ctas)), dim3(S::kThreads), sizeof(S), stream, dependent);
    return cudaLaunchKernelEx(&config, woqBulkKernel<T, kBits, kGroupShift, kX, kConsumers>, p);
}

template<typename T, int kBits, int kGroupShift, XSource kX>
cudaError_t launch(Params const& p, int device, cudaStream_t stream)
{
    int const ctas = bulkResidentCtas<T, kBits, kGroupShift, kX, 8>(device);
    // int8 has half the columns per byte to dequantize: on an H200 it won only where every CTA streams more than one
    // strip (benchmarks/results/woq_bulk_h200.json)
    if (ctas <= 0 || (kBits == 8 && p.strips <= ctas))
    {
        return cudaErrorNotSupported;
    }
    if constexpr (kBits == 4 && kGroupShift == 1) // int4 g128, where it measured faster (g64 1-3 % slower)
    {
        int const wide = bulkResidentCtas<T, kBits, kGroupShift, kX, kWideConsumers>(device);
        if (p.strips <= wide)
        {
            return launchWith<T, kBits, kGroupShift, kX, kWideConsumers>(p, wide, stream);
        }
    }
    return launchWith<T, kBits, kGroupShift, kX, 8>(p, ctas, stream);
}

//! Where x fits in shared memory (x 16-byte aligned): the integer path for int4 g128 / per channel and int8 where K is
//! a multiple of its chunk and every CTA has at least kIntegerMinTiles tiles to amortize its conversion of x (H200, M =
//! 1, graph timing: 4096→12288 / 4096→11008 int4 g128 −12 %, 4096→4096 −9 % (one strip of 64 tiles per CTA), int8 −5 to
//! −7 %; 2048→2048 / 1280→1280 / 1536→576 (32 / 20 / 24 tiles) +4 / +9 / +6 % with the threshold at 16, and int4 g64
//! +4 % with a first version, so those keep fp16 x; benchmarks/results/woq_bulk_integer_h200.log runs 3 and 6), else
//! fp16 / bf16 x in shared memory (int4; int8 has no room left beside its four stages); otherwise x read from global
//! memory by every consumer warp.
constexpr int kIntegerMinTiles = 64;
template<typename T, int kBits, int kGroupShift>
cudaError_t launchX(Params const& p, int device, cudaStream_t stream)
{
    if (p.m * p.k * 2 <= kSharedXBytes && reinterpret_cast<uintptr_t>(p.x) % 16 == 0)
    {
        if constexpr (kGroupShift != 0)
        {
            int const ctas = bulkResidentCtas<T, kBits, kGroupShift, XSource::kInteger, 8>(device);
            int const stripsPerCta = ctas > 0 ? (p.strips + ctas - 1) / ctas : 0;
            if (p.k % (woq::kBlockK * kChunkTiles) == 0 && stripsPerCta * p.tiles >= kIntegerMinTiles)
            {
                return launch<T, kBits, kGroupShift, XSource::kInteger>(p, device, stream);
            }
        }
        if constexpr (kBits == 4)
        {
            return launch<T, kBits, kGroupShift, XSource::kShared>(p, device, stream);
        }
    }
    return launch<T, kBits, kGroupShift, XSource::kGlobal>(p, device, stream);
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
