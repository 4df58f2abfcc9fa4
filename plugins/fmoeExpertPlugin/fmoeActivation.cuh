// The epilogue activation of FMoEExpert's grouped GEMMs (both kernel families), fp32 arithmetic. On the device
// SiLU uses the fast exponential and division (|error| ~1e-6 relative, far below the 16-bit output rounding).
#pragma once

#include "fmoeGroupedGemm.h"

#include <cmath>

namespace trt_helper
{
__host__ __device__ inline float moeActivate(float v, GemmActivation act)
{
    switch (act)
    {
    case GemmActivation::kSWISH:
#if defined(__CUDA_ARCH__)
        return __fdividef(v, 1.F + __expf(-v));
#else
        return v / (1.F + std::exp(-v));
#endif
    case GemmActivation::kRELU: return v > 0.F ? v : 0.F;
    case GemmActivation::kGELU: return 0.5F * v * (1.F + erff(v * 0.70710678118654752F));
    case GemmActivation::kIDENTITY: break;
    }
    return v;
}
} // namespace trt_helper
