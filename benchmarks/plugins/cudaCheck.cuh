// CHECK(call): exits with the file, line, call and CUDA error text when a CUDA runtime call fails (the standalone
// GPU timing programs of this folder); CHECK_CUBLAS(call) likewise for a cuBLAS call (include cublas_v2.h to use it).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime_api.h>

#define CHECK(call)                                                                                                    \
    do                                                                                                                 \
    {                                                                                                                  \
        cudaError_t const e_ = (call);                                                                                 \
        if (e_ != cudaSuccess)                                                                                         \
        {                                                                                                              \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));                 \
            std::exit(1);                                                                                              \
        }                                                                                                              \
    } while (0)

#define CHECK_CUBLAS(call)                                                                                             \
    do                                                                                                                 \
    {                                                                                                                  \
        cublasStatus_t const s_ = (call);                                                                              \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                               \
        {                                                                                                              \
            std::fprintf(stderr, "%s:%d %s: cuBLAS status %d\n", __FILE__, __LINE__, #call, static_cast<int>(s_));     \
            std::exit(1);                                                                                              \
        }                                                                                                              \
    } while (0)
