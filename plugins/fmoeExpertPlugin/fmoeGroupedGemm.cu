// fp32 (SIMT) kernel and the dispatch. 16-bit types: the Hopper kernel (when built) on compute capability 9.0 with
// at least kSm90MinRows tokens per expert, the Ampere tensor-core kernels otherwise (fmoeGroupedGemmF16.cu / Bf16.cu,
// compiled in parallel). Measured on an H200 (benchmarks/results/plugins_issue12_h200_*.json, E 32, D 512): with
// 64 tokens per expert the Ampere kernels took 0.070 / 0.104 ms (H 1024 / 2048) against the Hopper kernel's
// 0.097 / 0.155 ms; with 256 tokens per expert the Hopper kernel took 0.213 / 0.343 ms against 0.253 / 0.346 ms.
#include "fmoeGroupedGemm.cuh"

#include <cstdlib>
#include <string>

namespace trt_helper
{
#if TRTH_HAVE_SM90_GROUPED
namespace
{
constexpr int64_t kSm90MinRows = 128;

//! True when the Hopper kernels were built and the current device is compute capability 9.0 (cached per device).
//! TRT_HELPER_FMOE_GEMM=sm80 forces the Ampere kernels (to compare them).
bool useSm90()
{
    static bool const forcedOff = []
    {
        char const* v = std::getenv("TRT_HELPER_FMOE_GEMM");
        return v != nullptr && std::string(v) == "sm80";
    }();
    constexpr int kMaxDevices = 64;
    static std::atomic<int> cache[kMaxDevices]{}; // 0 unknown, 1 no, 2 yes
    int device = 0;
    if (forcedOff || cudaGetDevice(&device) != cudaSuccess || device >= kMaxDevices)
    {
        return false;
    }
    int state = cache[device].load();
    if (state == 0)
    {
        int major = 0;
        int minor = 0;
        bool const ok = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess
            && cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess && major == 9
            && minor == 0;
        state = ok ? 2 : 1;
        cache[device].store(state);
    }
    return state == 2;
}
} // namespace
#endif

int32_t groupedGemmAlignment(ElemType type)
{
    return type == ElemType::kFLOAT32 ? 1 : 8;
}

size_t groupedGemmWorkspace(ElemType type, int32_t groups)
{
#if TRTH_HAVE_SM90_GROUPED
    if (type != ElemType::kFLOAT32 && useSm90())
    {
        return groupedGemmSm90Workspace(type, groups); // reserved whatever the rows: the dispatch depends on them
    }
#endif
    return 0;
}

cudaError_t groupedGemm(GroupedGemmArgs const& g, cudaStream_t stream)
{
    switch (g.type)
    {
#if TRTH_HAVE_SM90_GROUPED
    case ElemType::kFLOAT16:
    case ElemType::kBFLOAT16:
        if (g.rowsHint >= kSm90MinRows && useSm90())
        {
            return groupedGemmSm90(g, stream);
        }
        return g.type == ElemType::kFLOAT16 ? groupedGemmF16(g, stream) : groupedGemmBf16(g, stream);
#else
    case ElemType::kFLOAT16: return groupedGemmF16(g, stream);
    case ElemType::kBFLOAT16: return groupedGemmBf16(g, stream);
#endif
    case ElemType::kFLOAT32: break;
    }
    using Simt = cutlass::arch::OpClassSimt;
    return launchGrouped<MoeGroupedKernel<float, Simt, cutlass::gemm::GemmShape<128, 128, 8>,
        cutlass::gemm::GemmShape<32, 64, 8>, cutlass::gemm::GemmShape<1, 1, 1>, 2, 1>>(g, stream);
}
} // namespace trt_helper
