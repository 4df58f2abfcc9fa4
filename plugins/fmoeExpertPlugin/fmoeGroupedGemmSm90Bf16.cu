#include "fmoeGroupedGemmSm90.cuh"

namespace trt_helper
{
cudaError_t groupedGemmSm90Bf16(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return groupedGemmSm90T<cutlass::bfloat16_t>(g, kernel, stream);
}

size_t groupedGemmSm90Bf16Workspace(GemmKernel kernel, int32_t groups)
{
    return groupedGemmSm90TWorkspace<cutlass::bfloat16_t>(kernel, groups);
}
} // namespace trt_helper
