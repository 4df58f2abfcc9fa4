#include "fmoeGroupedGemm.cuh"

namespace trt_helper
{
cudaError_t groupedGemmBf16(GroupedGemmArgs const& g, cudaStream_t stream)
{
    return groupedGemmTensorOp<cutlass::bfloat16_t>(g, stream);
}
} // namespace trt_helper
