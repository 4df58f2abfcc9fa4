// Launch configuration of a programmatic dependent launch (compute capability 9.0 and later; the callers ask for one
// only there): the kernel may start while the one before it in the stream ends, and must call
// waitForPrerequisiteGrid (kernelCommon.cuh) before it touches memory that kernel may use.
#pragma once

#include <cuda_runtime_api.h>

namespace trt_helper
{
//! A launch of grid × block threads with `sharedBytes` of dynamic shared memory on `stream`, as a programmatic
//! dependent of the launch before it when `dependent` is true (`attribute` holds the attribute; keep it alive until
//! the launch).
inline cudaLaunchConfig_t dependentLaunchConfig(dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
    cudaLaunchAttribute& attribute, bool dependent = true)
{
    attribute = {};
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = sharedBytes;
    config.stream = stream;
    config.attrs = &attribute;
    config.numAttrs = dependent ? 1 : 0;
    return config;
}
} // namespace trt_helper
