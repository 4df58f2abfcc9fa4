#include "maskConv2dSubsampleKernel.h"

#include <algorithm>

namespace trt_helper
{
namespace
{
__device__ __forceinline__ int32_t convLength(int32_t len, int32_t kernel, int32_t stride)
{
    return len < kernel ? 0 : (len - kernel) / stride + 1;
}

__global__ void subsampleLengthsKernel(
    int32_t const* __restrict__ lengths, int32_t* __restrict__ out, int64_t count, int32_t factor)
{
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
        i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    {
        int32_t len = convLength(lengths[i], 3, 2);
        if (factor == 6)
        {
            len = convLength(len, 5, 3);
        }
        else
        {
            len = convLength(len, 3, 2);
            if (factor == 8)
            {
                len = convLength(len, 3, 2);
            }
        }
        out[i] = len;
    }
}
} // namespace

cudaError_t launchSubsampleLengths(
    int32_t const* lengths, int32_t* out, int64_t count, int32_t factor, cudaStream_t stream)
{
    if (factor != 4 && factor != 6 && factor != 8)
    {
        return cudaErrorInvalidValue;
    }
    if (count <= 0)
    {
        return cudaSuccess;
    }
    int const threads = 128;
    auto const blocks = static_cast<unsigned>(std::min<int64_t>((count + threads - 1) / threads, 1024));
    subsampleLengthsKernel<<<blocks, threads, 0, stream>>>(lengths, out, count, factor);
    return cudaGetLastError();
}
} // namespace trt_helper
