// Device pieces shared by the WeightOnlyGemm kernels (weightOnlyGemmKernel.cu, woqBulkSm90.cu): the launch
// parameters, int4 / int8 → fp16 / bf16 dequantization into mma.m16n8k16 A fragments, and the product of one packed
// 16 × 64 weight tile with up to 32 tokens.
#pragma once

#include "kernelCommon.cuh"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace trt_helper
{
namespace woq
{
constexpr int kBlockK = 64;
//! The bulk-copy and register kernels are programmatic dependent launches on Hopper: a CTA may start while the grid
//! before it in the stream ends and asks L2 for the first this-many bytes of its weights before it waits for that grid
//! (griddepcontrol.wait); it reads nothing that grid may have written before the wait returns. They do not let the
//! next grid start early (griddepcontrol.launch_dependents): on an H200 that placed the next grid's CTAs unevenly over
//! the SMs, up to +8 % per call; prefetching a CTA's whole share cost up to +30 %; the wgmma kernel gained nothing and
//! int8 at 128 / 256 tokens lost 5-9 % (benchmarks/results/woq_pdl_h200.log).
constexpr int64_t kL2PrefetchBytes = 16384;

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

//! c += a · b on the integer tensor cores (mma.m16n8k32): a u8 weights, b s8 (kSignedB) or u8 activations.
template<bool kSignedB>
__device__ __forceinline__ void mma16832(int (&c)[4], uint32_t const (&a)[4], uint32_t b0, uint32_t b1)
{
    if constexpr (kSignedB)
    {
        asm("mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    else
    {
        asm("mma.sync.aligned.m16n8k32.row.col.s32.u8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

//! The lane's u8 A fragments (mma.m16n8k32) of k32 step q (0, 1) of a packed 16 × 64 tile, without dequantizing:
//! register r holds rows gid + 8 · (r & 1) of sub-tile s = 2q + (r >> 1), i.e. (in the layout's permuted K) the tile
//! columns 16c + 4s + {0, 2, 1, 3} (c = lane % 4, one per byte) — the order of the x fragments of the integer path
//! (woqBulkSm90.cu). int4: the stored u = q + 8 in the rows gid (low nibbles) and 16 u in the rows gid + 8 (high
//! nibbles, one LOP3 each); int8: u = q + 128 (one PRMT each).
template<int kBits>
__device__ __forceinline__ void fragmentU8(uint4 const (&w)[kBits / 4], int q, uint32_t (&a)[4])
{
    if constexpr (kBits == 4)
    {
        uint32_t const first = q == 0 ? w[0].x : w[0].z;  // 16-column sub-tile 2q
        uint32_t const second = q == 0 ? w[0].y : w[0].w; // sub-tile 2q + 1
        a[0] = first & 0x0F0F0F0FU;
        a[1] = first & 0xF0F0F0F0U;
        a[2] = second & 0x0F0F0F0FU;
        a[3] = second & 0xF0F0F0F0U;
    }
    else
    {
        uint4 const& v = w[q];
        a[0] = __byte_perm(v.x, v.y, 0x5140);
        a[1] = __byte_perm(v.x, v.y, 0x7362);
        a[2] = __byte_perm(v.z, v.w, 0x5140);
        a[3] = __byte_perm(v.z, v.w, 0x7362);
    }
}

//! The group shift of per-channel scales: every tile reads scale row 0.
constexpr int32_t kPerChannelShift = 30;

//! launch(T{}) with T the 16-bit element type of x (__half or __nv_bfloat16); `otherwise` for any other type.
template<class Launch>
cudaError_t forHalfType(ElemType type, cudaError_t otherwise, Launch&& launch)
{
    switch (type)
    {
    case ElemType::kFLOAT16: return launch(__half{});
    case ElemType::kBFLOAT16: return launch(__nv_bfloat16{});
    case ElemType::kFLOAT32: break;
    }
    return otherwise;
}

//! One launch: x (m, k), packed weights w, scales, optional bias, y (m, n).
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
    int32_t groupShift; //!< tile >> groupShift = scale row: 0 for g64, 1 for g128, kPerChannelShift
};

//! A lane's view of x for the mma B fragments: the row of each of its kMT token tiles (null past m: zeros) at its
//! first column 16 · (lane % 4) of every tile.
template<typename T, int kMT>
struct LaneActivations
{
    T const* row[kMT];
    int k;

    __device__ __forceinline__ LaneActivations(Params const& p, int64_t row0)
        : k(p.k)
    {
        int const lane = threadIdx.x & 31;
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
            int64_t const r = row0 + mt * 8 + (lane >> 2);
            row[mt] = r < p.m ? static_cast<T const*>(p.x) + r * p.k + 16 * (lane & 3) : nullptr;
        }
    }

    //! The fragments of tile t (k % 16 == 0: the lane's 16 columns are all in range or all out).
    __device__ __forceinline__ void load(int t, uint4 (&xv)[kMT][2]) const
    {
        int const col = t * kBlockK;
        bool const inK = col + 16 * (threadIdx.x & 3) < k;
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
            xv[mt][0] = xv[mt][1] = make_uint4(0, 0, 0, 0);
            if (row[mt] != nullptr && inK)
            {
                xv[mt][0] = __ldg(reinterpret_cast<uint4 const*>(row[mt] + col));
                xv[mt][1] = __ldg(reinterpret_cast<uint4 const*>(row[mt] + col + 8));
            }
        }
    }
};

//! The lane's A fragment of sub-tile s (k columns 16 s … 16 s + 15 of the tile) from its kBits / 4 16-byte weight
//! words: the exact q in T.
template<typename T, int kBits>
__device__ __forceinline__ void fragment(uint4 const (&w)[kBits / 4], int s, uint32_t (&a)[4])
{
    if constexpr (kBits == 4)
    {
        uint4 const& v = w[0];
        dequantInt4<T>(s == 0 ? v.x : s == 1 ? v.y : s == 2 ? v.z : v.w, a);
    }
    else
    {
        uint4 const& v = w[s >> 1];
        dequantInt8<T>((s & 1) ? v.z : v.x, (s & 1) ? v.w : v.y, a);
    }
}

//! acc += q · xᵀ for one tile: w the lane's kBits / 4 16-byte weight words (q exact in T), xv its activations.
template<typename T, int kBits, int kMT>
__device__ __forceinline__ void tileMma(uint4 const (&w)[kBits / 4], uint4 const (&xv)[kMT][2], float (&acc)[kMT][4])
{
#pragma unroll
    for (int s = 0; s < 4; ++s)
    {
        uint32_t a[4];
        fragment<T, kBits>(w, s, a);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
        {
            uint4 const& xs = xv[mt][s >> 1];
            mma16816<T>(acc[mt], a, (s & 1) ? xs.z : xs.x, (s & 1) ? xs.w : xs.y);
        }
    }
}

//! acc += s · part: s0 / s1 the scales of the lane's output rows gid and gid + 8.
template<int kMT>
__device__ __forceinline__ void addScaled(float (&acc)[kMT][4], float const (&part)[kMT][4], float s0, float s1)
{
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
    {
        acc[mt][0] += s0 * part[mt][0];
        acc[mt][1] += s0 * part[mt][1];
        acc[mt][2] += s1 * part[mt][2];
        acc[mt][3] += s1 * part[mt][3];
    }
}

//! acc += s · (q · xᵀ) for one tile (a tile lies in one scale group): the mma multiplies the exact q, the scale goes
//! to the fp32 partial sums.
template<typename T, int kBits, int kMT>
__device__ __forceinline__ void tileProduct(
    uint4 const (&w)[kBits / 4], uint4 const (&xv)[kMT][2], float s0, float s1, float (&acc)[kMT][4])
{
    float part[kMT][4] = {};
    tileMma<T, kBits, kMT>(w, xv, part);
    addScaled<kMT>(acc, part, s0, s1);
}

//! The scale of output feature f for tile t (row t >> groupShift of the scales) as a float.
template<typename T>
__device__ __forceinline__ float scaleAt(Params const& p, int t, int f)
{
    auto const* scales = static_cast<unsigned short const*>(p.scales);
    return toFloat<T>(fromBits<T>(__ldg(scales + static_cast<int64_t>(t >> p.groupShift) * p.n + f)));
}
} // namespace woq
} // namespace trt_helper
