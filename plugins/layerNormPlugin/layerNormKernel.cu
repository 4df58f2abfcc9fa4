#include "kernelCommon.cuh"
#include "layerNormKernel.h"

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

// One warp per row; the row stays in registers (kIters 16-byte vectors per lane), so x is read once and the
// variance is the exact two-pass sum of squared deviations.
template <typename T, int kIters>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) layerNormWarpKernel(T const* __restrict__ x,
    T const* __restrict__ gamma, T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int32_t dim, float eps)
{
    constexpr int kV = kVec<T>;
    int64_t const row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (row >= rows)
    {
        return;
    }
    int const lane = threadIdx.x & 31;
    int const nbVec = dim / kV;
    T const* xr = x + row * dim;
    T* yr = y + row * dim;

    float v[kIters][kV];
    float sum = 0.F;
#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const vi = lane + i * 32;
        if (vi < nbVec)
        {
            loadVec(xr + vi * kV, v[i]);
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                sum += v[i][j];
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
                float const d = v[i][j] - mean;
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
            float g[kV];
            float b[kV];
            loadVec(gamma + vi * kV, g);
            loadVec(beta + vi * kV, b);
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                v[i][j] = (v[i][j] - mean) * rstd * g[j] + b[j];
            }
            storeVec(yr + vi * kV, v[i]);
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
void launchWarp(T const* x, T const* g, T const* b, T* y, int64_t rows, int32_t dim, float eps, cudaStream_t s)
{
    auto const blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
    layerNormWarpKernel<T, kIters><<<blocks, kWarpsPerBlock * 32, 0, s>>>(x, g, b, y, rows, dim, eps);
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
            launchWarp<T, 1>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 64)
        {
            launchWarp<T, 2>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 128)
        {
            launchWarp<T, 4>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else if (vectorised && nbVec <= 256)
        {
            launchWarp<T, 8>(xt, gt, bt, yt, rows, dim, eps, stream);
        }
        else
        {
            layerNormBlockKernel<T><<<static_cast<unsigned>(rows), 256, 0, stream>>>(xt, gt, bt, yt, dim, eps);
        }
        return cudaGetLastError();
    });
}
} // namespace trt_helper
