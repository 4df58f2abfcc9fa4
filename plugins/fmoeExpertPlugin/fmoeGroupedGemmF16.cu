#include "fmoeGroupedGemm.cuh"

namespace trt_helper
{
cudaError_t groupedGemmF16(GroupedGemmArgs const& g, cudaStream_t stream)
{
    return groupedGemmTensorOp<cutlass::half_t>(g, stream);
}
} // namespace trt_helper
