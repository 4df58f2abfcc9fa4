// Hopper grouped GEMMs of FMoEExpert (compiled for sm_90a only, fmoeGroupedGemmSm90F16.cu / Bf16.cu): CUTLASS 3.x
// ptr-array warp-specialized kernels (TMA loads, wgmma; pingpong or cooperative, M x N x 64 tiles) with the problem
// sizes only in device memory (no host shapes), and a no-smem epilogue that adds the broadcast bias row (C with
// ldc = 0) and applies the activation.
#pragma once

#include "fmoeSm90Common.cuh"

#include "cutlass/cutlass.h"
#include "cute/tensor.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/collective/default_epilogue_array.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/dispatch_policy.hpp"
#include "cutlass/gemm/group_array_problem_shape.hpp"
#include "cutlass/gemm/kernel/gemm_universal.hpp"

namespace trt_helper
{
namespace
{
using namespace cute;

//! T, tile M x N (x 64), Schedule: KernelPtrArrayTmaWarpSpecializedPingpong or ...Cooperative (M >= 128).
template<typename T, int kM, int kN, typename Schedule>
struct Sm90Grouped
{
    using Stride = cute::remove_pointer_t<cutlass::detail::TagToStrideC_t<cutlass::layout::RowMajor*>>; // (ld, _1, _0)
    static_assert(sizeof(Stride) == sizeof(int64_t), "a stride is one int64: the leading dimension");
    using Epilogue = cutlass::epilogue::collective::detail::Sm90TmaWarpSpecializedAdapter<
        cutlass::epilogue::collective::DefaultEpilogueArray<T, Stride*, Stride*, BiasActOp<T>,
            cutlass::epilogue::PtrArrayNoSmemWarpSpecialized>>;
    using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<cutlass::arch::Sm90,
        cutlass::arch::OpClassTensorOp, T, cutlass::layout::RowMajor*, 8, T, cutlass::layout::ColumnMajor*, 8, float,
        Shape<Int<kM>, Int<kN>, _64>, Shape<_1, _1, _1>,
        cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
        Schedule>::CollectiveOp;
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

template<typename G>
cudaError_t runSm90(GroupedGemmArgs const& g, cudaStream_t stream)
{
    auto args = G::arguments(g, smCount(currentDevice()));
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

template<typename G>
size_t workspaceSm90(int groups)
{
    GroupedGemmArgs g{};
    g.groups = groups;
    return G::Gemm::get_workspace_size(G::arguments(g, smCount(currentDevice())));
}

using Pingpong = cutlass::gemm::KernelPtrArrayTmaWarpSpecializedPingpong;
using Cooperative = cutlass::gemm::KernelPtrArrayTmaWarpSpecializedCooperative;

//! f(Sm90Grouped<...>{}) for a Hopper kernel, else `unavailable` (this file is built only for tuning).
template<typename T, typename R, typename F>
R withSm90Kernel(GemmKernel kernel, R unavailable, F&& f)
{
    switch (kernel)
    {
    case GemmKernel::kSM90_64x128_PINGPONG: return f(Sm90Grouped<T, 64, 128, Pingpong>{});
    case GemmKernel::kSM90_128x128_COOPERATIVE: return f(Sm90Grouped<T, 128, 128, Cooperative>{});
    case GemmKernel::kSM90_128x256_COOPERATIVE: return f(Sm90Grouped<T, 128, 256, Cooperative>{});
    case GemmKernel::kSM90_64x256_PINGPONG: return f(Sm90Grouped<T, 64, 256, Pingpong>{});
    default: break;
    }
    return unavailable;
}

//! The Hopper launcher of element type T (cudaErrorInvalidValue for a kernel this build lacks).
template<typename T>
cudaError_t groupedGemmSm90T(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    return withSm90Kernel<T>(
        kernel, cudaErrorInvalidValue, [&](auto tag) { return runSm90<decltype(tag)>(g, stream); });
}

template<typename T>
size_t groupedGemmSm90TWorkspace(GemmKernel kernel, int32_t groups)
{
    return withSm90Kernel<T>(kernel, size_t{0}, [&](auto tag) { return workspaceSm90<decltype(tag)>(groups); });
}
} // namespace
} // namespace trt_helper
