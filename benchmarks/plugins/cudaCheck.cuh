// CHECK(call): exits with the file, line, call and CUDA error text when a CUDA runtime call fails (the standalone
// GPU timing programs of this folder); CHECK_CUBLAS(call) likewise for a cuBLAS call (include cublas_v2.h to use it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime_api.h>

namespace bench
{
//! Where `failed`: prints "file:line call: what" and exits with status 1.
inline void exitIf(bool failed, char const* file, int line, char const* call, char const* what)
{
    if (failed)
    {
        std::fprintf(stderr, "%s:%d %s: %s\n", file, line, call, what);
        std::exit(1);
    }
}
} // namespace bench

#define CHECK(call)                                                                                                    \
    do                                                                                                                 \
    {                                                                                                                  \
        cudaError_t const e_ = (call);                                                                                 \
        ::bench::exitIf(e_ != cudaSuccess, __FILE__, __LINE__, #call, cudaGetErrorString(e_));                         \
    } while (0)

#define CHECK_CUBLAS(call)                                                                                             \
    do                                                                                                                 \
    {                                                                                                                  \
        cublasStatus_t const s_ = (call);                                                                              \
        ::bench::exitIf(s_ != CUBLAS_STATUS_SUCCESS, __FILE__, __LINE__, #call, cublasGetStatusString(s_));            \
    } while (0)
