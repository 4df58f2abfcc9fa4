// CUTLASS grouped-GEMM kernels of FMoEExpert (see fmoeGroupedGemm.h), one instantiation per element type and tile.
#pragma once

#include "fmoeActivation.cuh"
#include "deviceCache.h"
#include "fmoeGroupedGemm.h"

#include "cutlass/cutlass.h"
#include "cutlass/device_kernel.h"
#include "cutlass/epilogue/thread/linear_combination_generic.h"
#include "cutlass/gemm/device/default_gemm_configuration.h"
#include "cutlass/gemm/kernel/default_gemm_grouped.h"
#include "cutlass/gemm/threadblock/threadblock_swizzle.h"

namespace trt_helper
{
//! The runtime activation of the epilogue (LinearCombinationGeneric passes its Params, which derive from this).
struct MoeActArguments
{
    int32_t act{static_cast<int32_t>(GemmActivation::kIDENTITY)};
};

template<typename T>
struct MoeActFunctor
{
    using Arguments = MoeActArguments;
    CUTLASS_HOST_DEVICE T operator()(T v, Arguments const& a) const
    {
        return T(moeActivate(float(v), static_cast<GemmActivation>(a.act)));
    }
};

template<typename T, int N>
struct MoeActFunctor<cutlass::Array<T, N>>
{
    using Arguments = MoeActArguments;
    CUTLASS_HOST_DEVICE cutlass::Array<T, N> operator()(cutlass::Array<T, N> const& v, Arguments const& a) const
    {
        MoeActFunctor<T> f;
        cutlass::Array<T, N> out;
        CUTLASS_PRAGMA_UNROLL
        for (int i = 0; i < N; ++i)
        {
            out[i] = f(v[i], a);
        }
        return out;
    }
};

//! A grouped kernel: A row-major, B column-major, C/D row-major, fp32 accumulation, device-only scheduling.
template<typename T, typename OpClass, typename TileShape, typename WarpShape, typename InstShape, int kStages,
    int kAlign>
using MoeGroupedKernel = typename cutlass::gemm::kernel::DefaultGemmGrouped<T, cutlass::layout::RowMajor,
    cutlass::ComplexTransform::kNone, kAlign, T, cutlass::layout::ColumnMajor, cutlass::ComplexTransform::kNone, kAlign,
    T, cutlass::layout::RowMajor, float, OpClass, cutlass::arch::Sm80, TileShape, WarpShape, InstShape,
    cutlass::epilogue::thread::LinearCombinationGeneric<MoeActFunctor, T, kAlign, float, float>,
    cutlass::gemm::threadblock::GemmIdentityThreadblockSwizzle<1>, kStages,
    cutlass::gemm::kernel::GroupScheduleMode::kDeviceOnly>::GemmKernel;

//! Launches kernel K as a persistent grid (SMs x resident blocks, cached per device; no stream operation).
template<typename K>
cudaError_t launchGrouped(GroupedGemmArgs const& g, cudaStream_t stream)
{
    using Element = typename K::ElementA;
    static PerDeviceCache gridCache;
    int const smem = static_cast<int>(sizeof(typename K::SharedStorage));
    int const grid = gridCache.get(
        currentDevice(), [&](int device) { return residentCtas(cutlass::Kernel<K>, K::kThreadCount, smem, device); });
    if (grid == 0)
    {
        return cudaErrorInvalidDeviceFunction; // no code for this device, or the query failed
    }
    typename K::EpilogueOutputOp::Params epilogue(1.F, 1.F);
    epilogue.act = static_cast<int32_t>(g.act);
    using Layout = cutlass::layout::RowMajor::Stride::LongIndex;
    typename K::Arguments args(
        const_cast<cutlass::gemm::GemmCoord*>(reinterpret_cast<cutlass::gemm::GemmCoord const*>(g.problems)), g.groups,
        grid, epilogue, reinterpret_cast<Element**>(const_cast<void**>(g.a)),
        reinterpret_cast<Element**>(const_cast<void**>(g.b)), reinterpret_cast<Element**>(const_cast<void**>(g.c)),
        reinterpret_cast<Element**>(const_cast<void**>(g.d)), const_cast<Layout*>(g.lda), const_cast<Layout*>(g.ldb),
        const_cast<Layout*>(g.ldc), const_cast<Layout*>(g.ldd));
    typename K::Params params(args, nullptr, 0);
    cutlass::Kernel<K><<<grid, K::kThreadCount, smem, stream>>>(params);
    return cudaGetLastError();
}

//! A tensor-core (mma.sync) kernel for 16-bit T: tile M x N x K, warp tile, stages.
template<typename T, int kM, int kN, int kK, int kWM, int kWN, int kStages>
cudaError_t launchSm80(GroupedGemmArgs const& g, cudaStream_t stream)
{
    using namespace cutlass::gemm;
    return launchGrouped<MoeGroupedKernel<T, cutlass::arch::OpClassTensorOp, GemmShape<kM, kN, kK>,
        GemmShape<kWM, kWN, kK>, GemmShape<16, 8, 16>, kStages, 8>>(g, stream);
}

//! The sm80 kernels of this build for 16-bit T; cudaErrorInvalidValue for a Hopper kernel or one not built.
template<typename T>
cudaError_t groupedGemmTensorOp(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    switch (kernel)
    {
    case GemmKernel::kSM80_64x128x32: return launchSm80<T, 64, 128, 32, 32, 64, 4>(g, stream);
    case GemmKernel::kSM80_64x64x64: return launchSm80<T, 64, 64, 64, 32, 32, 4>(g, stream);
#if TRTH_FMOE_TUNING
    case GemmKernel::kSM80_128x128x32: return launchSm80<T, 128, 128, 32, 64, 64, 4>(g, stream);
    case GemmKernel::kSM80_128x128x64: return launchSm80<T, 128, 128, 64, 64, 64, 3>(g, stream);
    case GemmKernel::kSM80_128x64x64: return launchSm80<T, 128, 64, 64, 64, 32, 4>(g, stream);
#endif
    default: break;
    }
    return cudaErrorInvalidValue;
}
} // namespace trt_helper
