#include "attMaskedSoftmaxKernel.h"
#include "kernelCommon.cuh"

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

__device__ __forceinline__ int32_t clampedLength(int32_t const* lengths, int64_t b, int32_t tk)
{
    return min(max(__ldg(lengths + b), 0), tk);
}

// One warp per row, row held in registers; vectors entirely past len are neither read nor exponentiated.
template<typename T, int kIters>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) maskedSoftmaxWarpKernel(T const* __restrict__ x,
    int32_t const* __restrict__ lengths, T* __restrict__ y, int64_t rows, int64_t rowsPerBatch, int32_t tk, float scale)
{
    constexpr int kV = kVec<T>;
    int64_t const row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (row >= rows)
    {
        return;
    }
    int const lane = threadIdx.x & 31;
    int32_t const len = clampedLength(lengths, row / rowsPerBatch, tk);
    int const nbVec = tk / kV;
    T const* xr = x + row * tk;
    T* yr = y + row * tk;

    float v[kIters][kV];
    float mx = -INFINITY;
#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const base = (lane + i * 32) * kV;
        if (base < len)
        {
            loadVec(xr + base, v[i]);
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                v[i][j] = base + j < len ? v[i][j] * scale : -INFINITY;
                mx = fmaxf(mx, v[i][j]);
            }
        }
    }
    mx = warpMax(mx);
    float sum = 0.F;
#pragma unroll
    for (int i = 0; i < kIters; ++i)
    {
        int const base = (lane + i * 32) * kV;
        if (base < len)
        {
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                v[i][j] = base + j < len ? expf(v[i][j] - mx) : 0.F;
                sum += v[i][j];
            }
        }
    }
    sum = warpSum(sum);
    float const inv = len > 0 ? 1.F / sum : 0.F;
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
                out[j] = vi * kV < len ? v[i][j] * inv : 0.F;
            }
            storeVec(yr + vi * kV, out);
        }
    }
}

// Any Tk, any alignment: one block per row, reading only k < len (three passes, re-read from cache).
template<typename T>
__global__ void maskedSoftmaxBlockKernel(T const* __restrict__ x, int32_t const* __restrict__ lengths,
    T* __restrict__ y, int64_t rowsPerBatch, int32_t tk, float scale)
{
    __shared__ float scratch[32];
    int64_t const row = blockIdx.x;
    int32_t const len = clampedLength(lengths, row / rowsPerBatch, tk);
    T const* xr = x + row * tk;
    T* yr = y + row * tk;
    float mx = -INFINITY;
    for (int k = threadIdx.x; k < len; k += blockDim.x)
    {
        mx = fmaxf(mx, toFloat(xr[k]) * scale);
    }
    mx = blockReduce<true>(mx, scratch);
    float sum = 0.F;
    for (int k = threadIdx.x; k < len; k += blockDim.x)
    {
        sum += expf(toFloat(xr[k]) * scale - mx);
    }
    sum = blockReduce<false>(sum, scratch);
    float const inv = len > 0 ? 1.F / sum : 0.F;
    for (int k = threadIdx.x; k < tk; k += blockDim.x)
    {
        yr[k] = fromFloat<T>(k < len ? expf(toFloat(xr[k]) * scale - mx) * inv : 0.F);
    }
}

template<typename T, int kIters>
void launchWarp(T const* x, int32_t const* lengths, T* y, int64_t rows, int64_t rowsPerBatch, int32_t tk, float scale,
    cudaStream_t s)
{
    auto const blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
    maskedSoftmaxWarpKernel<T, kIters>
        <<<blocks, kWarpsPerBlock * 32, 0, s>>>(x, lengths, y, rows, rowsPerBatch, tk, scale);
}
} // namespace

cudaError_t launchAttMaskedSoftmax(ElemType type, void const* x, int32_t const* lengths, void* y, int64_t batch,
    int64_t rowsPerBatch, int32_t tk, float scale, cudaStream_t stream)
{
    int64_t const rows = batch * rowsPerBatch;
    if (rows <= 0 || tk <= 0)
    {
        return cudaSuccess;
    }
    if (rows > int64_t{INT32_MAX})
    {
        return cudaErrorInvalidValue;
    }
    return dispatchElemType(type,
        [&](auto tag)
        {
            using T = decltype(tag);
            auto const* xt = static_cast<T const*>(x);
            auto* yt = static_cast<T*>(y);
            int const nbVec = tk / kVec<T>;
            bool const vectorised = tk % kVec<T> == 0 && aligned16(x) && aligned16(y);
            if (vectorised && nbVec <= 32)
            {
                launchWarp<T, 1>(xt, lengths, yt, rows, rowsPerBatch, tk, scale, stream);
            }
            else if (vectorised && nbVec <= 64)
            {
                launchWarp<T, 2>(xt, lengths, yt, rows, rowsPerBatch, tk, scale, stream);
            }
            else if (vectorised && nbVec <= 128)
            {
                launchWarp<T, 4>(xt, lengths, yt, rows, rowsPerBatch, tk, scale, stream);
            }
            else if (vectorised && nbVec <= 256)
            {
                launchWarp<T, 8>(xt, lengths, yt, rows, rowsPerBatch, tk, scale, stream);
            }
            else
            {
                maskedSoftmaxBlockKernel<T>
                    <<<static_cast<unsigned>(rows), 256, 0, stream>>>(xt, lengths, yt, rowsPerBatch, tk, scale);
            }
            return cudaGetLastError();
        });
}
} // namespace trt_helper
