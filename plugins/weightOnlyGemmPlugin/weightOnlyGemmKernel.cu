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
#include "kernelCommon.cuh"
#include "weightOnlyGemmKernel.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <utility>

namespace trt_helper
{
namespace
{
constexpr int kMaxWarps = 16;
constexpr int kBlockK = 64;

//! The 16-bit pattern of a scale as the element type T.
template<typename T>
__device__ __forceinline__ T fromBits(unsigned short v);
template<>
__device__ __forceinline__ __half fromBits<__half>(unsigned short v)
{
    return __ushort_as_half(v);
}
template<>
__device__ __forceinline__ __nv_bfloat16 fromBits<__nv_bfloat16>(unsigned short v)
{
    return __ushort_as_bfloat16(v);
}

//! a·b + c on two packed 16-bit lanes (the type's fma: fp16 or bf16).
template<typename T>
__device__ __forceinline__ uint32_t fma2(uint32_t a, uint32_t b, uint32_t c);
template<>
__device__ __forceinline__ uint32_t fma2<__half>(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
    asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}
template<>
__device__ __forceinline__ uint32_t fma2<__nv_bfloat16>(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

//! (a & b) | c in one LOP3 (with two constant operands the compiler emits two).
__device__ __forceinline__ uint32_t andOr(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t d;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

//! One 32-bit word of int4 (nibbles a0 a2 a4 a6 a1 a3 a5 a7, biased by 8) → the four A-fragment registers.
template<typename T>
__device__ __forceinline__ void dequantInt4(uint32_t w, uint32_t (&a)[4]);
template<>
__device__ __forceinline__ void dequantInt4<__half>(uint32_t w, uint32_t (&a)[4])
{
    // low nibble: 1024 + u, minus 1032; high nibble: 1024 + 16u, times 1/16 minus 72.
    a[0] = fma2<__half>(andOr(w, 0x000F000FU, 0x64006400U), 0x3C003C00U, 0xE408E408U);
    a[1] = fma2<__half>(andOr(w, 0x00F000F0U, 0x64006400U), 0x2C002C00U, 0xD480D480U);
    w >>= 8;
    a[2] = fma2<__half>(andOr(w, 0x000F000FU, 0x64006400U), 0x3C003C00U, 0xE408E408U);
    a[3] = fma2<__half>(andOr(w, 0x00F000F0U, 0x64006400U), 0x2C002C00U, 0xD480D480U);
}
template<>
__device__ __forceinline__ void dequantInt4<__nv_bfloat16>(uint32_t w, uint32_t (&a)[4])
{
    // bf16 has 7 mantissa bits: every nibble goes to bit 0 of 128.0 (one shift each), minus 136.
#pragma unroll
    for (int i = 0; i < 4; ++i)
    {
        a[i] = fma2<__nv_bfloat16>(andOr(w >> (4 * i), 0x000F000FU, 0x43004300U), 0x3F803F80U, 0xC308C308U);
    }
}

//! Two 32-bit words of int8 (a0..a3, a4..a7, biased by 128) → the four A-fragment registers.
template<typename T>
__device__ __forceinline__ void dequantInt8(uint32_t w0, uint32_t w1, uint32_t (&a)[4]);
template<>
__device__ __forceinline__ void dequantInt8<__half>(uint32_t w0, uint32_t w1, uint32_t (&a)[4])
{
    // byte → low byte of 1024.0 (0x64xx), minus 1152.
    a[0] = fma2<__half>(__byte_perm(w0, 0x64646464U, 0x4140), 0x3C003C00U, 0xE480E480U);
    a[1] = fma2<__half>(__byte_perm(w0, 0x64646464U, 0x4342), 0x3C003C00U, 0xE480E480U);
    a[2] = fma2<__half>(__byte_perm(w1, 0x64646464U, 0x4140), 0x3C003C00U, 0xE480E480U);
    a[3] = fma2<__half>(__byte_perm(w1, 0x64646464U, 0x4342), 0x3C003C00U, 0xE480E480U);
}
template<>
__device__ __forceinline__ void dequantInt8<__nv_bfloat16>(uint32_t w0, uint32_t w1, uint32_t (&a)[4])
{
    // byte → mantissa of 2^23 (exact in fp32), minus 2^23 + 128, then two floats → bf16x2 (exact: |q| <= 128).
    uint32_t const words[2] = {w0, w1};
#pragma unroll
    for (int i = 0; i < 4; ++i)
    {
        uint32_t const w = words[i >> 1];
        int const b = 2 * (i & 1);
        float const lo = __uint_as_float(__byte_perm(w, 0x4B000000U, 0x7440 + b)) - 8388736.F;
        float const hi = __uint_as_float(__byte_perm(w, 0x4B000000U, 0x7441 + b)) - 8388736.F;
        __nv_bfloat162 const v = __floats2bfloat162_rn(lo, hi);
        a[i] = *reinterpret_cast<uint32_t const*>(&v);
    }
}

template<typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], uint32_t const (&a)[4], uint32_t b0, uint32_t b1);
template<>
__device__ __forceinline__ void mma16816<__half>(float (&c)[4], uint32_t const (&a)[4], uint32_t b0, uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template<>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&c)[4], uint32_t const (&a)[4], uint32_t b0, uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

struct Params
{
    void const* x;
    uint4 const* w;
    void const* scales;
    void const* bias;
    void* y;
    int64_t m;
    int32_t n;
    int32_t k;
    int32_t strips;     //!< ceil(n / 16)
    int32_t tiles;      //!< ceil(k / 64): tiles per strip
    int32_t groupShift; //!< tile >> groupShift = scale row: 0 for g64, 1 for g128, 30 per channel (row 0)
};

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
    int const tig = lane & 3;
    int const strip0 = blockIdx.y * kNS;
    int64_t const m0 = static_cast<int64_t>(blockIdx.x) * (8 * kMT);
    int const chunks = (p.tiles + kU - 1) / kU;
    unsigned short const* scales = static_cast<unsigned short const*>(p.scales);

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
    // This lane's B fragments: token m0 + 8 mt + gid, columns 16 tig … 16 tig + 15 of each tile.
    T const* xp[kMT];
    bool xOk[kMT];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
    {
        int64_t const row = m0 + mt * 8 + gid;
        xOk[mt] = row < p.m;
        xp[mt] = static_cast<T const*>(p.x) + (xOk[mt] ? row : 0) * p.k + 16 * tig;
    }

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
            int const col = t * kBlockK + 16 * tig; // k % 16 == 0: the lane's 16 columns are all in or all out
            uint4 xv[kMT][2];
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt)
            {
                xv[mt][0] = xv[mt][1] = make_uint4(0, 0, 0, 0);
                if (xOk[mt] && col < p.k)
                {
                    xv[mt][0] = __ldg(reinterpret_cast<uint4 const*>(xp[mt] + t * kBlockK));
                    xv[mt][1] = __ldg(reinterpret_cast<uint4 const*>(xp[mt] + t * kBlockK + 8));
                }
            }
            int64_t const srow = static_cast<int64_t>(min(t, p.tiles - 1) >> p.groupShift) * p.n;
#pragma unroll
            for (int ns = 0; ns < kNS; ++ns)
            {
                float const s0 = toFloat<T>(fromBits<T>(__ldg(scales + srow + feat[ns][0])));
                float const s1 = toFloat<T>(fromBits<T>(__ldg(scales + srow + feat[ns][1])));
                float part[kMT][4] = {};
#pragma unroll
                for (int s = 0; s < 4; ++s)
                {
                    uint32_t a[4];
                    if constexpr (kBits == 4)
                    {
                        uint4 const& v = w[ns][u][0];
                        dequantInt4<T>(s == 0 ? v.x : s == 1 ? v.y : s == 2 ? v.z : v.w, a);
                    }
                    else
                    {
                        uint4 const& v = w[ns][u][s >> 1];
                        dequantInt8<T>((s & 1) ? v.z : v.x, (s & 1) ? v.w : v.y, a);
                    }
#pragma unroll
                    for (int mt = 0; mt < kMT; ++mt)
                    {
                        uint4 const& xs = xv[mt][s >> 1];
                        mma16816<T>(part[mt], a, (s & 1) ? xs.z : xs.x, (s & 1) ? xs.w : xs.y);
                    }
                }
#pragma unroll
                for (int mt = 0; mt < kMT; ++mt)
                {
                    acc[ns][mt][0] += s0 * part[mt][0];
                    acc[ns][mt][1] += s0 * part[mt][1];
                    acc[ns][mt][2] += s1 * part[mt][2];
                    acc[ns][mt][3] += s1 * part[mt][3];
                }
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

constexpr int kMaxDevices = 64;

//! Per device, cached: multiprocessor count.
int smCount(int device)
{
    static std::atomic<int> counts[kMaxDevices] = {};
    int n = counts[device].load(std::memory_order_relaxed);
    if (n == 0)
    {
        if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n <= 0)
        {
            return 0;
        }
        counts[device].store(n, std::memory_order_relaxed);
    }
    return n;
}

template<int kMT, int kNS>
constexpr size_t kSmemPerWarp = kNS * kMT * 4 * 32 * sizeof(float);

//! Per device and warp count (1, 2, 4, 8, 16), cached: CTAs of this kernel resident on one SM (0 on error).
template<typename T, int kBits, int kMT, int kNS, bool kShort>
int ctasPerSm(int device, int warpsLog2)
{
    static std::atomic<int> cache[kMaxDevices][5] = {};
    int n = cache[device][warpsLog2].load(std::memory_order_relaxed);
    if (n == 0)
    {
        int const nw = 1 << warpsLog2;
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                &n, kernelFor<T, kBits, kMT, kNS, kShort>(), nw * 32, nw * kSmemPerWarp<kMT, kNS>)
            != cudaSuccess)
        {
            return 0;
        }
        cache[device][warpsLog2].store(n, std::memory_order_relaxed);
    }
    return n;
}

struct Choice
{
    int64_t warps = 0; //!< warps of the grid when it runs in one wave, else 0
    int64_t ctas = 0;
    int warpsLog2 = -1;
};

//! The most warps per CTA (≤ the chunks per strip) with which all CTAs of kNS strips run in one wave.
template<typename T, int kBits, int kMT, int kNS, bool kShort>
Choice choose(Params const& p, int device, int sms)
{
    constexpr int kU = kTilesPerChunk<kBits, kMT, kNS, kShort>;
    int const chunks = (p.tiles + kU - 1) / kU;
    Choice c;
    c.ctas = (p.m + 8 * kMT - 1) / (8 * kMT) * ((p.strips + kNS - 1) / kNS);
    for (int lg = 4; lg >= 0; --lg)
    {
        if ((1 << lg) > chunks && lg > 0)
        {
            continue;
        }
        if (c.ctas <= static_cast<int64_t>(ctasPerSm<T, kBits, kMT, kNS, kShort>(device, lg)) * sms)
        {
            c.warps = c.ctas << lg;
            c.warpsLog2 = lg;
            return c;
        }
    }
    c.warpsLog2 = 0; // more than one wave: up to 4 warps per CTA
    while (c.warpsLog2 < 2 && (2 << c.warpsLog2) <= chunks)
    {
        ++c.warpsLog2;
    }
    return c;
}

template<typename T, int kBits, int kMT, int kNS, bool kShort>
cudaError_t launch(Params const& p, int warpsLog2, cudaStream_t stream)
{
    int const nw = 1 << warpsLog2;
    dim3 const grid(
        static_cast<unsigned>((p.m + 8 * kMT - 1) / (8 * kMT)), static_cast<unsigned>((p.strips + kNS - 1) / kNS));
    kernelFor<T, kBits, kMT, kNS, kShort>()<<<grid, nw * 32, nw * kSmemPerWarp<kMT, kNS>, stream>>>(p);
    return cudaGetLastError();
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
            return launch<T, kBits, kMT, 2, kShort>(p, two.warpsLog2, stream);
        }
    }
    return launch<T, kBits, kMT, 1, kShort>(p, one.warpsLog2, stream);
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
    int const sms = device < kMaxDevices ? smCount(device) : 0;
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
    int32_t const groupShift = groupSize == 0 ? 30 : groupSize == 64 ? 0 : 1;
    Params const p{x, static_cast<uint4 const*>(weights), scales, bias, y, m, n, k, (n + 15) / 16,
        (k + kBlockK - 1) / kBlockK, groupShift};
    switch (type)
    {
    case ElemType::kFLOAT16: return launchForType<__half>(bits, p, stream);
    case ElemType::kBFLOAT16: return launchForType<__nv_bfloat16>(bits, p, stream);
    case ElemType::kFLOAT32: break;
    }
    return cudaErrorInvalidValue;
}
} // namespace trt_helper
