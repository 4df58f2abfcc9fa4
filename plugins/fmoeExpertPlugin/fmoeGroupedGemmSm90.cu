// Hopper grouped GEMM of FMoEExpert (compiled for sm_90a only): CUTLASS 3.x ptr-array warp-specialized pingpong
// kernel (TMA loads, wgmma, 64 x 128 x 64 tiles) with the problem sizes only in device memory (no host shapes), and a
// no-smem epilogue that adds the broadcast bias row (C with ldc = 0) and applies the activation.
#include "fmoeGroupedGemm.h"

#include "cutlass/cutlass.h"
#include "cute/tensor.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/collective/default_epilogue_array.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/dispatch_policy.hpp"
#include "cutlass/gemm/group_array_problem_shape.hpp"
#include "cutlass/gemm/kernel/gemm_universal.hpp"

#include <atomic>

namespace trt_helper
{
namespace
{
using namespace cute;

//! Thread-level epilogue: D = act(acc + C), C the bias row (read through a zero row stride), fp32 arithmetic.
template<typename T>
struct BiasActOp
{
    using ElementOutput = T;
    using ElementD = T;
    using ElementAccumulator = float;
    using ElementCompute = float;
    static constexpr int kCount = 1;
    struct Params
    {
        int32_t act{static_cast<int32_t>(GemmActivation::kIDENTITY)};
    };

    CUTLASS_HOST_DEVICE BiasActOp(Params const& p, int /*group*/)
        : mAct(p.act)
    {
    }
    CUTLASS_HOST_DEVICE bool is_source_needed() const
    {
        return true;
    }
    CUTLASS_HOST_DEVICE T operator()(float acc, T bias) const
    {
        return T(activate(acc + float(bias)));
    }
    CUTLASS_HOST_DEVICE T operator()(float acc) const
    {
        return T(activate(acc));
    }

private:
    CUTLASS_HOST_DEVICE float activate(float v) const
    {
        switch (static_cast<GemmActivation>(mAct))
        {
        case GemmActivation::kSWISH: return v / (1.F + expf(-v));
        case GemmActivation::kRELU: return v > 0.F ? v : 0.F;
        case GemmActivation::kGELU: return 0.5F * v * (1.F + erff(v * 0.70710678118654752F));
        case GemmActivation::kIDENTITY: break;
        }
        return v;
    }
    int32_t mAct;
};

template<typename T>
struct Sm90Grouped
{
    using Stride = cute::remove_pointer_t<cutlass::detail::TagToStrideC_t<cutlass::layout::RowMajor*>>; // (ld, _1, _0)
    static_assert(sizeof(Stride) == sizeof(int64_t), "a stride is one int64: the leading dimension");
    using Epilogue = cutlass::epilogue::collective::detail::Sm90TmaWarpSpecializedAdapter<
        cutlass::epilogue::collective::DefaultEpilogueArray<T, Stride*, Stride*, BiasActOp<T>,
            cutlass::epilogue::PtrArrayNoSmemWarpSpecialized>>;
    using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<cutlass::arch::Sm90,
        cutlass::arch::OpClassTensorOp, T, cutlass::layout::RowMajor*, 8, T, cutlass::layout::ColumnMajor*, 8, float,
        Shape<_64, _128, _64>, Shape<_1, _1, _1>,
        cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
        cutlass::gemm::KernelPtrArrayTmaWarpSpecializedPingpong>::CollectiveOp;
    using Problem = cutlass::gemm::GroupProblemShape<Shape<int, int, int>>;
    using Kernel = cutlass::gemm::kernel::GemmUniversal<Problem, Mainloop, Epilogue>;
    using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;
    using StrideA = typename Kernel::InternalStrideA;
    using StrideB = typename Kernel::InternalStrideB;
    static_assert(sizeof(StrideA) == sizeof(Stride) && sizeof(StrideB) == sizeof(Stride), "strides: one int64");

    static typename Gemm::Arguments arguments(GroupedGemmArgs const& g, int sms)
    {
        cutlass::KernelHardwareInfo hw;
        hw.sm_count = sms;
        typename Problem::UnderlyingProblemShape* problems
            = reinterpret_cast<typename Problem::UnderlyingProblemShape*>(const_cast<int32_t*>(g.problems));
        typename Epilogue::Arguments epilogue{};
        epilogue.thread.act = static_cast<int32_t>(g.act);
        epilogue.ptr_C = const_cast<T const**>(reinterpret_cast<T* const*>(g.c));
        epilogue.dC = reinterpret_cast<Stride*>(const_cast<int64_t*>(g.ldc));
        epilogue.ptr_D = const_cast<T**>(reinterpret_cast<T* const*>(g.d));
        epilogue.dD = reinterpret_cast<Stride*>(const_cast<int64_t*>(g.ldd));
        typename Mainloop::Arguments mainloop{};
        mainloop.ptr_A = const_cast<T const**>(reinterpret_cast<T* const*>(g.a));
        mainloop.dA = reinterpret_cast<StrideA*>(const_cast<int64_t*>(g.lda));
        mainloop.ptr_B = const_cast<T const**>(reinterpret_cast<T* const*>(g.b));
        mainloop.dB = reinterpret_cast<StrideB*>(const_cast<int64_t*>(g.ldb));
        return typename Gemm::Arguments{
            cutlass::gemm::GemmUniversalMode::kGrouped, {g.groups, problems, nullptr}, mainloop, epilogue, hw};
    }
};

int smCount()
{
    constexpr int kMaxDevices = 64;
    static std::atomic<int> cache[kMaxDevices]{};
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess || device >= kMaxDevices)
    {
        return 0;
    }
    int sms = cache[device].load();
    if (sms == 0 && cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess)
    {
        cache[device].store(sms);
    }
    return sms;
}

template<typename T>
cudaError_t runSm90(GroupedGemmArgs const& g, cudaStream_t stream)
{
    using G = Sm90Grouped<T>;
    auto args = G::arguments(g, smCount());
    if (args.hw_info.sm_count <= 0 || G::Gemm::get_workspace_size(args) > g.workspaceSize)
    {
        return cudaErrorInvalidValue;
    }
    typename G::Gemm gemm;
    if (gemm.initialize(args, g.workspace, stream) != cutlass::Status::kSuccess
        || gemm.run(stream) != cutlass::Status::kSuccess)
    {
        cudaError_t const err = cudaGetLastError();
        return err == cudaSuccess ? cudaErrorLaunchFailure : err;
    }
    return cudaSuccess;
}

template<typename T>
size_t workspaceSm90(int groups)
{
    GroupedGemmArgs g{};
    g.groups = groups;
    return Sm90Grouped<T>::Gemm::get_workspace_size(Sm90Grouped<T>::arguments(g, smCount()));
}
} // namespace

cudaError_t groupedGemmSm90(GroupedGemmArgs const& g, cudaStream_t stream)
{
    return g.type == ElemType::kBFLOAT16 ? runSm90<cutlass::bfloat16_t>(g, stream)
                                         : runSm90<cutlass::half_t>(g, stream);
}

size_t groupedGemmSm90Workspace(ElemType type, int32_t groups)
{
    return type == ElemType::kBFLOAT16 ? workspaceSm90<cutlass::bfloat16_t>(groups)
                                       : workspaceSm90<cutlass::half_t>(groups);
}
} // namespace trt_helper
