#include "fmoeGroupedGemm.cuh"

namespace trt_helper
{
cudaError_t groupedGemmSm80F16(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return groupedGemmTensorOp<cutlass::half_t>(g, kernel, stream);
}
} // namespace trt_helper
