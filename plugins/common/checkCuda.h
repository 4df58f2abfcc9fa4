// Error checking for CUDA and cuBLAS calls: every call is checked, the first failure is logged and returned.
#pragma once

#include <cuda_runtime_api.h>

namespace trt_helper
{
//! Logs "<what> failed at file:line: <cuda error string>" through the plugin logger; returns true on failure.
bool reportCudaError(cudaError_t status, char const* what, char const* file, int line) noexcept;
} // namespace trt_helper

//! Evaluates a cudaError_t expression; on failure logs it and returns -1 from the enclosing int32_t function.
#define TRTH_CUDA_RETURN(call)                                                                                         \
    do                                                                                                                 \
    {                                                                                                                  \
        cudaError_t const trthStatus_ = (call);                                                                        \
        if (::trt_helper::reportCudaError(trthStatus_, #call, __FILE__, __LINE__))                                     \
        {                                                                                                              \
            return -1;                                                                                                 \
        }                                                                                                              \
    } while (0)
