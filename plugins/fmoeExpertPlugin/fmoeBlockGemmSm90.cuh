// Hopper block GEMMs of FMoEExpert (sm_90a only, fmoeBlockGemmSm90F16.cu / Bf16.cu). The routing pads every
// expert's rows to a multiple of the kernel's tile rows (64 or 128) and writes, per kBlockRows rows, their expert (-1
// after the last used block). One GEMM of the whole padded matrix then covers all experts:
//   D[r, :] = act(A[r, :] . W[e(r)]^T + bias[e(r)])   with e(r) = blockExpert[r / kBlockRows]
// as a CUTLASS 3.x batched GEMM (M rows, N, K, L = experts) whose A, D and the broadcast bias have L strides 0 / 0
// / N, and whose tile scheduler (MoeBlockTileScheduler below) hands out only (row block, column block) tiles, taking
// L from the block table. Every operand is one plain tensor, so its TMA descriptor is made once on the host (in the
// kernel parameters) where the ptr-array grouped GEMM rewrites a descriptor in device memory whenever a CTA moves to
// another expert. TMA loads, wgmma, a persistent schedule (pingpong for 64-row tiles, cooperative for 128-row ones),
// fp32 accumulation, an epilogue (bias and activation from BiasActOp) staged in shared memory and stored in 16-byte
// vectors.
#pragma once

#include "fmoeSm90Common.cuh"

#include "cute/tensor.hpp"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/arch/grid_dependency_control.h"
#include "cutlass/array.h"
#include "cutlass/epilogue/collective/default_epilogue.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/dispatch_policy.hpp"
#include "cutlass/gemm/kernel/gemm_universal.hpp"
#include "cutlass/gemm/kernel/tile_scheduler.hpp"

namespace trt_helper
{
//! Tile scheduler tag of the block GEMMs.
struct MoeBlockScheduler
{
};

//! CUTLASS's static persistent scheduler over the (row block, column block) tiles of one batch, rasterised along N
//! (row blocks in order), with L = the row block's expert from the device table (kTableStride entries per tile row
//! block: its tile rows / kBlockRows). Blocks after the last used one are invalid; they come last in every CTA's tile
//! sequence, so each CTA stops at its first one.
template<int kTableStride>
class MoeBlockTileScheduler : public cutlass::gemm::kernel::detail::PersistentTileSchedulerSm90
{
    using Base = cutlass::gemm::kernel::detail::PersistentTileSchedulerSm90;

public:
    struct Arguments : Base::Arguments
    {
        int32_t const* blockExpert = nullptr;
    };
    struct Params : Base::Params
    {
        int32_t const* blockExpert = nullptr;
    };

    template<class Problem>
    static auto oneBatch(Problem const& p)
    {
        return cute::make_shape(cute::get<0>(p), cute::get<1>(p), cute::get<2>(p), 1);
    }

    template<class Problem, class TileShape, class ClusterShape>
    static Params to_underlying_arguments(Problem problem, TileShape tile, ClusterShape cluster,
        cutlass::KernelHardwareInfo const& hw, Arguments const& args, void* workspace = nullptr,
        uint32_t const epilogueSubtiles = 1, uint32_t ktileAlignment = 1u)
    {
        Arguments rowsInOrder = args;
        rowsInOrder.raster_order = RasterOrderOptions::AlongN;
        rowsInOrder.max_swizzle_size = 1;
        Params p;
        static_cast<Base::Params&>(p) = Base::to_underlying_arguments(
            oneBatch(problem), tile, cluster, hw, rowsInOrder, workspace, epilogueSubtiles, ktileAlignment);
        p.blockExpert = args.blockExpert;
        return p;
    }

    template<class Problem, class TileShape, class ClusterShape>
    static dim3 get_grid_shape(Params const& params, Problem problem, TileShape tile, ClusterShape cluster,
        cutlass::KernelHardwareInfo hw, Arguments const& args, bool truncate = true)
    {
        return Base::get_grid_shape(params, oneBatch(problem), tile, cluster, hw, args, truncate);
    }

    CUTLASS_HOST_DEVICE MoeBlockTileScheduler() {}

    CUTLASS_DEVICE explicit MoeBlockTileScheduler(Params const& params)
        : Base(params)
        , mBlockExpert(params.blockExpert)
    {
    }

    CUTLASS_DEVICE WorkTileInfo get_current_work() const
    {
        WorkTileInfo work = Base::get_current_work();
        if (work.is_valid())
        {
            // the table is the routing's: under a programmatic dependent launch, wait for the previous grid first
            cutlass::arch::wait_on_dependent_grids();
            int32_t const expert = mBlockExpert[work.M_idx * kTableStride];
            if (expert < 0)
            {
                return WorkTileInfo::invalid_work_tile();
            }
            work.L_idx = expert;
        }
        return work;
    }

    template<class ClusterShape>
    CUTLASS_DEVICE WorkTileInfo initial_work_tile_info(ClusterShape)
    {
        return get_current_work();
    }

    //! The next tile through this class's get_current_work (the base's calls its own; the cooperative kernel fetches
    //! tiles this way, the pingpong one with advance_to_next_work + get_current_work).
    CUTLASS_DEVICE auto fetch_next_work(WorkTileInfo)
    {
        advance_to_next_work();
        return cute::make_tuple(get_current_work(), true);
    }

    template<class Pipeline, class PipelineState>
    CUTLASS_DEVICE auto fetch_next_work(WorkTileInfo work, Pipeline&, PipelineState)
    {
        return fetch_next_work(work);
    }

private:
    int32_t const* mBlockExpert = nullptr;
};
} // namespace trt_helper

namespace cutlass::gemm::kernel::detail
{
template<class TileShape, class ClusterShape, uint32_t kStages, class ProblemShape>
struct TileSchedulerSelector<trt_helper::MoeBlockScheduler, arch::Sm90, TileShape, ClusterShape, kStages, ProblemShape>
{
    using Scheduler
        = trt_helper::MoeBlockTileScheduler<decltype(cute::size<0>(TileShape{}))::value / trt_helper::kBlockRows>;
};
} // namespace cutlass::gemm::kernel::detail

namespace trt_helper
{
namespace
{
using namespace cute;

using StrideRows = cute::Stride<int64_t, _1, _0>; // A and D: (row, column, expert), every expert the same rows
using StrideBias = cute::Stride<_0, _1, int64_t>; // bias (E, N): one row per expert, broadcast over the rows

//! The epilogue D = act(acc + bias) of one kM x kN tile by its kThreads consumer threads (one warp group for 64 rows,
//! two for 128): they put the tile's bias row in shared memory (as floats) with each row's destination and scale (row
//! r and 1; or, where Params::thread.rowToken is set, row rowToken[r] scaled by rowScale there, and none for the
//! expert's padding rows), then each thread takes its fragment two columns at a time (a wgmma accumulator holds column
//! pairs: one 8-byte bias load, one 4-byte shared store per pair; the activation a constant of the unrolled loop) into
//! a padded shared-memory tile, and the threads write whole rows to global memory in 16-byte vectors. (CUTLASS's
//! no-smem DefaultEpilogue stores 2-byte elements scattered over 8 rows per instruction, each after its own bias load:
//! with k = 512 the epilogue, not the mainloop, set the kernel's time.) Rows are always in range (the padded rows are a
//! multiple of kM); columns past N (a multiple of 8) get a zero bias and are not stored. The two warp groups of the
//! pingpong kernel run their epilogues one after the other, so they share the tile, the bias row and a barrier. Params
//! come from DefaultEpilogue.
template<typename T, int kM, int kN, int kThreads>
class MoeBlockEpilogue : public cutlass::epilogue::collective::DefaultEpilogue<T, StrideBias, StrideRows, BiasActOp<T>,
                             cutlass::gemm::EpilogueDefault>
{
    using Base = cutlass::epilogue::collective::DefaultEpilogue<T, StrideBias, StrideRows, BiasActOp<T>,
        cutlass::gemm::EpilogueDefault>;
    static constexpr int kPitch = kN + 8; // elements per shared row: 16-byte aligned, conflict-free fragment writes
    static constexpr int kVec = 16 / sizeof(T);

public:
    using typename Base::Params;
    struct SharedStorage
    {
        alignas(16) T tile[kM * kPitch];
        alignas(16) float bias[kN];
        float rowScale[kM];
        int32_t rowTarget[kM]; //!< the row of D each tile row is stored to; < 0: not stored
    };

    CUTLASS_HOST_DEVICE explicit MoeBlockEpilogue(Params const& params, SharedStorage const& = SharedStorage())
        : Base(params)
        , mParams(params)
    {
    }

    template<class ProblemShapeMNKL, class BlockShapeMNK, class BlockCoordMNKL, class FrgEngine, class FrgLayout,
        class TiledMma, class ResidueMNK>
    CUTLASS_DEVICE void operator()(ProblemShapeMNKL problem, BlockShapeMNK blockShape, BlockCoordMNKL blockCoord,
        cute::Tensor<FrgEngine, FrgLayout> const& accumulators, TiledMma tiledMma, ResidueMNK, int threadIdx,
        char* smem)
    {
        int const n = static_cast<int>(get<1>(problem));
        auto [m, nBlock, k, l] = blockCoord;
        int const col0 = static_cast<int>(nBlock) * kN;
        T const* bias = mParams.ptr_C + static_cast<int64_t>(l) * get<2>(mParams.dC) + col0;
        auto& shared = *reinterpret_cast<SharedStorage*>(smem);
        auto const id = static_cast<uint32_t>(cutlass::arch::ReservedNamedBarriers::EpilogueBarrier);
        for (int c = threadIdx; c < kN; c += kThreads)
        {
            shared.bias[c] = col0 + c < n ? float(bias[c]) : 0.F;
        }
        auto const& op = mParams.thread;
        int32_t const dataEnd = op.rowToken != nullptr ? op.groupStart[l] + op.groupRows[l] : INT32_MAX;
        for (int r = threadIdx; r < kM; r += kThreads)
        {
            int32_t const row = static_cast<int32_t>(m) * kM + r;
            int32_t const target = op.rowToken == nullptr ? row : row < dataEnd ? op.rowToken[row] : -1;
            shared.rowTarget[r] = target;
            shared.rowScale[r] = target >= 0 && op.rowScale != nullptr ? float(op.rowScale[target]) : 1.F;
        }
        cutlass::arch::NamedBarrier::sync(kThreads, id);
        Tensor tCoord = tiledMma.get_thread_slice(threadIdx).partition_C(
            make_identity_tensor(take<0, 2>(blockShape))); // (row, column) in the tile of each fragment element
        switch (static_cast<GemmActivation>(mParams.thread.act))
        {
        case GemmActivation::kSWISH: toShared<GemmActivation::kSWISH>(accumulators, tCoord, shared); break;
        case GemmActivation::kRELU: toShared<GemmActivation::kRELU>(accumulators, tCoord, shared); break;
        case GemmActivation::kGELU: toShared<GemmActivation::kGELU>(accumulators, tCoord, shared); break;
        case GemmActivation::kIDENTITY: toShared<GemmActivation::kIDENTITY>(accumulators, tCoord, shared); break;
        }
        cutlass::arch::NamedBarrier::sync(kThreads, id);
        T* const out = mParams.ptr_D + col0;
        CUTLASS_PRAGMA_UNROLL
        for (int v = threadIdx; v < kM * kN / kVec; v += kThreads)
        {
            int const row = v / (kN / kVec);
            int const col = v % (kN / kVec) * kVec;
            int32_t const target = shared.rowTarget[row];
            if (col0 + col < n && target >= 0)
            {
                *reinterpret_cast<uint4*>(out + static_cast<int64_t>(target) * n + col)
                    = *reinterpret_cast<uint4 const*>(shared.tile + row * kPitch + col);
            }
        }
        cutlass::arch::NamedBarrier::sync(kThreads, id); // the tile is read before it is written again
    }

private:
    //! act(acc + bias) x the row's scale of the thread's fragment into the shared tile, a column pair at a time
    //! (elements 2i and 2i + 1 of a wgmma accumulator fragment are columns c and c + 1 of one row, c even); the
    //! activation is a constant, so the unrolled loop has no branch. Every pair is computed before the first store:
    //! the compiler cannot tell the tile from the bias row and the scales, so it keeps each shared load after the
    //! stores before it, and pairs computed and stored in turn wait for their loads and activations one by one.
    template<GemmActivation kAct, class Accumulators, class Coords>
    CUTLASS_DEVICE static void toShared(Accumulators const& accumulators, Coords const& tCoord, SharedStorage& shared)
    {
        constexpr int kPairs = decltype(size(accumulators))::value / 2;
        static_assert(decltype(size(accumulators))::value % 2 == 0, "column pairs");
        cutlass::AlignedArray<T, 2> pairs[kPairs];
        CUTLASS_PRAGMA_UNROLL
        for (int i = 0; i < kPairs; ++i)
        {
            float2 const b = *reinterpret_cast<float2 const*>(shared.bias + get<1>(tCoord(2 * i)));
            float const s = shared.rowScale[get<0>(tCoord(2 * i))];
            pairs[i][0] = T(moeActivate(float(accumulators(2 * i)) + b.x, kAct) * s);
            pairs[i][1] = T(moeActivate(float(accumulators(2 * i + 1)) + b.y, kAct) * s);
        }
        CUTLASS_PRAGMA_UNROLL
        for (int i = 0; i < kPairs; ++i)
        {
            int const row = get<0>(tCoord(2 * i));
            int const col = get<1>(tCoord(2 * i));
            *reinterpret_cast<cutlass::AlignedArray<T, 2>*>(shared.tile + row * kPitch + col) = pairs[i];
        }
    }

private:
    Params mParams;
};

//! T, tile kM x kN (x 64): pingpong for 64 rows (a warp group per tile), cooperative for 128 (two); on clusters of
//! kClusterM CTAs with consecutive row blocks, which share each weight tile (loaded once, multicast by TMA: the routing
//! pads each expert to kClusterM row blocks, so they have one expert).
template<typename T, int kM, int kN, int kClusterM = 1>
struct Sm90Block
{
    static constexpr int kRowPad = kM * kClusterM;
    static_assert(kM == 64 || kM == 128, "64 or 128 tile rows");
    using Schedule = std::conditional_t<kM == 64, cutlass::gemm::KernelTmaWarpSpecializedPingpong,
        cutlass::gemm::KernelTmaWarpSpecializedCooperative>;
    using StrideW = cute::Stride<int64_t, _1, int64_t>; // W (E, N, K): B column-major per expert
    using Epilogue = cutlass::epilogue::collective::detail::Sm90TmaWarpSpecializedAdapter<
        MoeBlockEpilogue<T, kM, kN, kM == 64 ? 128 : 256>>;
    using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<cutlass::arch::Sm90,
        cutlass::arch::OpClassTensorOp, T, StrideRows, 8, T, StrideW, 8, float, Shape<Int<kM>, Int<kN>, _64>,
        Shape<Int<kClusterM>, _1, _1>,
        cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
        Schedule>::CollectiveOp;
    using Kernel
        = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, Mainloop, Epilogue, MoeBlockScheduler>;
    using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

    static typename Gemm::Arguments arguments(GroupedGemmArgs const& g, int sms)
    {
        cutlass::KernelHardwareInfo hw;
        hw.sm_count = sms;
        int64_t const n = g.n;
        int64_t const k = g.k;
        typename Epilogue::Arguments epilogue{};
        epilogue.thread.act = static_cast<int32_t>(g.act);
        epilogue.thread.rowToken = g.rowToken;
        epilogue.thread.rowScale = static_cast<T const*>(g.rowScale);
        epilogue.thread.groupStart = g.groupStart;
        epilogue.thread.groupRows = g.groupRows;
        epilogue.ptr_C = static_cast<T const*>(g.bias);
        epilogue.dC = StrideBias{_0{}, _1{}, n};
        epilogue.ptr_D = static_cast<T*>(g.dRows);
        epilogue.dD = StrideRows{n, _1{}, _0{}};
        typename Mainloop::Arguments mainloop{};
        mainloop.ptr_A = static_cast<T const*>(g.aRows);
        mainloop.dA = StrideRows{k, _1{}, _0{}};
        mainloop.ptr_B = static_cast<T const*>(g.weights);
        mainloop.dB = StrideW{k, _1{}, n * k};
        typename Kernel::TileSchedulerArguments scheduler{};
        scheduler.blockExpert = g.blockExpert;
        return typename Gemm::Arguments{cutlass::gemm::GemmUniversalMode::kGemm,
            {static_cast<int>(g.rows), g.n, g.k, g.groups}, mainloop, epilogue, hw, scheduler};
    }
};

template<typename G>
cudaError_t runBlock(GroupedGemmArgs const& g, cudaStream_t stream)
{
    auto args = G::arguments(g, smCount(currentDevice()));
    if (args.hw_info.sm_count <= 0 || g.rows % G::kRowPad != 0 || g.rowPad % G::kRowPad != 0 || g.rows > INT32_MAX
        || G::Gemm::get_workspace_size(args) != 0 || G::Gemm::can_implement(args) != cutlass::Status::kSuccess)
    {
        return cudaErrorInvalidValue;
    }
    typename G::Gemm gemm;
    if (gemm.initialize(args, nullptr, stream) != cutlass::Status::kSuccess
        || gemm.run(stream, nullptr, g.dependentLaunch) != cutlass::Status::kSuccess)
    {
        cudaError_t const err = cudaGetLastError();
        return err == cudaSuccess ? cudaErrorLaunchFailure : err;
    }
    return cudaSuccess;
}

//! The block launcher of element type T (cudaErrorInvalidValue for another kernel).
template<typename T>
cudaError_t blockGemmSm90T(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    switch (kernel)
    {
    case GemmKernel::kSM90_BLOCK_64x128: return runBlock<Sm90Block<T, 64, 128>>(g, stream);
#if TRTH_FMOE_TUNING // the 128-row, 64x256 and cluster variants: no faster on an H200 (fmoe_stages)
    case GemmKernel::kSM90_BLOCK_64x256: return runBlock<Sm90Block<T, 64, 256>>(g, stream);
    case GemmKernel::kSM90_BLOCK_128x128: return runBlock<Sm90Block<T, 128, 128>>(g, stream);
    case GemmKernel::kSM90_BLOCK_128x256: return runBlock<Sm90Block<T, 128, 256>>(g, stream);
    case GemmKernel::kSM90_BLOCK_64x128_C2: return runBlock<Sm90Block<T, 64, 128, 2>>(g, stream);
#endif
    default: break;
    }
    return cudaErrorInvalidValue;
}
} // namespace
} // namespace trt_helper
