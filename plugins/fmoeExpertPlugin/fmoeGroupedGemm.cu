// fp32 (SIMT) kernel and the type dispatch; the 16-bit kernels are in their own files (compiled in parallel).
#include "fmoeGroupedGemm.cuh"

namespace trt_helper
{
int32_t groupedGemmAlignment(ElemType type)
{
    return type == ElemType::kFLOAT32 ? 1 : 8;
}

cudaError_t groupedGemm(GroupedGemmArgs const& g, cudaStream_t stream)
{
    switch (g.type)
    {
    case ElemType::kFLOAT16: return groupedGemmF16(g, stream);
    case ElemType::kBFLOAT16: return groupedGemmBf16(g, stream);
    case ElemType::kFLOAT32: break;
    }
    using Simt = cutlass::arch::OpClassSimt;
    return launchGrouped<MoeGroupedKernel<float, Simt, cutlass::gemm::GemmShape<128, 128, 8>,
        cutlass::gemm::GemmShape<32, 64, 8>, cutlass::gemm::GemmShape<1, 1, 1>, 2, 1>>(g, stream);
}
} // namespace trt_helper
