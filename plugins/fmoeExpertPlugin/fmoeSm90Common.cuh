// Pieces shared by FMoEExpert's Hopper GEMMs (sm_90a only): the bias + activation epilogue op.
#pragma once

#include "deviceCache.h"
#include "fmoeActivation.cuh"
#include "fmoeGroupedGemm.h"

#include "cutlass/cutlass.h"

namespace trt_helper
{
namespace
{
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
        int32_t const* rowToken{nullptr}; //!< the block kernels' output rows (GroupedGemmArgs::rowToken, …)
        T const* rowScale{nullptr};
        int32_t const* groupStart{nullptr};
        int32_t const* groupRows{nullptr};
    };

    CUTLASS_HOST_DEVICE explicit BiasActOp(Params const& p, int /*group*/ = 0)
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
        return moeActivate(v, static_cast<GemmActivation>(mAct));
    }
    int32_t mAct;
};
} // namespace
} // namespace trt_helper
