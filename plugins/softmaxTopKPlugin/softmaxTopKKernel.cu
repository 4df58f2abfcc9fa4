#include "kernelCommon.cuh"
#include "softmaxTopKKernel.h"

namespace trt_helper
{
namespace
{
constexpr int kWarpsPerBlock = 4;

template<typename T>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    softmaxTop1Kernel(T const* __restrict__ logits, int32_t const* __restrict__ lengths, T* __restrict__ value,
        int32_t* __restrict__ index, int64_t tokens, int64_t time, int32_t experts)
{
    int64_t const token = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (token >= tokens)
    {
        return;
    }
    int const lane = threadIdx.x & 31;
    int64_t const b = token / time;
    int64_t const t = token - b * time;
    if (t >= __ldg(lengths + b))
    {
        if (lane == 0)
        {
            value[token] = fromFloat<T>(0.F);
            index[token] = 0;
        }
        return;
    }
    T const* row = logits + token * experts;
    float best = -INFINITY;
    int32_t bestIdx = INT32_MAX;
    for (int32_t e = lane; e < experts; e += 32)
    {
        float const v = toFloat(row[e]);
        if (v > best || (v == best && e < bestIdx))
        {
            best = v;
            bestIdx = e;
        }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        float const ov = __shfl_xor_sync(0xffffffffu, best, offset);
        int32_t const oi = __shfl_xor_sync(0xffffffffu, bestIdx, offset);
        if (ov > best || (ov == best && oi < bestIdx))
        {
            best = ov;
            bestIdx = oi;
        }
    }
    float sum = 0.F;
    for (int32_t e = lane; e < experts; e += 32)
    {
        sum += expf(toFloat(row[e]) - best);
    }
    sum = warpSum(sum);
    if (lane == 0)
    {
        // all -inf logits: no expert is preferred; report expert 0 with probability 0 rather than NaN
        bool const finite = best > -INFINITY;
        value[token] = fromFloat<T>(finite ? 1.F / sum : 0.F);
        index[token] = finite ? bestIdx : 0;
    }
}
} // namespace

cudaError_t launchSoftmaxTop1(ElemType type, void const* logits, int32_t const* lengths, void* value, int32_t* index,
    int64_t batch, int64_t time, int32_t experts, cudaStream_t stream)
{
    int64_t const tokens = batch * time;
    if (tokens <= 0)
    {
        return cudaSuccess;
    }
    if (experts <= 0 || tokens > int64_t{INT32_MAX})
    {
        return cudaErrorInvalidValue;
    }
    return dispatchElemType(type,
        [&](auto tag)
        {
            using T = decltype(tag);
            auto const blocks = static_cast<unsigned>((tokens + kWarpsPerBlock - 1) / kWarpsPerBlock);
            softmaxTop1Kernel<T><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
                static_cast<T const*>(logits), lengths, static_cast<T*>(value), index, tokens, time, experts);
            return cudaGetLastError();
        });
}
} // namespace trt_helper
