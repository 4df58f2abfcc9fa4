// WeightOnlyGemm for 64 and more tokens on Hopper (sm_90a): wgmma with the dequantized weights as the register A
// operand.
//
// yᵀ = W xᵀ with the weights in the 64-row M slot of wgmma.m64nNk16 and kTM tokens in its N slot, so every weight is
// dequantized once per CTA and multiplied with all kTM tokens by the tensor cores (the register kernel repeats the
// dequantization for every 32 tokens, and its mma.m16n8k16 has 8 tokens per instruction). The packed layout already
// holds each lane's mma.m16n8k16 A fragments, which is also the wgmma register-fragment layout of one warp's 16 rows:
// a warpgroup takes four strips (64 output features), each warp its own strip's tile, dequantizes it with the scale
// applied ((q − zero) · s rounded once to T) and issues four wgmma (one per 16-column sub-tile) against x in shared
// memory. A CTA is kWG consumer warpgroups (64 · kWG features) and one producer warpgroup that fills a ring of stages,
// one 64-column tile of K each: one thread bulk-copies the CTA's weight tiles and the tile's scale row
// (cp.async.bulk), and 4-byte cp.async copies bring the kTM × 64 slice of x with the tile's K permutation undone
// (trt_helper/quant/woq_layout.py: a lane's fragment column kk of sub-tile s is tile column
// 16·tig + 4·s + (kk & 1) + 2·(kk ≥ 8)) into the 128-byte-swizzled K-major layout wgmma reads. The accumulators are
// final (the scale is in the weights); the bias is added when they are stored. Grid: (features / (64 · kWG), token
// tiles, K split); no workspace, no host synchronisation.
#include "woqWgmmaSm90.h"

#include "bulkCopySm90.cuh"
#include "deviceCache.h"

#include <cute/arch/mma_sm90.hpp>
#include <cute/numeric/numeric_types.hpp>

#include <algorithm>
#include <utility>

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "woqWgmmaSm90.cu is sm_90a code (wgmma, setmaxnreg): compile it for arch=compute_90a,code=sm_90a only"
#endif

namespace trt_helper
{
namespace
{
using woq::Params;

constexpr int kProducerWarps = 4;            //!< one warpgroup (registers are allocated per warpgroup)
constexpr int kSharedBudget = 200 * 1024;    //!< ring bytes per CTA (one CTA per SM at the largest tiles)
constexpr int kXRowBytes = woq::kBlockK * 2; //!< one token's 64 columns of a stage: one 128-byte swizzle row

template<int kTM, int kWG, int kBits>
struct Config
{
    static constexpr int kStrips = 4 * kWG;                   //!< 16-feature strips per CTA
    static constexpr int kTileWords = 32 * kBits / 4;         //!< 16-byte words of one packed tile
    static constexpr int kXBytes = kTM * kXRowBytes;          //!< x of one stage (a multiple of 1024)
    static constexpr int kWBytes = kStrips * kTileWords * 16; //!< weights of one stage
    static constexpr int kStages = std::min(8, kSharedBudget / (kXBytes + kWBytes));
    static constexpr int kThreads = 128 * kWG + 32 * kProducerWarps;
    static constexpr int kProducers = 32 * kProducerWarps;
    //! m64n256 needs more registers than an even split gives: the producers hand theirs to the consumers
    static constexpr bool kMoveRegisters = kTM == 256;
    static constexpr int kScaleBytes = kStrips * 16 * 2; //!< one scale row of the CTA's features
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
    uint64_t full[C::kStages];
    uint64_t empty[C::kStages];
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

//! The producer warps: per tile, wait for the slot, bulk-copy the CTA's weight tiles (thread 0) and copy x's kTM
//! rows into the natural-K swizzled layout with 4-byte cp.async (warp w: rows w, w + kProducerWarps, …); nothing
//! waits for a copy here, the stage's barrier completes when all have landed.
template<int kTM, int kWG, int kBits>
__device__ __forceinline__ void produce(Params const& p, Shared<kTM, kWG, kBits>& s, int pt)
{
    using C = Config<kTM, kWG, kBits>;
    int const strip0 = blockIdx.x * C::kStrips;
    int64_t const token0 = static_cast<int64_t>(blockIdx.y) * kTM;
    auto const* x = static_cast<unsigned short const*>(p.x);
    int const warp = pt >> 5;
    int const lane = pt & 31;
    TileRange const range(p.tiles);
    bulk::RingPosition pos;
    for (int t = range.begin; t < range.end; ++t, pos.advance<C::kStages>())
    {
        bulk::barrierWait(&s.empty[pos.slot], pos.phase ^ 1);
        if (pt == 0)
        {
            bulk::barrierArriveExpect(&s.full[pos.slot], C::kWBytes + C::kScaleBytes);
            bulk::bulkCopy(s.scales[pos.slot],
                static_cast<unsigned short const*>(p.scales) + static_cast<int64_t>(t >> p.groupShift) * p.n
                    + strip0 * 16,
                C::kScaleBytes, &s.full[pos.slot]);
#pragma unroll
            for (int j = 0; j < C::kStrips; ++j)
            {
                bulk::bulkCopy(s.w[pos.slot] + j * C::kTileWords,
                    p.w + (static_cast<int64_t>(strip0 + j) * p.tiles + t) * C::kTileWords, C::kTileWords * 16,
                    &s.full[pos.slot]);
            }
        }
        // natural row `row` of the stage, 16-byte chunk c = 4b + i, word q = tile column pair 8·(2q + b) + 2i (the
        // layout's K permutation undone): lane (q, c) of a warp copies one word, so a warp copies one row's 128
        // contiguous bytes into one 128-byte shared row (swizzled: chunk c at c ^ (row % 8))
        uint32_t const stage = bulk::sharedAddress(s.x[pos.slot]);
        int const q = lane >> 3;
        int const c = lane & 7;
        int const column = t * woq::kBlockK + (2 * q + (c >> 2)) * 8 + 2 * (c & 3);
#pragma unroll 4
        for (int row = warp; row < kTM; row += kProducerWarps)
        {
            bool const valid = token0 + row < p.m;
            bulk::copy4(stage + row * kXRowBytes + ((c ^ (row & 7)) << 4) + 4 * q,
                x + (valid ? token0 + row : 0) * p.k + column, valid);
        }
        bulk::copy4Arrive(&s.full[pos.slot]);
    }
}

//! One tile of a consumer warpgroup: dequantize it (scaled) into registers, issue its four wgmma and wait for them (the
//! next tile's registers must not be written while they read these: ptxas may reuse them), release the slot.
template<typename T, int kTM, int kWG, int kBits>
__device__ __forceinline__ void consumeTile(
    Shared<kTM, kWG, kBits>& s, int slot, uint32_t s0, uint32_t s1, float (&acc)[kTM / 2], int warp)
{
    constexpr uint32_t kNegZero = 0x80008000U;
    int const lane = threadIdx.x & 31;
    uint4 w[kBits / 4];
#pragma unroll
    for (int ch = 0; ch < kBits / 4; ++ch)
    {
        w[ch] = s.w[slot][(warp * (kBits / 4) + ch) * 32 + lane];
    }
    uint32_t a[4][4];
#pragma unroll
    for (int k = 0; k < 4; ++k)
    {
        woq::fragment<T, kBits>(w, k, a[k]);
        a[k][0] = woq::fma2<T>(a[k][0], s0, kNegZero); // rows gid: registers 0, 2; rows gid + 8: 1, 3
        a[k][1] = woq::fma2<T>(a[k][1], s1, kNegZero);
        a[k][2] = woq::fma2<T>(a[k][2], s0, kNegZero);
        a[k][3] = woq::fma2<T>(a[k][3], s1, kNegZero);
    }
    uint32_t const x = bulk::sharedAddress(s.x[slot]);
#pragma unroll
    for (int i = 0; i < kTM / 2; ++i)
    {
        cute::warpgroup_fence_operand(acc[i]);
    }
    cute::warpgroup_arrive();
#pragma unroll
    for (int k = 0; k < 4; ++k)
    {
        wgmma<WgmmaOp<T, kTM>>(a[k], swizzle128Descriptor(x + 32 * k), acc, std::make_index_sequence<kTM / 2>{});
    }
    cute::warpgroup_commit_batch();
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
    if (lane == 0)
    {
        bulk::barrierArrive(&s.empty[slot]);
    }
}

//! Split K: the consumers of the cluster's other CTAs leave their sums in their shared memory (`buffer`, the ring's x
//! stages, free by now), the first CTA adds them to its own through distributed shared memory. True in the first CTA.
//! (The producer warps take part in the two cluster barriers too.)
template<int kTM, int kWG>
__device__ __forceinline__ bool reduceSplitK(float* buffer, float (&acc)[kTM / 2])
{
    constexpr int kConsumers = 128 * kWG;
    uint32_t rank = 0;
    asm("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
    asm volatile("bar.sync 1, %0;" ::"n"(kConsumers) : "memory"); // every warpgroup's wgmma is done with the ring
    if (rank != 0)
    {
#pragma unroll
        for (int i = 0; i < kTM / 2; ++i)
        {
            buffer[i * kConsumers + threadIdx.x] = acc[i];
        }
    }
    clusterSync();
    if (rank == 0)
    {
        for (uint32_t r = 1; r < gridDim.z; ++r)
        {
            uint32_t remote = 0;
            asm("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(bulk::sharedAddress(buffer)), "r"(r));
#pragma unroll
            for (int i = 0; i < kTM / 2; ++i)
            {
                float v = 0.F;
                asm volatile("ld.shared::cluster.f32 %0, [%1];"
                    : "=f"(v)
                    : "r"(remote + 4U * (i * kConsumers + threadIdx.x))
                    : "memory");
                acc[i] += v;
            }
        }
    }
    clusterSync(); // the first CTA has read the others' shared memory: they may exit
    return rank == 0;
}

//! A consumer warpgroup: its four strips × the CTA's kTM tokens over all of K, then y = acc + bias.
template<typename T, int kTM, int kWG, int kBits>
__device__ __forceinline__ void consume(Params const& p, Shared<kTM, kWG, kBits>& s, int warp)
{
    using C = Config<kTM, kWG, kBits>;
    int const lane = threadIdx.x & 31;
    int const gid = lane >> 2;
    int const tig = lane & 3;
    int const f0 = (blockIdx.x * C::kStrips + warp) * 16 + gid; // the lane's features f0 and f0 + 8
    float acc[kTM / 2] = {};
    TileRange const range(p.tiles);
    bulk::RingPosition pos;
    for (int t = range.begin; t < range.end; ++t, pos.advance<C::kStages>())
    {
        bulk::barrierWait(&s.full[pos.slot], pos.phase);
        unsigned short const* row = s.scales[pos.slot] + warp * 16 + gid;
        consumeTile<T>(s, pos.slot, pairOf(row[0]), pairOf(row[8]), acc, warp);
    }
    if (gridDim.z > 1 && !reduceSplitK<kTM, kWG>(reinterpret_cast<float*>(s.x), acc))
    {
        return; // not the cluster's first CTA: its sums went to that one
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
            if (token < p.m)
            {
                y[token * p.n + f0] = fromFloat<T>(acc[4 * j + c] + b0);
                y[token * p.n + f0 + 8] = fromFloat<T>(acc[4 * j + 2 + c] + b1);
            }
        }
    }
}
#endif

template<typename T, int kTM, int kWG, int kBits>
__global__ void __launch_bounds__(Config<kTM, kWG, kBits>::kThreads, 1) woqWgmmaKernel(Params const p)
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
            bulk::barrierInit(&s.full[i], C::kProducers + 1);
            bulk::barrierInit(&s.empty[i], 4 * kWG);
        }
        bulk::fenceBarrierInit();
    }
    __syncthreads();
    int const warpgroup = threadIdx.x / 128;
    if (warpgroup == kWG)
    {
        if constexpr (C::kMoveRegisters)
        {
            asm volatile("setmaxnreg.dec.sync.aligned.u32 104;" ::: "memory");
        }
        produce<kTM, kWG, kBits>(p, s, threadIdx.x - 128 * kWG);
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

//! One launch; K is split over a cluster of 2, 4 or 8 CTAs where that keeps all CTAs on the GPU at once and brings
//! their count closer to what fits.
template<typename T, int kTM, int kWG, int kBits>
cudaError_t launch(Params const& p, int device, cudaStream_t stream)
{
    using C = Config<kTM, kWG, kBits>;
    int const resident = wgmmaResidentCtas<T, kTM, kWG, kBits>(device);
    if (p.strips % C::kStrips != 0 || resident == 0)
    {
        return cudaErrorNotSupported;
    }
    dim3 grid(p.strips / C::kStrips, static_cast<unsigned>((p.m + kTM - 1) / kTM), 1);
    int64_t const ctas = static_cast<int64_t>(grid.x) * grid.y;
    while (grid.z < 8 && ctas * grid.z * 2 <= resident && static_cast<int>(grid.z) * 2 <= p.tiles)
    {
        grid.z *= 2;
    }
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = dim3(C::kThreads);
    config.dynamicSmemBytes = C::kSharedBytes;
    config.stream = stream;
    cudaLaunchAttribute cluster{};
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = 1;
    cluster.val.clusterDim.y = 1;
    cluster.val.clusterDim.z = grid.z;
    config.attrs = &cluster;
    config.numAttrs = 1;
    return cudaLaunchKernelEx(&config, woqWgmmaKernel<T, kTM, kWG, kBits>, p);
}

template<typename T, int kBits>
cudaError_t launchForM(Params const& p, int device, cudaStream_t stream)
{
    if (p.m <= 64)
    {
        return launch<T, 64, 2, kBits>(p, device, stream);
    }
    if (p.m <= 128)
    {
        return launch<T, 128, 2, kBits>(p, device, stream);
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
    bool const aligned = reinterpret_cast<uintptr_t>(p.x) % 4 == 0 && reinterpret_cast<uintptr_t>(p.w) % 16 == 0
        && reinterpret_cast<uintptr_t>(p.scales) % 16 == 0;
    int const device = currentDevice();
    if (p.m < kWgmmaMinTokens || p.n < kWgmmaMinFeatures || p.n % 128 != 0 || p.k % woq::kBlockK != 0 || !aligned
        || (bits != 4 && bits != 8) || device < 0)
    {
        return cudaErrorNotSupported;
    }
    return woq::forHalfType(
        type, cudaErrorNotSupported, [&](auto t) { return launchForBits<decltype(t)>(bits, p, device, stream); });
}
} // namespace trt_helper
