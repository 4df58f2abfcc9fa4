// WeightOnlyGemm kernels: one source for SM80/86/89/90 (mma.sync m16n8k16, fp32 accumulate).
//
// The weights take the 16-row A slot of the mma and the tokens the 8-column B slot (y^T = W x^T), so a decode step
// (M = 1…8) wastes no weight bandwidth. A CTA of kWarps warps owns kNS strips of 16 output features and kMT·8
// tokens; its warps split K (64-column blocks, interleaved) and are reduced through shared memory at the end, so
// no workspace and no second kernel. Each lane reads its packed weights with one 16-byte load per strip and block
// (the offline layout of trt_helper/woq_layout.py puts exactly its mma fragments there), kD blocks ahead in
// registers; the activations' B fragments are fetched one block ahead (they are small and stay in L2 / L1).
// int4 → fp16/bf16 by the magic-number trick (OR the nibble into the mantissa of 1024.0 / 128.0, one fma), int8 →
// fp16 by a byte permute into 1024.0, int8 → bf16 through fp32; then q · scale in the activation type (exact q, one
// rounding), so per-channel and grouped scales take the same path.
#include "kernelCommon.cuh"
#include "weightOnlyGemmKernel.h"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace trt_helper
{
namespace
{
constexpr int kWarps = 8;
constexpr int kBlockK = 64;

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

//! One 32-bit word of int4 (nibbles a0 a2 a4 a6 a1 a3 a5 a7, biased by 8) → the four A-fragment registers.
template<typename T>
__device__ __forceinline__ void dequantInt4(uint32_t w, uint32_t (&a)[4]);
template<>
__device__ __forceinline__ void dequantInt4<__half>(uint32_t w, uint32_t (&a)[4])
{
    // low nibble: 1024 + u, minus 1032; high nibble: 1024 + 16u, times 1/16 minus 72.
    a[0] = fma2<__half>((w & 0x000F000FU) | 0x64006400U, 0x3C003C00U, 0xE408E408U);
    a[1] = fma2<__half>((w & 0x00F000F0U) | 0x64006400U, 0x2C002C00U, 0xD480D480U);
    w >>= 8;
    a[2] = fma2<__half>((w & 0x000F000FU) | 0x64006400U, 0x3C003C00U, 0xE408E408U);
    a[3] = fma2<__half>((w & 0x00F000F0U) | 0x64006400U, 0x2C002C00U, 0xD480D480U);
}
template<>
__device__ __forceinline__ void dequantInt4<__nv_bfloat16>(uint32_t w, uint32_t (&a)[4])
{
    // bf16 has 7 mantissa bits: every nibble goes to bit 0 of 128.0 (one shift each), minus 136.
#pragma unroll
    for (int i = 0; i < 4; ++i)
    {
        a[i] = fma2<__nv_bfloat16>(((w >> (4 * i)) & 0x000F000FU) | 0x43004300U, 0x3F803F80U, 0xC308C308U);
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
    int32_t kBlocks;   //!< ceil(k / 64)
    int32_t groupSize; //!< 0 = per channel
};

//! kBits 4/8; kMT n8 token tiles; kNS 16-row strips; kD weight blocks in flight per warp.
template<typename T, int kBits, int kMT, int kNS, int kD>
__global__ void __launch_bounds__(kWarps * 32, 2) woqGemmKernel(Params const p)
{
    constexpr int kCH = kBits / 4; // 16-byte loads per lane, strip and block
    int const lane = threadIdx.x & 31;
    int const warp = threadIdx.x >> 5;
    int const gid = lane >> 2;
    int const tig = lane & 3;
    int const strip0 = blockIdx.y * kNS;
    int64_t const m0 = static_cast<int64_t>(blockIdx.x) * (8 * kMT);
    T const* x = static_cast<T const*>(p.x);
    T const* scales = static_cast<T const*>(p.scales);

    // Row offsets of this lane's tokens (B fragments) and output features (scales); -1 where past the end.
    int64_t xRow[kMT];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
    {
        int64_t const row = m0 + mt * 8 + gid;
        xRow[mt] = row < p.m ? row * p.k : -1;
    }
    int feat[kNS][2];
#pragma unroll
    for (int ns = 0; ns < kNS; ++ns)
    {
#pragma unroll
        for (int h = 0; h < 2; ++h)
        {
            int const f = (strip0 + ns) * 16 + gid + 8 * h;
            feat[ns][h] = f < p.n ? f : -1;
        }
    }

    // Per-lane weight pointers of the kNS strips (block b, load c at + (b * kCH + c) * 32).
    uint4 const* wp[kNS];
#pragma unroll
    for (int ns = 0; ns < kNS; ++ns)
    {
        wp[ns] = p.w + static_cast<int64_t>(strip0 + ns) * p.kBlocks * kCH * 32 + lane;
    }
    uint4 wbuf[kD][kNS][kCH];
    uint32_t sbuf[kD][kNS]; // (scale of feature gid, of gid + 8) as two packed T
    uint32_t xbuf[2][kMT][4][2];
    float acc[kNS][kMT][4] = {};

    // The weights of block b and their scales (per-channel scales: the same for every block).
    auto loadWeights = [&](uint4(&dst)[kNS][kCH], uint32_t (&sdst)[kNS], int b)
    {
        if (b < p.kBlocks)
        {
            int64_t const group = p.groupSize ? (static_cast<int64_t>(b) * kBlockK) / p.groupSize : 0;
#pragma unroll
            for (int ns = 0; ns < kNS; ++ns)
            {
#pragma unroll
                for (int c = 0; c < kCH; ++c)
                {
                    // the last CTA's strips may run past ceil(n / 16): those lanes feed zeros (never stored)
                    dst[ns][c] = (strip0 + ns) * 16 < p.n ? __ldg(wp[ns] + (b * kCH + c) * 32) : make_uint4(0, 0, 0, 0);
                }
                uint32_t lo = 0U;
                uint32_t hi = 0U;
                if (feat[ns][0] >= 0)
                {
                    lo = __ldg(reinterpret_cast<unsigned short const*>(scales) + group * p.n + feat[ns][0]);
                }
                if (feat[ns][1] >= 0)
                {
                    hi = __ldg(reinterpret_cast<unsigned short const*>(scales) + group * p.n + feat[ns][1]);
                }
                sdst[ns] = lo | (hi << 16);
            }
        }
    };
    auto loadX = [&](uint32_t (&dst)[kMT][4][2], int b)
    {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
#pragma unroll
            for (int s = 0; s < 4; ++s)
            {
                int const col = b * kBlockK + 16 * s + 2 * tig;
                bool const ok = b < p.kBlocks && xRow[mt] >= 0 && col < p.k; // k % 16 == 0: whole sub-tile in or out
                dst[mt][s][0] = ok ? __ldg(reinterpret_cast<uint32_t const*>(x + xRow[mt] + col)) : 0U;
                dst[mt][s][1] = ok ? __ldg(reinterpret_cast<uint32_t const*>(x + xRow[mt] + col + 8)) : 0U;
            }
        }
    };

#pragma unroll
    for (int d = 0; d < kD; ++d)
    {
        loadWeights(wbuf[d], sbuf[d], warp + d * kWarps);
    }
    loadX(xbuf[0], warp);

    for (int base = warp; base < p.kBlocks; base += kD * kWarps)
    {
#pragma unroll
        for (int d = 0; d < kD; ++d)
        {
            int const b = base + d * kWarps;
            if (b >= p.kBlocks)
            {
                break; // warp-uniform
            }
            // kD is even, so the x double-buffer index is a constant after unrolling.
            uint32_t (&xs)[kMT][4][2] = xbuf[d & 1];
            loadX(xbuf[(d + 1) & 1], b + kWarps);
#pragma unroll
            for (int s = 0; s < 4; ++s)
            {
#pragma unroll
                for (int ns = 0; ns < kNS; ++ns)
                {
                    uint32_t a[4];
                    if constexpr (kBits == 4)
                    {
                        uint4 const& v = wbuf[d][ns][0];
                        dequantInt4<T>(s == 0 ? v.x : s == 1 ? v.y : s == 2 ? v.z : v.w, a);
                    }
                    else
                    {
                        uint4 const& v = wbuf[d][ns][s >> 1];
                        dequantInt8<T>((s & 1) ? v.z : v.x, (s & 1) ? v.w : v.y, a);
                    }
                    // q · s in the activation type (a[0], a[2]: feature gid; a[1], a[3]: gid + 8); + (-0): exact.
                    uint32_t const s0 = __byte_perm(sbuf[d][ns], 0U, 0x1010);
                    uint32_t const s1 = __byte_perm(sbuf[d][ns], 0U, 0x3232);
                    a[0] = fma2<T>(a[0], s0, 0x80008000U);
                    a[1] = fma2<T>(a[1], s1, 0x80008000U);
                    a[2] = fma2<T>(a[2], s0, 0x80008000U);
                    a[3] = fma2<T>(a[3], s1, 0x80008000U);
#pragma unroll
                    for (int mt = 0; mt < kMT; ++mt)
                    {
                        mma16816<T>(acc[ns][mt], a, xs[mt][s][0], xs[mt][s][1]);
                    }
                }
            }
            loadWeights(wbuf[d], sbuf[d], b + kD * kWarps);
        }
    }

    // Reduce the warps' K slices: every warp stores its fragments, then the CTA sums and writes y.
    constexpr int kFrag = kNS * kMT * 4;
    __shared__ float red[kWarps][kFrag][32];
#pragma unroll
    for (int ns = 0; ns < kNS; ++ns)
    {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
#pragma unroll
            for (int r = 0; r < 4; ++r)
            {
                red[warp][(ns * kMT + mt) * 4 + r][lane] = acc[ns][mt][r];
            }
        }
    }
    __syncthreads();
    T const* bias = static_cast<T const*>(p.bias);
    T* y = static_cast<T*>(p.y);
    for (int i = threadIdx.x; i < kFrag * 32; i += kWarps * 32)
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
#pragma unroll
        for (int w = 0; w < kWarps; ++w)
        {
            sum += red[w][frag][l];
        }
        if (bias != nullptr)
        {
            sum += toFloat<T>(bias[f]);
        }
        y[row * p.n + f] = fromFloat<T>(sum);
    }
}

int smCount()
{
    static int counts[64] = {};
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64)
    {
        return 132;
    }
    if (counts[device] == 0)
    {
        int n = 0;
        counts[device]
            = cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) == cudaSuccess && n > 0 ? n : 132;
    }
    return counts[device];
}

template<typename T, int kBits, int kMT, int kNS>
cudaError_t launchTiled(Params const& p, int strips, cudaStream_t stream)
{
    // Weight blocks in flight per warp: 8 16-byte loads per lane (4 with 32 tokens, for registers), at least 2.
    constexpr int kLoads = kMT == 4 ? 4 : 8;
    constexpr int kD = kLoads / (kNS * kBits / 4) >= 2 ? kLoads / (kNS * kBits / 4) : 2;
    dim3 const grid(
        static_cast<unsigned>((p.m + 8 * kMT - 1) / (8 * kMT)), static_cast<unsigned>((strips + kNS - 1) / kNS));
    woqGemmKernel<T, kBits, kMT, kNS, kD><<<grid, kWarps * 32, 0, stream>>>(p);
    return cudaGetLastError();
}

//! Strips per CTA: the fewest that keep every CTA resident in one wave (2 per SM); at most 4 for 8 tokens, 2 for
//! 16 and 1 for 32 (registers).
template<typename T, int kBits, int kMT>
cudaError_t launchForM(Params const& p, cudaStream_t stream)
{
    int const strips = (p.n + 15) / 16;
    int64_t const chunks = (p.m + 8 * kMT - 1) / (8 * kMT);
    int64_t const slots = 2LL * smCount();
    if (chunks * strips <= slots)
    {
        return launchTiled<T, kBits, kMT, 1>(p, strips, stream);
    }
    if constexpr (kMT == 1)
    {
        if (chunks * ((strips + 1) / 2) > slots)
        {
            return launchTiled<T, kBits, kMT, 4>(p, strips, stream);
        }
    }
    if constexpr (kMT <= 2)
    {
        return launchTiled<T, kBits, kMT, 2>(p, strips, stream);
    }
    return launchTiled<T, kBits, kMT, 1>(p, strips, stream);
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
    if ((bits != 4 && bits != 8) || k % 16 != 0 || (groupSize != 0 && k % groupSize != 0))
    {
        return cudaErrorInvalidValue;
    }
    if (m == 0 || n == 0)
    {
        return cudaSuccess;
    }
    Params const p{
        x, static_cast<uint4 const*>(weights), scales, bias, y, m, n, k, (k + kBlockK - 1) / kBlockK, groupSize};
    switch (type)
    {
    case ElemType::kFLOAT16: return launchForType<__half>(bits, p, stream);
    case ElemType::kBFLOAT16: return launchForType<__nv_bfloat16>(bits, p, stream);
    case ElemType::kFLOAT32: break;
    }
    return cudaErrorInvalidValue;
}
} // namespace trt_helper
