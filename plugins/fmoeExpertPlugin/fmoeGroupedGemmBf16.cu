#include "fmoeGroupedGemm.cuh"

namespace trt_helper
{
cudaError_t groupedGemmSm80Bf16(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return groupedGemmTensorOp<cutlass::bfloat16_t>(g, kernel, stream);
}
} // namespace trt_helper
