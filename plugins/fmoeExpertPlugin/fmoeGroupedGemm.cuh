// CUTLASS grouped-GEMM kernels of FMoEExpert (see fmoeGroupedGemm.h), one instantiation per element type and tile.
#pragma once

#include "fmoeGroupedGemm.h"

#include "cutlass/cutlass.h"
#include "cutlass/device_kernel.h"
#include "cutlass/epilogue/thread/linear_combination_generic.h"
#include "cutlass/gemm/device/default_gemm_configuration.h"
#include "cutlass/gemm/kernel/default_gemm_grouped.h"
#include "cutlass/gemm/threadblock/threadblock_swizzle.h"

#include <atomic>

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
        switch (static_cast<GemmActivation>(a.act))
        {
        case GemmActivation::kSWISH: return v / (1.F + expf(-v));
        case GemmActivation::kRELU: return v > 0.F ? v : 0.F;
        case GemmActivation::kGELU: return 0.5F * v * (1.F + erff(v * 0.70710678118654752F));
        case GemmActivation::kIDENTITY: break;
        }
        return v;
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
    constexpr int kMaxDevices = 64;
    static std::atomic<int> gridCache[kMaxDevices]{};
    int const smem = static_cast<int>(sizeof(typename K::SharedStorage));
    int device = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess)
    {
        return err;
    }
    int grid = device < kMaxDevices ? gridCache[device].load() : 0;
    if (grid == 0)
    {
        if (smem >= (48 << 10)
            && (err = cudaFuncSetAttribute(cutlass::Kernel<K>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem))
                != cudaSuccess)
        {
            return err;
        }
        int perSm = 0;
        int sms = 0;
        if ((err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, cutlass::Kernel<K>, K::kThreadCount, smem))
                != cudaSuccess
            || (err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess)
        {
            return err;
        }
        grid = perSm * sms;
        if (grid <= 0)
        {
            return cudaErrorInvalidConfiguration;
        }
        if (device < kMaxDevices)
        {
            gridCache[device].store(grid);
        }
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

//! Tensor-core kernels for 16-bit T: a 64-row tile for few rows per expert, a 128-row tile otherwise.
template<typename T>
cudaError_t groupedGemmTensorOp(GroupedGemmArgs const& g, cudaStream_t stream)
{
    using Op = cutlass::arch::OpClassTensorOp;
    using Inst = cutlass::gemm::GemmShape<16, 8, 16>;
    if (g.rowsHint < 128)
    {
        return launchGrouped<MoeGroupedKernel<T, Op, cutlass::gemm::GemmShape<64, 128, 32>,
            cutlass::gemm::GemmShape<32, 64, 32>, Inst, 4, 8>>(g, stream);
    }
    return launchGrouped<MoeGroupedKernel<T, Op, cutlass::gemm::GemmShape<128, 128, 32>,
        cutlass::gemm::GemmShape<64, 64, 32>, Inst, 4, 8>>(g, stream);
}

cudaError_t groupedGemmF16(GroupedGemmArgs const& g, cudaStream_t stream);
cudaError_t groupedGemmBf16(GroupedGemmArgs const& g, cudaStream_t stream);
} // namespace trt_helper
