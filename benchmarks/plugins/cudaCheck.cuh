// CHECK(call): exits with the file, line, call and CUDA error text when a CUDA runtime call fails (the standalone
// GPU timing programs of this folder).
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
