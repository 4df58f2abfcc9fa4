// Types shared by the kernel launchers. Launchers take plain pointers, sizes and a stream: no TensorRT types.
#pragma once

#include <cstdint>
#include <cuda_runtime_api.h>

namespace trt_helper
{
//! Element type of floating-point tensors the kernels accept.
enum class ElemType : int32_t
{
    kFLOAT32 = 0,
    kFLOAT16 = 1,
    kBFLOAT16 = 2,
};

inline int32_t elemSize(ElemType t)
{
    return t == ElemType::kFLOAT32 ? 4 : 2;
}
} // namespace trt_helper
