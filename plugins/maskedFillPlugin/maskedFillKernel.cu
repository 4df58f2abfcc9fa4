#include "kernelCommon.cuh"
#include "maskedFillKernel.h"

#include <algorithm>

namespace trt_helper
{
namespace
{
// kV consecutive elements per step. Vectorised (kV > 1) only when they share one time index (time innermost:
// they are kV consecutive times of one row) so that one division per step finds it.
template<typename T, int kV>
__global__ void maskedFillKernel(T const* __restrict__ x, int32_t const* __restrict__ lengths, T* __restrict__ y,
    int64_t nbChunks, int64_t perBatch, int64_t time, int64_t innerStride, float fill)
{
    for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < nbChunks;
        c += static_cast<int64_t>(gridDim.x) * blockDim.x)
    {
        int64_t const first = c * kV;
        int64_t const b = first / perBatch;
        int64_t const len = __ldg(lengths + b);
        int64_t const t = ((first - b * perBatch) / innerStride) % time;
        if constexpr (kV > 1)
        {
            float v[kV];
            loadVec(x + first, v);
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                // innerStride == 1: element j is at time t + j; otherwise all kV share time t
                if ((innerStride == 1 ? t + j : t) >= len)
                {
                    v[j] = fill;
                }
            }
            storeVec(y + first, v);
        }
        else
        {
            y[first] = t >= len ? fromFloat<T>(fill) : x[first];
        }
    }
}
} // namespace

cudaError_t launchMaskedFill(ElemType type, void const* x, int32_t const* lengths, void* y, int64_t batch,
    int64_t perBatch, int64_t time, int64_t innerStride, float fill, cudaStream_t stream)
{
    int64_t const total = batch * perBatch;
    if (total <= 0)
    {
        return cudaSuccess;
    }
    if (time <= 0 || innerStride <= 0)
    {
        return cudaErrorInvalidValue;
    }
    return dispatchElemType(type,
        [&](auto tag)
        {
            using T = decltype(tag);
            constexpr int kV = kVec<T>;
            bool const vectorised
                = (innerStride == 1 ? time % kV == 0 : innerStride % kV == 0) && aligned16(x) && aligned16(y);
            int64_t const chunks = vectorised ? total / kV : total;
            int const threads = 256;
            auto const blocks = static_cast<unsigned>(std::min<int64_t>((chunks + threads - 1) / threads, 65535 * 8));
            if (vectorised)
            {
                maskedFillKernel<T, kV><<<blocks, threads, 0, stream>>>(
                    static_cast<T const*>(x), lengths, static_cast<T*>(y), chunks, perBatch, time, innerStride, fill);
            }
            else
            {
                maskedFillKernel<T, 1><<<blocks, threads, 0, stream>>>(
                    static_cast<T const*>(x), lengths, static_cast<T*>(y), chunks, perBatch, time, innerStride, fill);
            }
            return cudaGetLastError();
        });
}
} // namespace trt_helper
