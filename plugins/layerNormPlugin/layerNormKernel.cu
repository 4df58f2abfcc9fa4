#include "kernelCommon.cuh"
#include "layerNormKernel.h"

#include <algorithm>

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

// Persistent warps: each warp walks rows (stride = all warps of the grid) with the row held in registers (kIters
// 16-byte vectors per lane), so x is read once and the variance is the exact two-pass sum of squared deviations.
// The next row is loaded before the current one is reduced, to keep bytes in flight across the reductions.
template <typename T, int kIters>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) layerNormWarpKernel(T const* __restrict__ x,
    T const* __restrict__ gamma, T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int32_t dim, float eps)
{
    constexpr int kV = kVec<T>;
    int const lane = threadIdx.x & 31;
    int const nbVec = dim / kV;
    int64_t const stride = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
    int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);

    float g[kIters][kV];
    float b[kIters][kV];
    float cur[kIters][kV];
#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const vi = lane + i * 32;
        if (vi < nbVec)
        {
            if (row < rows)
            {
                loadVec(x + row * dim + vi * kV, cur[i]);
            }
            loadVec(gamma + vi * kV, g[i]);
            loadVec(beta + vi * kV, b[i]);
        }
    }
    for (; row < rows; row += stride)
    {
        float next[kIters][kV];
        int64_t const nextRow = row + stride;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            int const vi = lane + i * 32;
            if (nextRow < rows && vi < nbVec)
            {
                loadVec(x + nextRow * dim + vi * kV, next[i]);
            }
        }
        float sum = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            if (lane + i * 32 < nbVec)
            {
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    sum += cur[i][j];
                }
            }
        }
        float const mean = warpSum(sum) / dim;
        float sq = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            if (lane + i * 32 < nbVec)
            {
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    float const d = cur[i][j] - mean;
                    sq += d * d;
                }
            }
        }
        float const rstd = rsqrtf(warpSum(sq) / dim + eps);
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            int const vi = lane + i * 32;
            if (vi < nbVec)
            {
                float out[kV];
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    out[j] = (cur[i][j] - mean) * rstd * g[i][j] + b[i][j];
                    cur[i][j] = next[i][j];
                }
                storeVec(y + row * dim + vi * kV, out);
            }
        }
    }
}

// Any dim, any alignment: one block per row, three passes over the row (it is re-read from cache).
template <typename T>
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

template <typename T, int kIters>
cudaError_t launchWarp(T const* x, T const* g, T const* b, T* y, int64_t rows, int32_t dim, float eps, cudaStream_t s)
{
    int device = 0;
    int sms = 0;
    int perSm = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err == cudaSuccess)
    {
        err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    }
    if (err == cudaSuccess)
    {
        err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
            &perSm, layerNormWarpKernel<T, kIters>, kWarpsPerBlock * 32, 0);
    }
    if (err != cudaSuccess)
    {
        return err;
    }
    int64_t const needed = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
    auto const blocks = static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(needed, int64_t{sms} * perSm)));
    layerNormWarpKernel<T, kIters><<<blocks, kWarpsPerBlock * 32, 0, s>>>(x, g, b, y, rows, dim, eps);
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
    return dispatchElemType(type, [&](auto tag) {
        using T = decltype(tag);
        auto const* xt = static_cast<T const*>(x);
        auto const* gt = static_cast<T const*>(gamma);
        auto const* bt = static_cast<T const*>(beta);
        auto* yt = static_cast<T*>(y);
        int const nbVec = dim / kVec<T>;
        bool const vectorised = dim % kVec<T> == 0 && aligned16(x) && aligned16(gamma) && aligned16(beta) && aligned16(y);
        if (vectorised && nbVec <= 32)
        {
            return launchWarp<T, 1>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 64)
        {
            return launchWarp<T, 2>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 128)
        {
            return launchWarp<T, 4>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 256)
        {
            return launchWarp<T, 8>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else
        {
            layerNormBlockKernel<T><<<static_cast<unsigned>(rows), 256, 0, stream>>>(xt, gt, bt, yt, dim, eps);
        }
        return cudaGetLastError();
    });
}
} // namespace trt_helper
