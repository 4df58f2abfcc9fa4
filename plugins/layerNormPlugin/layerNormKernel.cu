#include "kernelCommon.cuh"
#include "layerNormKernel.h"

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

// kRows rows per warp, each held in registers (kIters 16-byte vectors per lane per row), so x is read once and the
// variance is the exact two-pass sum of squared deviations. All loads of a warp (kRows rows, gamma, beta) are
// issued before the first reduction, to keep enough bytes in flight.
template <typename T, int kIters, int kRows>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) layerNormWarpKernel(T const* __restrict__ x,
    T const* __restrict__ gamma, T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int32_t dim, float eps)
{
    constexpr int kV = kVec<T>;
    int64_t const first = (static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5)) * kRows;
    if (first >= rows)
    {
        return;
    }
    int const lane = threadIdx.x & 31;
    int const nbVec = dim / kV;

    float v[kRows][kIters][kV];
    float sum[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        sum[r] = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            int const vi = lane + i * 32;
            if (first + r < rows && vi < nbVec)
            {
                loadVec(x + (first + r) * dim + vi * kV, v[r][i]);
            }
        }
    }
    float g[kIters][kV];
    float b[kIters][kV];
#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const vi = lane + i * 32;
        if (vi < nbVec)
        {
            loadVec(gamma + vi * kV, g[i]);
            loadVec(beta + vi * kV, b[i]);
        }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            if (first + r < rows && lane + i * 32 < nbVec)
            {
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    sum[r] += v[r][i][j];
                }
            }
        }
    }
    float mean[kRows];
    float sq[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        mean[r] = warpSum(sum[r]) / dim;
        sq[r] = 0.F;
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            if (first + r < rows && lane + i * 32 < nbVec)
            {
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    float const d = v[r][i][j] - mean[r];
                    sq[r] += d * d;
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r)
    {
        float const rstd = rsqrtf(warpSum(sq[r]) / dim + eps);
#pragma unroll
        for (int i = 0; i < kIters; ++i)
        {
            int const vi = lane + i * 32;
            if (first + r < rows && vi < nbVec)
            {
#pragma unroll
                for (int j = 0; j < kV; ++j)
                {
                    v[r][i][j] = (v[r][i][j] - mean[r]) * rstd * g[i][j] + b[i][j];
                }
                storeVec(y + (first + r) * dim + vi * kV, v[r][i]);
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
void launchWarp(T const* x, T const* g, T const* b, T* y, int64_t rows, int32_t dim, float eps, cudaStream_t s)
{
    constexpr int kRows = kIters <= 2 ? 4 : (kIters == 4 ? 2 : 1);
    int64_t const rowsPerBlock = int64_t{kWarpsPerBlock} * kRows;
    auto const blocks = static_cast<unsigned>((rows + rowsPerBlock - 1) / rowsPerBlock);
    layerNormWarpKernel<T, kIters, kRows><<<blocks, kWarpsPerBlock * 32, 0, s>>>(x, g, b, y, rows, dim, eps);
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
