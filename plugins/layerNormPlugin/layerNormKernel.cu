#include "kernelCommon.cuh"
#include "layerNormKernel.h"

#include <cstdint>

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

//! 16-byte load that does not allocate in L1 and is marked evict-first in L2 (x is read exactly once).
__device__ __forceinline__ uint4 loadStreaming(void const* p)
{
    return __ldcs(reinterpret_cast<uint4 const*>(p));
}

//! 16-byte evict-first store (y is not re-read by this kernel).
__device__ __forceinline__ void storeStreaming(void* p, uint4 v)
{
    __stcs(reinterpret_cast<uint4*>(p), v);
}

// One warp per row, kRows rows per warp, kWarps warps per block, one row slice per launch (no persistent loop):
// every lane issues all kRows * kIters 16-byte loads of its rows before the first use, keeps them packed in
// registers (x is read once, with streaming hints), and the kRows reductions are interleaved so their shuffles
// overlap. Statistics in fp32, the variance as the exact two-pass sum of squared deviations over the registers.
// gamma / beta are read after the statistics (they stay in L1/L2), so they cost no registers during the loads.
template<typename T, int kIters, int kRows, int kWarps, int kMinBlocks>
__global__ void __launch_bounds__(kWarps * 32, kMinBlocks) layerNormWarpKernel(T const* __restrict__ x,
    T const* __restrict__ gamma, T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int32_t dim, float eps)
{
    constexpr int kV = kVec<T>;
    int const lane = threadIdx.x & 31;
    int const nbVec = dim / kV;
    int64_t const row0 = (static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5)) * kRows;
    if (row0 >= rows)
    {
        return; // warp-uniform
    }

    uint4 raw[kRows][kIters];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            int const vi = lane + i * 32;
            raw[r][i] = make_uint4(0U, 0U, 0U, 0U);
            if (row0 + r < rows && vi < nbVec)
            {
                raw[r][i] = loadStreaming(x + (row0 + r) * dim + vi * kV);
            }
        }
    }

    float const invDim = 1.F / static_cast<float>(dim);
    float mean[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        float sum = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            float v[kV];
            unpack<T>(raw[r][i], v); // lanes past the row hold zeros
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                sum += v[j];
            }
        }
        mean[r] = sum;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
    {
#pragma unroll
        for (int r = 0; r < kRows; ++r)
        {
            mean[r] += __shfl_xor_sync(0xffffffffU, mean[r], offset);
        }
    }
    float rstd[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        mean[r] *= invDim;
        float sq = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            if (lane + i * 32 < nbVec)
            {
                float v[kV];
                unpack<T>(raw[r][i], v);
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    float const d = v[j] - mean[r];
                    sq += d * d;
                }
            }
        }
        rstd[r] = sq;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
    {
#pragma unroll
        for (int r = 0; r < kRows; ++r)
        {
            rstd[r] += __shfl_xor_sync(0xffffffffU, rstd[r], offset);
        }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        rstd[r] = rsqrtf(rstd[r] * invDim + eps);
    }

#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const vi = lane + i * 32;
        if (vi < nbVec)
        {
            float g[kV];
            float b[kV];
            loadVec(gamma + vi * kV, g);
            loadVec(beta + vi * kV, b);
#pragma unroll
            for (int r = 0; r < kRows; ++r)
            {
                if (row0 + r < rows)
                {
                    float v[kV];
                    unpack<T>(raw[r][i], v);
#pragma unroll
                    for (int j = 0; j < kV; ++j)
                    {
                        v[j] = (v[j] - mean[r]) * rstd[r] * g[j] + b[j];
                    }
                    storeStreaming(y + (row0 + r) * dim + vi * kV, pack<T>(v));
                }
            }
        }
    }
}

// Any dim, any alignment: one block per row, three passes over the row (it is re-read from cache).
template<typename T>
__global__ void layerNormBlockKernel(T const* __restrict__ x, T const* __restrict__ gamma, T const* __restrict__ beta,
    T* __restrict__ y, int32_t dim, float eps)
{
    __shared__ float scratch[32];
    int64_t const row = blockIdx.x;
    T const* xr = x + row * dim;
    T* yr = y + row * dim;
    float sum = 0.F;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
    {
        sum += toFloat(xr[i]);
    }
    float const mean = blockReduce<false>(sum, scratch) / dim;
    float sq = 0.F;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
    {
        float const d = toFloat(xr[i]) - mean;
        sq += d * d;
    }
    float const rstd = rsqrtf(blockReduce<false>(sq, scratch) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
    {
        yr[i] = fromFloat<T>((toFloat(xr[i]) - mean) * rstd * toFloat(gamma[i]) + toFloat(beta[i]));
    }
}

// No device queries here (the launch path is part of every call's latency). kMinBlocks = 0: no register cap (a cap
// for 14 blocks/SM spilled and ran slower on an H200; benchmarks/results/plugins_ln_variants_h200.log).
template<typename T, int kIters, int kRows, int kWarps = kWarpsPerBlock, int kMinBlocks = 0>
cudaError_t launchWarp(T const* x, T const* g, T const* b, T* y, int64_t rows, int32_t dim, float eps, cudaStream_t s)
{
    int64_t const rowsPerBlock = int64_t{kRows} * kWarps;
    int64_t const blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
    if (blocks > 0x7fffffff)
    {
        return cudaErrorInvalidValue;
    }
    layerNormWarpKernel<T, kIters, kRows, kWarps, kMinBlocks>
        <<<static_cast<unsigned>(blocks), kWarps * 32, 0, s>>>(x, g, b, y, rows, dim, eps);
    return cudaGetLastError();
}
} // namespace

cudaError_t launchLayerNorm(ElemType type, void const* x, void const* gamma, void const* beta, void* y, int64_t rows,
    int32_t dim, float eps, cudaStream_t stream)
{
    if (rows <= 0)
    {
        return cudaSuccess;
    }
    if (dim <= 0 || rows > (int64_t{1} << 31) * kWarpsPerBlock)
    {
        return cudaErrorInvalidValue;
    }
    return dispatchElemType(type,
        [&](auto tag)
        {
            using T = decltype(tag);
            auto const* xt = static_cast<T const*>(x);
            auto const* gt = static_cast<T const*>(gamma);
            auto const* bt = static_cast<T const*>(beta);
            auto* yt = static_cast<T*>(y);
            int const nbVec = dim / kVec<T>;
            bool const vectorised
                = dim % kVec<T> == 0 && aligned16(x) && aligned16(gamma) && aligned16(beta) && aligned16(y);
            // rows per warp: about two 16-byte loads per lane in flight, measured best at fp16 D = 512 on an H200
            // (1 row/warp 0.0191 ms, 2: 0.0196, 4: 0.0218; benchmarks/plugins/ln_variants.cu)
            if (vectorised && nbVec <= 32)
            {
                return launchWarp<T, 1, 2>(xt, gt, bt, yt, rows, dim, eps, stream);
            }
            else if (vectorised && nbVec <= 64)
            {
                return launchWarp<T, 2, 1>(xt, gt, bt, yt, rows, dim, eps, stream);
            }
            else if (vectorised && nbVec <= 128)
            {
                return launchWarp<T, 4, 1>(xt, gt, bt, yt, rows, dim, eps, stream);
            }
            else if (vectorised && nbVec <= 256)
            {
                return launchWarp<T, 8, 1>(xt, gt, bt, yt, rows, dim, eps, stream);
            }
            else if (rows > 0x7fffffff)
            {
                return cudaErrorInvalidValue;
            }
            else
            {
                layerNormBlockKernel<T><<<static_cast<unsigned>(rows), 256, 0, stream>>>(xt, gt, bt, yt, dim, eps);
            }
            return cudaGetLastError();
        });
}
} // namespace trt_helper
