#include "fmoeGroupedGemmSm90.cuh"

namespace trt_helper
{
cudaError_t groupedGemmSm90F16(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return groupedGemmSm90T<cutlass::half_t>(g, kernel, stream);
}

size_t groupedGemmSm90F16Workspace(GemmKernel kernel, int32_t groups)
{
    return groupedGemmSm90TWorkspace<cutlass::half_t>(kernel, groups);
}
} // namespace trt_helper
