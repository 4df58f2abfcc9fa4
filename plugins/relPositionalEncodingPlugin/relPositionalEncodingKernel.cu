#include "kernelCommon.cuh"
#include "relPositionalEncodingKernel.h"

#include <algorithm>

namespace trt_helper
{
namespace
{
// Chunks [0, xChunks) scale x; chunks [xChunks, xChunks + peChunks) copy pe.
template<typename T, int kV>
__global__ void relPosKernel(T const* __restrict__ x, T const* __restrict__ pe, T* __restrict__ y,
    T* __restrict__ posEmb, int64_t xChunks, int64_t peChunks, float scale)
{
    for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < xChunks + peChunks;
        c += static_cast<int64_t>(gridDim.x) * blockDim.x)
    {
        bool const isX = c < xChunks;
        int64_t const first = (isX ? c : c - xChunks) * kV;
        T const* src = isX ? x : pe;
        T* dst = isX ? y : posEmb;
        float const s = isX ? scale : 1.F;
        if constexpr (kV > 1)
        {
            float v[kV];
            loadVec(src + first, v);
#pragma unroll
            for (int j = 0; j < kV; ++j)
            {
                v[j] *= s;
            }
            storeVec(dst + first, v);
        }
        else
        {
            dst[first] = isX ? fromFloat<T>(toFloat(src[first]) * s) : src[first];
        }
    }
}
} // namespace

cudaError_t launchRelPositionalEncoding(ElemType type, void const* x, void const* pe, void* y, void* posEmb,
    int64_t xCount, int64_t peCount, float scale, cudaStream_t stream)
{
    if (xCount + peCount <= 0)
    {
        return cudaSuccess;
    }
    return dispatchElemType(type,
        [&](auto tag)
        {
            using T = decltype(tag);
            constexpr int kV = kVec<T>;
            bool const vectorised = xCount % kV == 0 && peCount % kV == 0 && aligned16(x) && aligned16(pe)
                && aligned16(y) && aligned16(posEmb);
            int const threads = 256;
            int64_t const chunks = vectorised ? (xCount + peCount) / kV : xCount + peCount;
            auto const blocks = static_cast<unsigned>(std::min<int64_t>((chunks + threads - 1) / threads, 65535 * 8));
            auto const* xt = static_cast<T const*>(x);
            auto const* pt = static_cast<T const*>(pe);
            if (vectorised)
            {
                relPosKernel<T, kV><<<blocks, threads, 0, stream>>>(
                    xt, pt, static_cast<T*>(y), static_cast<T*>(posEmb), xCount / kV, peCount / kV, scale);
            }
            else
            {
                relPosKernel<T, 1><<<blocks, threads, 0, stream>>>(
                    xt, pt, static_cast<T*>(y), static_cast<T*>(posEmb), xCount, peCount, scale);
            }
            return cudaGetLastError();
        });
}
} // namespace trt_helper
