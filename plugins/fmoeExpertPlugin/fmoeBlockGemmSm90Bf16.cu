#include "fmoeBlockGemmSm90.cuh"

namespace trt_helper
{
cudaError_t blockGemmSm90Bf16(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return blockGemmSm90T<cutlass::bfloat16_t>(g, kernel, stream);
}
} // namespace trt_helper
