// WeightOnlyGemm for 64 and more tokens on Hopper (sm_90a): wgmma with the dequantized weights as the register A
// operand.
//
// yᵀ = W xᵀ with the weights in the 64-row M slot of wgmma.m64nNk16 and kTM tokens in its N slot, so every weight is
// dequantized once per CTA and multiplied with all kTM tokens by the tensor cores (the register kernel repeats the
// dequantization for every 32 tokens, and its mma.m16n8k16 has 8 tokens per instruction). The packed layout already
// holds each lane's mma.m16n8k16 A fragments, which is also the wgmma register-fragment layout of one warp's 16 rows:
// a warpgroup takes four strips (64 output features), each warp its own strip's tile, dequantizes it with the scale
// applied ((q − zero) · s rounded once to T) and issues four wgmma (one per 16-column sub-tile) against x in shared
// memory. A CTA is kWG consumer warpgroups (64 · kWG features; kWG = 2, except 1 with two CTAs per SM for tiles of 128
// tokens) — twice that for tiles of up to 64 tokens, two parts
// taking every other K tile, whose sums meet in shared memory at the end (more warps to hide the dequantization's
// latencies where the wgmma are short) — and one producer warpgroup whose first thread fills a ring of stages, one
// 64-column tile of K each, with three copies by the tensor memory accelerator (cp.async.bulk.tensor) completing on the
// stage's barrier: the CTA's weight tiles, the tile's scale row, and the kTM × 64 slice of x (128-byte swizzle: the
// K-major layout wgmma reads; rows past M filled with zeros). Tensor copies rather than plain bulk copies
// (cp.async.bulk) also let compute-sanitizer's racecheck follow the barrier: with plain bulk copies it reports the
// consumers' shared-memory reads as racing the copies (a known false positive of the tool, described in
// Dao-AILab/flash-attention AI/RACECHECK_TMA_HAZARD.md). x stays in natural K order, so the consumers undo the packed
// layout's K permutation in the weight fragments (trt_helper/quant/woq_layout.py: a lane's fragment column kk of
// sub-tile s is tile column 16·tig + 4·s + (kk & 1) + 2·(kk ≥ 8)) with shuffles inside each quad, on the packed words
// before dequantization (int4ToNaturalK, int8ToNaturalK: a quarter / half of the words of the dequantized ones). Each
// warp dequantizes the next tile while the current tile's wgmma run (two fragment buffers). The accumulators are final
// (the scale is in the weights); the bias is added when they are stored. Where K is split over a cluster, each CTA of
// it adds up and stores its own share of the tokens from the others' shared memory. Grid: (features / (64 · kWG), token
// tiles, K split); no workspace, no host synchronisation (the tensor maps are made on the host at each launch and
// passed as a kernel parameter).
#include "woqWgmmaSm90.h"

#include "bulkCopySm90.cuh"
#include "deviceCache.h"

#include <cute/arch/mma_sm90.hpp>
#include <cute/numeric/numeric_types.hpp>

#include <algorithm>
#include <array>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <utility>

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "woqWgmmaSm90.cu is sm_90a code (wgmma, setmaxnreg): compile it for arch=compute_90a,code=sm_90a only"
#endif

namespace trt_helper
{
namespace
{
using woq::Params;

//! Token tiles of at most this many tokens have two consumer parts per CTA, each taking every other K tile (more
//! warps per scheduler to hide the dequantization's latencies; benchmark builds may set it with -D).
#ifndef TRTH_WOQ_WGMMA_TWO_PARTS_MAX_TOKENS
#define TRTH_WOQ_WGMMA_TWO_PARTS_MAX_TOKENS 64
#endif
constexpr int kSharedBudget = 200 * 1024;    //!< ring bytes per SM (shared by its CTAs: Config::kCtasPerSm)
constexpr int kXRowBytes = woq::kBlockK * 2; //!< one token's 64 columns of a stage: one 128-byte swizzle row

template<int kTM, int kWG, int kBits>
struct Config
{
    //! CTAs per SM: two of one consumer warpgroup (64 features) each, or one of two (128 features)
    static constexpr int kCtasPerSm = kWG == 1 ? 2 : 1;
    static constexpr int kStrips = 4 * kWG;                   //!< 16-feature strips per CTA
    static constexpr int kTileWords = 32 * kBits / 4;         //!< 16-byte words of one packed tile
    static constexpr int kXBytes = kTM * kXRowBytes;          //!< x of one stage (a multiple of 1024)
    static constexpr int kWBytes = kStrips * kTileWords * 16; //!< weights of one stage
    static constexpr int kStages = std::min(8, kSharedBudget / kCtasPerSm / (kXBytes + kWBytes));
    //! m64n256 needs more registers than an even split gives: the producers hand theirs to the consumers
    static constexpr bool kMoveRegisters = kTM == 256;
    //! consumer parts: part i takes the K tiles i, i + kParts, … of the CTA's range; their sums meet at the end
    static constexpr int kParts = kTM <= TRTH_WOQ_WGMMA_TWO_PARTS_MAX_TOKENS ? 2 : 1;
    static constexpr int kPartThreads = 128 * kWG;
    static constexpr int kConsumerThreads = kParts * kPartThreads;
    static constexpr int kThreads = kConsumerThreads + 128; //!< and a producer warpgroup (one thread copies)
    static constexpr int kScaleBytes = kStrips * 16 * 2;    //!< one scale row of the CTA's features
    static constexpr int kSharedBytes
        = kStages * (kXBytes + kWBytes + kScaleBytes) + 2 * kStages * 8 + 1024; // + alignment
};

//! The CTA's shared memory (1024-byte aligned: the swizzle atom of x).
template<int kTM, int kWG, int kBits>
struct Shared
{
    using C = Config<kTM, kWG, kBits>;
    unsigned char x[C::kStages][C::kXBytes];
    uint4 w[C::kStages][C::kWBytes / 16];
    unsigned short scales[C::kStages][C::kStrips * 16]; //!< the tile's scale row, the CTA's features
    uint64_t full[C::kStages];                          //!< the stage's x, weights and scale row have landed
    uint64_t empty[C::kStages];
};

//! The tensor maps of the three operands a stage copies (made on the host per launch).
struct TensorMaps
{
    CUtensorMap x;      //!< x (M × K, 16-bit): kTM × 64 boxes, 128-byte swizzle
    CUtensorMap w;      //!< the packed weights as rows of 32-bit words, one per strip: the CTA's strips × one tile
    CUtensorMap scales; //!< scales (rows × N, 16-bit): one row of the CTA's features
};

#ifdef __CUDA_ARCH__
//! The wgmma of kTM tokens: m64 n kTM k16, fp32 accumulators, A from registers, B (x) K-major in shared memory.
template<typename T, int kTM>
using WgmmaOp = decltype(cute::SM90::GMMA::rs_op_selector<
    std::conditional_t<std::is_same_v<T, __half>, cute::half_t, cute::bfloat16_t>,
    std::conditional_t<std::is_same_v<T, __half>, cute::half_t, cute::bfloat16_t>, float,
    cute::Shape<cute::_64, cute::Int<kTM>, cute::_16>>());

template<class Op, size_t... I>
__device__ __forceinline__ void wgmma(
    uint32_t const (&a)[4], uint64_t desc, float (&d)[sizeof...(I)], std::index_sequence<I...> /*unused*/)
{
    Op::fma(a[0], a[1], a[2], a[3], desc, d[I]...);
}

//! Shared-memory matrix descriptor of a K-major operand with 128-byte swizzle: 8-row atoms 1024 bytes apart.
__device__ __forceinline__ uint64_t swizzle128Descriptor(uint32_t address)
{
    return static_cast<uint64_t>((address & 0x3FFFFU) >> 4) | (1ULL << 16) | (static_cast<uint64_t>(1024 >> 4) << 32)
        | (1ULL << 62);
}

//! Two copies of a 16-bit pattern.
__device__ __forceinline__ uint32_t pairOf(unsigned short v)
{
    return v | (static_cast<uint32_t>(v) << 16);
}

//! The K tiles of this CTA: the z-th of gridDim.z equal parts (split K: a cluster of gridDim.z CTAs).
struct TileRange
{
    int begin;
    int end;
    __device__ __forceinline__ explicit TileRange(int tiles)
        : begin(tiles * static_cast<int>(blockIdx.z) / static_cast<int>(gridDim.z))
        , end(tiles * (static_cast<int>(blockIdx.z) + 1) / static_cast<int>(gridDim.z))
    {
    }
};

//! All threads of the cluster: arrive (releasing this thread's writes) and wait for the others (acquiring theirs).
__device__ __forceinline__ void clusterSync()
{
    asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
}

//! The producer (one thread): per tile, wait for the slot, then copy x's kTM rows, the CTA's weight tiles and the
//! tile's scale row into it; nothing waits for a copy here: the stage's barrier completes when their bytes have landed.
template<int kTM, int kWG, int kBits>
__device__ __forceinline__ void produce(Params const& p, TensorMaps const& maps, Shared<kTM, kWG, kBits>& s)
{
    using C = Config<kTM, kWG, kBits>;
    int const strip0 = blockIdx.x * C::kStrips;
    int const token0 = static_cast<int>(blockIdx.y) * kTM;
    TileRange const range(p.tiles);
    bulk::RingPosition pos;
    for (int t = range.begin; t < range.end; ++t, pos.advance<C::kStages>())
    {
        uint64_t* full = &s.full[pos.slot];
        bulk::barrierWait(&s.empty[pos.slot], pos.phase ^ 1);
        bulk::barrierArriveExpect(full, C::kXBytes + C::kWBytes + C::kScaleBytes);
        bulk::tensorCopy(s.x[pos.slot], maps.x, t * woq::kBlockK, token0, full);
        bulk::tensorCopy(s.w[pos.slot], maps.w, t * C::kTileWords * 4, strip0, full);
        bulk::tensorCopy(s.scales[pos.slot], maps.scales, strip0 * 16, t >> p.groupShift, full);
    }
}

//! A 4 × 4 transpose of 32-bit words inside each quad: lane L holds m[d] = M[L][d], the word lane d needs from it, and
//! ends with m[s] = M[s][L], in two butterfly exchanges, with lane L ^ 2 then L ^ 1, each trading the two words whose
//! destination differs in that bit.
__device__ __forceinline__ void transposeQuad(uint32_t (&m)[4])
{
    bool const b1 = (threadIdx.x & 2) != 0;
    bool const b0 = (threadIdx.x & 1) != 0;
    uint32_t const r0 = __shfl_xor_sync(0xffffffffU, b1 ? m[0] : m[2], 2);
    uint32_t const r1 = __shfl_xor_sync(0xffffffffU, b1 ? m[1] : m[3], 2);
    m[0] = b1 ? r0 : m[0]; // slot j: source lane bit 1 = j's bit 1, destination bit 0 = j's bit 0
    m[1] = b1 ? r1 : m[1];
    m[2] = b1 ? m[2] : r0;
    m[3] = b1 ? m[3] : r1;
    uint32_t const q0 = __shfl_xor_sync(0xffffffffU, b0 ? m[0] : m[1], 1);
    uint32_t const q1 = __shfl_xor_sync(0xffffffffU, b0 ? m[2] : m[3], 1);
    m[0] = b0 ? q0 : m[0]; // slot j: source lane j, destination this lane
    m[1] = b0 ? m[1] : q0;
    m[2] = b0 ? q1 : m[2];
    m[3] = b0 ? m[3] : q1;
}

//! The packed layout's K order → natural K order, on the packed words before dequantization. Natural columns
//! 16·s' + 2·tig + 8·c (+1) of the tile (A-fragment register 2·c + row half of sub-tile s') are in lane s' of the quad,
//! sub-tile tig / 2 + 2·c, register 2·(tig % 2) + row half; so what lane d of the quad needs from this lane is, for
//! c = 0, 1, the column-half-(d % 2) registers of sub-tile d / 2 + 2·c, and after one quad transpose per word the
//! words from lane s hold natural sub-tile s, laid out as dequantInt4 / dequantInt8 read a sub-tile's words.
//! int4: sub-tile k's word holds registers 0, 1 in bytes 0, 2 and registers 2, 3 in bytes 1, 3; for lane d this
//! lane packs the column-half-(d % 2) bytes of sub-tiles d / 2 and d / 2 + 2 into one word (q[s]: natural sub-tile s).
__device__ __forceinline__ void int4ToNaturalK(uint4 const& w, uint32_t (&q)[4])
{
    q[0] = __byte_perm(w.x, w.z, 0x6240);
    q[1] = __byte_perm(w.x, w.z, 0x7351);
    q[2] = __byte_perm(w.y, w.w, 0x6240);
    q[3] = __byte_perm(w.y, w.w, 0x7351);
    transposeQuad(q);
}

//! int8: sub-tile k's words are (w[k / 2].x, .y) or (.z, .w), registers 0, 1 in the first and 2, 3 in the second, so
//! what lane d needs for c = 0 is word d of w[0], for c = 1 word d of w[1] (q0[s], q1[s]: natural sub-tile s).
__device__ __forceinline__ void int8ToNaturalK(uint4 const (&w)[2], uint32_t (&q0)[4], uint32_t (&q1)[4])
{
    q0[0] = w[0].x;
    q0[1] = w[0].y;
    q0[2] = w[0].z;
    q0[3] = w[0].w;
    q1[0] = w[1].x;
    q1[1] = w[1].y;
    q1[2] = w[1].z;
    q1[3] = w[1].w;
    transposeQuad(q0);
    transposeQuad(q1);
}

//! A consumer warp's share of the tile in `slot` (landed): its 16 rows dequantized with their scales into the four
//! sub-tiles' A fragments, in natural K order.
template<typename T, int kTM, int kWG, int kBits>
__device__ __forceinline__ void dequantizeTile(Shared<kTM, kWG, kBits>& s, int slot, int warp, uint32_t (&a)[4][4])
{
    constexpr uint32_t kNegZero = 0x80008000U;
    int const lane = threadIdx.x & 31;
    unsigned short const* row = s.scales[slot] + warp * 16 + (lane >> 2);
    uint32_t const s0 = pairOf(row[0]);
    uint32_t const s1 = pairOf(row[8]);
    uint4 w[kBits / 4];
#pragma unroll
    for (int ch = 0; ch < kBits / 4; ++ch)
    {
        w[ch] = s.w[slot][(warp * (kBits / 4) + ch) * 32 + lane];
    }
    uint32_t q[4]; // the packed words in natural K order (int8: q holds the first word of each sub-tile)
    uint32_t q1[4];
    if constexpr (kBits == 4)
    {
        int4ToNaturalK(w[0], q);
    }
    else
    {
        int8ToNaturalK(w, q, q1);
    }
#pragma unroll
    for (int k = 0; k < 4; ++k)
    {
        if constexpr (kBits == 4)
        {
            woq::dequantInt4<T>(q[k], a[k]);
        }
        else
        {
            woq::dequantInt8<T>(q[k], q1[k], a[k]);
        }
        a[k][0] = woq::fma2<T>(a[k][0], s0, kNegZero); // rows gid: registers 0, 2; rows gid + 8: 1, 3
        a[k][1] = woq::fma2<T>(a[k][1], s1, kNegZero);
        a[k][2] = woq::fma2<T>(a[k][2], s0, kNegZero);
        a[k][3] = woq::fma2<T>(a[k][3], s1, kNegZero);
    }
}

//! The ring position `steps` tiles after `pos`.
template<int kStages>
__device__ __forceinline__ bulk::RingPosition advanced(bulk::RingPosition pos, int steps)
{
    for (int i = 0; i < steps; ++i)
    {
        pos.advance<kStages>();
    }
    return pos;
}

//! One step of a consumer warpgroup: issue the four wgmma of the tile at `pos` (dequantized in `a`), dequantize this
//! part's next tile (at `next`) into `b` while they run (where `more`), wait for them, release the slot. The fence on
//! `a` after the wait keeps `a` allocated until then, so ptxas cannot give `b` the registers the running wgmma read.
template<typename T, int kTM, int kWG, int kBits>
__device__ __forceinline__ void multiplyTile(Shared<kTM, kWG, kBits>& s, bulk::RingPosition pos,
    bulk::RingPosition next, bool more, uint32_t (&a)[4][4], uint32_t (&b)[4][4], float (&acc)[kTM / 2], int warp)
{
    // sub-tile k starts 32 bytes (2 in the address field) further; the field's low 6 bits of a 1024-byte aligned stage
    // are 0, so an OR, which leaves the descriptor's high word alone
    uint64_t const x = swizzle128Descriptor(bulk::sharedAddress(s.x[pos.slot]));
#pragma unroll
    for (int i = 0; i < kTM / 2; ++i)
    {
        cute::warpgroup_fence_operand(acc[i]);
    }
    cute::warpgroup_arrive();
#pragma unroll
    for (int k = 0; k < 4; ++k)
    {
        wgmma<WgmmaOp<T, kTM>>(a[k], x | (2 * k), acc, std::make_index_sequence<kTM / 2>{});
    }
    cute::warpgroup_commit_batch();
    if (more)
    {
        bulk::barrierWait(&s.full[next.slot], next.phase);
        dequantizeTile<T>(s, next.slot, warp, b);
    }
    cute::warpgroup_wait<0>();
#pragma unroll
    for (int i = 0; i < kTM / 2; ++i)
    {
        cute::warpgroup_fence_operand(acc[i]);
    }
#pragma unroll
    for (int k = 0; k < 4; ++k)
    {
#pragma unroll
        for (int r = 0; r < 4; ++r)
        {
            cute::warpgroup_fence_operand(a[k][r]);
        }
    }
    __syncwarp();
    if ((threadIdx.x & 31) == 0)
    {
        bulk::barrierArrive(&s.empty[pos.slot]);
    }
}

//! The CTA of a K-split cluster that adds up and stores the token group j (8 tokens) of the tile: groups are dealt to
//! the gridDim.z CTAs in runs as equal as can be (gridDim.z ≤ 8 ≤ kTM / 8); 0 for all groups without a split.
template<int kTM>
__device__ __forceinline__ uint32_t ownerOf(int j)
{
    return static_cast<uint32_t>(j) * gridDim.z / (kTM / 8);
}

//! This CTA's rank in its cluster (blockIdx.z: clusters span z).
__device__ __forceinline__ uint32_t clusterRank()
{
    uint32_t rank = 0;
    asm("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
    return rank;
}

//! Split K: every CTA of the cluster leaves its sums in its shared memory (`buffer`, the ring's x stages, free by now),
//! then adds the other CTAs' sums of the token groups it owns (ownerOf) to its own through distributed shared memory,
//! 16 bytes per load, each CTA starting at the next rank. (The producer warps take part in the two cluster barriers.)
template<int kTM, int kWG>
__device__ __forceinline__ void reduceSplitK(float4* buffer, float (&acc)[kTM / 2], uint32_t rank)
{
    constexpr int kConsumers = 128 * kWG; // part 0's (the other parts join the two cluster barriers only)
    asm volatile("bar.sync 1, %0;" ::"n"(kConsumers) : "memory"); // every warpgroup's wgmma is done with the ring
#pragma unroll
    for (int j = 0; j < kTM / 8; ++j)
    {
        buffer[j * kConsumers + threadIdx.x] = make_float4(acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3]);
    }
    clusterSync();
    for (uint32_t step = 1; step < gridDim.z; ++step)
    {
        uint32_t const other = (rank + step) % gridDim.z;
        uint32_t remote = 0;
        asm("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(bulk::sharedAddress(buffer)), "r"(other));
#pragma unroll
        for (int j = 0; j < kTM / 8; ++j)
        {
            if (ownerOf<kTM>(j) == rank)
            {
                float4 v;
                asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];"
                    : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
                    : "r"(remote + 16U * (j * kConsumers + threadIdx.x))
                    : "memory");
                acc[4 * j] += v.x;
                acc[4 * j + 1] += v.y;
                acc[4 * j + 2] += v.z;
                acc[4 * j + 3] += v.w;
            }
        }
    }
    clusterSync(); // the others have read this CTA's shared memory: it may exit
}

//! The other parts' sums (in parts > 0) added to part 0's through shared memory (`buffer`, the ring's x stages, free
//! once every consumer has passed the first barrier). Each thread of part 0 reads the slots that the threads of the
//! same place in the other parts wrote.
template<int kTM, int kWG, int kParts>
__device__ __forceinline__ void reduceParts(float4* buffer, float (&acc)[kTM / 2], int part)
{
    constexpr int kPartThreads = 128 * kWG;
    constexpr int kConsumers = kParts * kPartThreads;
    int const i = threadIdx.x % kPartThreads;
    asm volatile("bar.sync 2, %0;" ::"n"(kConsumers) : "memory"); // every part's wgmma is done with the ring
#pragma unroll
    for (int j = 0; j < kTM / 8; ++j)
    {
        if (part > 0)
        {
            buffer[((part - 1) * (kTM / 8) + j) * kPartThreads + i]
                = make_float4(acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3]);
        }
    }
    asm volatile("bar.sync 2, %0;" ::"n"(kConsumers) : "memory");
    for (int q = 1; q < kParts && part == 0; ++q)
    {
#pragma unroll
        for (int j = 0; j < kTM / 8; ++j)
        {
            float4 const v = buffer[((q - 1) * (kTM / 8) + j) * kPartThreads + i];
            acc[4 * j] += v.x;
            acc[4 * j + 1] += v.y;
            acc[4 * j + 2] += v.z;
            acc[4 * j + 3] += v.w;
        }
    }
}

//! A consumer warpgroup: its four strips × the CTA's kTM tokens over its part's K tiles; then the parts' and the
//! cluster's sums meet and part 0 stores y = acc + bias.
template<typename T, int kTM, int kWG, int kBits>
__device__ __forceinline__ void consume(Params const& p, Shared<kTM, kWG, kBits>& s, int consumerWarp)
{
    using C = Config<kTM, kWG, kBits>;
    constexpr int kParts = C::kParts;
    static_assert((kParts - 1) * kTM / 2 * C::kPartThreads * 4 <= C::kStages * C::kXBytes, "reduceParts' buffer");
    // warp-uniform to the compiler (0 with one part; a broadcast otherwise), so the ring positions and the wgmma
    // descriptors stay in uniform registers
    int const part = kParts > 1 ? __shfl_sync(0xffffffffU, consumerWarp / (4 * kWG), 0) : 0;
    int const warp = consumerWarp % (4 * kWG); // the warp's strip of the CTA
    int const lane = threadIdx.x & 31;
    int const gid = lane >> 2;
    int const tig = lane & 3;
    int const f0 = (blockIdx.x * C::kStrips + warp) * 16 + gid; // the lane's features f0 and f0 + 8
    float acc[kTM / 2] = {};
    TileRange const range(p.tiles); // not empty: the K split is at most one CTA per tile (a part's may be)
    bulk::RingPosition pos = advanced<C::kStages>(bulk::RingPosition{}, part);
    uint32_t a[2][4][4]; // two tiles' fragments: one multiplied while the next is dequantized
    if (range.begin + part < range.end)
    {
        bulk::barrierWait(&s.full[pos.slot], pos.phase);
        dequantizeTile<T>(s, pos.slot, warp, a[0]);
    }
    for (int t = range.begin + part; t < range.end; t += 2 * kParts)
    {
        bulk::RingPosition next = advanced<C::kStages>(pos, kParts);
        multiplyTile<T>(s, pos, next, t + kParts < range.end, a[0], a[1], acc, warp);
        pos = next;
        if (t + kParts >= range.end)
        {
            break;
        }
        next = advanced<C::kStages>(pos, kParts);
        multiplyTile<T>(s, pos, next, t + 2 * kParts < range.end, a[1], a[0], acc, warp);
        pos = next;
    }
    if constexpr (kParts > 1)
    {
        reduceParts<kTM, kWG, kParts>(reinterpret_cast<float4*>(s.x), acc, part);
        if (part > 0)
        {
            if (gridDim.z > 1)
            {
                clusterSync(); // reduceSplitK's two barriers
                clusterSync();
            }
            return;
        }
    }
    uint32_t const rank = gridDim.z > 1 ? clusterRank() : 0;
    if (gridDim.z > 1)
    {
        reduceSplitK<kTM, kWG>(reinterpret_cast<float4*>(s.x), acc, rank);
    }
    T const* bias = static_cast<T const*>(p.bias);
    float const b0 = bias != nullptr ? toFloat<T>(bias[f0]) : 0.F;
    float const b1 = bias != nullptr ? toFloat<T>(bias[f0 + 8]) : 0.F;
    T* y = static_cast<T*>(p.y);
    int64_t const token0 = static_cast<int64_t>(blockIdx.y) * kTM;
#pragma unroll
    for (int j = 0; j < kTM / 8; ++j)
    {
#pragma unroll
        for (int c = 0; c < 2; ++c)
        {
            int64_t const token = token0 + 8 * j + 2 * tig + c;
            if (token < p.m && ownerOf<kTM>(j) == rank)
            {
                y[token * p.n + f0] = fromFloat<T>(acc[4 * j + c] + b0);
                y[token * p.n + f0 + 8] = fromFloat<T>(acc[4 * j + 2 + c] + b1);
            }
        }
    }
}
#endif

template<typename T, int kTM, int kWG, int kBits>
__global__ void __launch_bounds__(Config<kTM, kWG, kBits>::kThreads, Config<kTM, kWG, kBits>::kCtasPerSm)
    woqWgmmaKernel(Params const p, __grid_constant__ TensorMaps const maps)
{
#ifdef __CUDA_ARCH__
    using C = Config<kTM, kWG, kBits>;
    extern __shared__ unsigned char raw[];
    uint32_t const misalign = bulk::sharedAddress(raw) & 1023U;
    auto& s = *reinterpret_cast<Shared<kTM, kWG, kBits>*>(raw + ((1024U - misalign) & 1023U));
    if (threadIdx.x == 0)
    {
        for (int i = 0; i < C::kStages; ++i)
        {
            bulk::barrierInit(&s.full[i], 1);
            bulk::barrierInit(&s.empty[i], 4 * kWG);
        }
        bulk::fenceBarrierInit();
    }
    __syncthreads();
    if (threadIdx.x >= C::kConsumerThreads)
    {
        if constexpr (C::kMoveRegisters)
        {
            asm volatile("setmaxnreg.dec.sync.aligned.u32 104;" ::: "memory");
        }
        if (threadIdx.x == C::kConsumerThreads)
        {
            produce<kTM, kWG, kBits>(p, maps, s);
        }
        __syncwarp(); // the cluster barriers are .aligned: the producer's warp reconverges first
        if (gridDim.z > 1)
        {
            clusterSync(); // reduceSplitK's two barriers
            clusterSync();
        }
    }
    else
    {
        if constexpr (C::kMoveRegisters)
        {
            static_assert(kWG == 2, "104 + 2 · 200 registers per thread of a warpgroup fit the register file");
            asm volatile("setmaxnreg.inc.sync.aligned.u32 200;" ::: "memory");
        }
        consume<T, kTM, kWG, kBits>(p, s, threadIdx.x / 32);
    }
    __syncthreads(); // the producer thread, whose tensor copies fill the ring, stays until the consumers are done
#endif
}

//! Per device, cached: the CTAs of this kernel that fit on the GPU at once where it runs there (compute capability 9.0
//! with this library's sm_90a code; its shared memory raised), else 0 (also on error).
template<typename T, int kTM, int kWG, int kBits>
int wgmmaResidentCtas(int device)
{
    using C = Config<kTM, kWG, kBits>;
    static PerDeviceCache cache;
    return cache.get(device,
        [](int d)
        {
            auto const kernel = woqWgmmaKernel<T, kTM, kWG, kBits>;
            cudaFuncAttributes attr{};
            return computeCapability(d) == 90 && cudaFuncGetAttributes(&attr, kernel) == cudaSuccess
                ? residentCtas(kernel, C::kThreads, C::kSharedBytes, d)
                : 0;
        });
}

//! A launch of `grid` CTAs of this kernel in clusters of grid.z CTAs along z (`cluster` holds the attribute).
template<int kTM, int kWG, int kBits>
cudaLaunchConfig_t launchConfig(dim3 grid, cudaLaunchAttribute& cluster, cudaStream_t stream)
{
    using C = Config<kTM, kWG, kBits>;
    cluster = {};
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = 1;
    cluster.val.clusterDim.y = 1;
    cluster.val.clusterDim.z = grid.z;
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = dim3(C::kThreads);
    config.dynamicSmemBytes = C::kSharedBytes;
    config.stream = stream;
    config.attrs = &cluster;
    config.numAttrs = 1;
    return config;
}

//! Per device, cached: clusters of `z` CTAs of this kernel (z = 2 … 8 along grid z) that run on the GPU at once (a
//! cluster's CTAs share one GPC, so this can be fewer than resident CTAs / z); 0 where it cannot run or on error.
template<typename T, int kTM, int kWG, int kBits>
int activeClusters(int device, int z)
{
    static PerDeviceCache caches[7];                        // z = 2 … 8
    if (wgmmaResidentCtas<T, kTM, kWG, kBits>(device) == 0) // (also raises the kernel's shared-memory limit)
    {
        return 0;
    }
    return caches[z - 2].get(device,
        [z](int /*d: current*/)
        {
            cudaLaunchAttribute cluster{};
            cudaLaunchConfig_t const config
                = launchConfig<kTM, kWG, kBits>(dim3(1, 1, static_cast<unsigned>(z)), cluster, nullptr);
            int clusters = 0;
            return cudaOccupancyMaxActiveClusters(&clusters, woqWgmmaKernel<T, kTM, kWG, kBits>, &config) == cudaSuccess
                ? clusters
                : 0;
        });
}

//! cuTensorMapEncodeTiled, looked up in the driver once (the library links the runtime only); null if unavailable.
PFN_cuTensorMapEncodeTiled_v12000 tensorMapEncoder()
{
    static PFN_cuTensorMapEncodeTiled_v12000 const encode = []
    {
        void* fn = nullptr;
        cudaDriverEntryPointQueryResult found{};
#if CUDART_VERSION >= 12050
        cudaError_t const err
            = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
#else
        cudaError_t const err = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &fn, cudaEnableDefault, &found);
#endif
        cudaGetLastError(); // a failed lookup leaves no error behind for the caller
        return err == cudaSuccess && found == cudaDriverEntryPointSuccess
            ? reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn)
            : nullptr;
    }();
    return encode;
}

//! A row-major 2D tensor map: `rows` × `columns` elements of `type`, rows `rowBytes` apart, copied in boxes of
//! `box[0]` columns × `box[1]` rows; rows past the end read as zeros. False where the driver cannot make it.
bool tensorMap2d(CUtensorMap& map, CUtensorMapDataType type, void const* base, int64_t columns, int64_t rows,
    int64_t rowBytes, std::array<cuuint32_t, 2> box, CUtensorMapSwizzle swizzle)
{
    auto const encode = tensorMapEncoder();
    cuuint64_t const dims[2] = {static_cast<cuuint64_t>(columns), static_cast<cuuint64_t>(rows)};
    cuuint64_t const strides[1] = {static_cast<cuuint64_t>(rowBytes)};
    cuuint32_t const elementStrides[2] = {1, 1};
    return encode != nullptr
        && encode(&map, type, 2, const_cast<void*>(base), dims, strides, box.data(), elementStrides,
               CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
               CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
        == CUDA_SUCCESS;
}

//! The stage copies' tensor maps: x (kTM × 64 boxes, swizzled for wgmma), the packed weights (a strip's tiles are one
//! row of 32-bit words: one tile of the CTA's strips per box) and the scales (one row of the CTA's features).
template<int kTM, int kWG, int kBits>
bool makeTensorMaps(Params const& p, TensorMaps& maps)
{
    using C = Config<kTM, kWG, kBits>;
    constexpr int kTileU32 = C::kTileWords * 4;
    int64_t const scaleRows = ((p.tiles - 1) >> p.groupShift) + 1;
    return tensorMap2d(maps.x, CU_TENSOR_MAP_DATA_TYPE_UINT16, p.x, p.k, p.m, int64_t{p.k} * 2, {woq::kBlockK, kTM},
               CU_TENSOR_MAP_SWIZZLE_128B)
        && tensorMap2d(maps.w, CU_TENSOR_MAP_DATA_TYPE_UINT32, p.w, int64_t{p.tiles} * kTileU32, p.strips,
            int64_t{p.tiles} * kTileU32 * 4, {kTileU32, C::kStrips}, CU_TENSOR_MAP_SWIZZLE_NONE)
        && tensorMap2d(maps.scales, CU_TENSOR_MAP_DATA_TYPE_UINT16, p.scales, p.n, scaleRows, int64_t{p.n} * 2,
            {C::kStrips * 16, 1}, CU_TENSOR_MAP_SWIZZLE_NONE);
}

//! One launch; K is split over a cluster of 2 … 8 CTAs, the most with which all the clusters run on the GPU at once
//! (any size, not only powers of two: on an H200, 32 tiles of 128 features fit as 32 clusters of 3 but not of 4).
template<typename T, int kTM, int kWG, int kBits>
cudaError_t launch(Params const& p, int device, cudaStream_t stream)
{
    using C = Config<kTM, kWG, kBits>;
    int const resident = wgmmaResidentCtas<T, kTM, kWG, kBits>(device);
    TensorMaps maps;
    if (p.strips % C::kStrips != 0 || resident == 0 || !makeTensorMaps<kTM, kWG, kBits>(p, maps))
    {
        return cudaErrorNotSupported;
    }
    dim3 grid(p.strips / C::kStrips, static_cast<unsigned>((p.m + kTM - 1) / kTM), 1);
    int64_t const ctas = static_cast<int64_t>(grid.x) * grid.y;
    for (int z = std::min(8, p.tiles); z >= 2 && grid.z == 1; --z)
    {
        if (ctas <= activeClusters<T, kTM, kWG, kBits>(device, z))
        {
            grid.z = static_cast<unsigned>(z);
        }
    }
    cudaLaunchAttribute cluster{};
    cudaLaunchConfig_t const config = launchConfig<kTM, kWG, kBits>(grid, cluster, stream);
    return cudaLaunchKernelEx(&config, woqWgmmaKernel<T, kTM, kWG, kBits>, p, maps);
}

template<typename T, int kBits>
cudaError_t launchForM(Params const& p, int device, cudaStream_t stream)
{
    if (p.m <= 64)
    {
        return launch<T, 64, 2, kBits>(p, device, stream);
    }
    // one consumer warpgroup per CTA, two CTAs per SM: on an H200 2-5 % faster here than two warpgroups in one CTA,
    // 1-7 % slower for 64 tokens (benchmarks/results/woq_wgmma_one_warpgroup_h200.log)
    if (p.m <= 128)
    {
        return launch<T, 128, 1, kBits>(p, device, stream);
    }
    return launch<T, 256, 2, kBits>(p, device, stream);
}

template<typename T>
cudaError_t launchForBits(int32_t bits, Params const& p, int device, cudaStream_t stream)
{
    return bits == 4 ? launchForM<T, 4>(p, device, stream) : launchForM<T, 8>(p, device, stream);
}
} // namespace

cudaError_t launchWoqWgmmaSm90(ElemType type, int32_t bits, woq::Params const& p, cudaStream_t stream)
{
    bool const aligned = reinterpret_cast<uintptr_t>(p.x) % 16 == 0 && reinterpret_cast<uintptr_t>(p.w) % 16 == 0
        && reinterpret_cast<uintptr_t>(p.scales) % 16 == 0;
    int const device = currentDevice();
    if (p.m < kWgmmaMinTokens || p.n % 128 != 0 || p.k % woq::kBlockK != 0 || !aligned || (bits != 4 && bits != 8)
        || device < 0)
    {
        return cudaErrorNotSupported;
    }
    return woq::forHalfType(
        type, cudaErrorNotSupported, [&](auto t) { return launchForBits<decltype(t)>(bits, p, device, stream); });
}
} // namespace trt_helper
