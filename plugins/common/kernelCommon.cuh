// Device helpers shared by the kernels: conversions, 16-byte vector access, warp and block reductions.
#pragma once

#include "kernelTypes.h"

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace trt_helper
{
//! Programmatic dependent launch (sm_90 and later; elsewhere, and in a grid launched without the attribute, no-ops):
//! waitForPrerequisiteGrid returns once the grid this one follows in its stream has completed and its writes are
//! visible; allowDependentLaunch lets the next grid, where it was launched with the attribute, start (its own
//! waitForPrerequisiteGrid still waits for this grid to complete).
__device__ __forceinline__ void waitForPrerequisiteGrid()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void allowDependentLaunch()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

template<typename T>
__device__ __forceinline__ float toFloat(T v);
template<>
__device__ __forceinline__ float toFloat<float>(float v)
{
    return v;
}
template<>
__device__ __forceinline__ float toFloat<__half>(__half v)
{
    return __half2float(v);
}
template<>
__device__ __forceinline__ float toFloat<__nv_bfloat16>(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

template<typename T>
__device__ __forceinline__ T fromFloat(float v);
template<>
__device__ __forceinline__ float fromFloat<float>(float v)
{
    return v;
}
template<>
__device__ __forceinline__ __half fromFloat<__half>(float v)
{
    return __float2half_rn(v);
}
template<>
__device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

//! Number of elements of T in one 16-byte access.
template<typename T>
constexpr int kVec = 16 / sizeof(T);

//! Widens the kVec<T> elements packed in 16 bytes to float.
template<typename T>
__device__ __forceinline__ void unpack(uint4 raw, float (&out)[kVec<T>])
{
    union
    {
        uint4 raw;
        T elems[kVec<T>];
    } u;
    u.raw = raw;
#pragma unroll
    for (int i = 0; i < kVec<T>; ++i)
    {
        out[i] = toFloat(u.elems[i]);
    }
}

//! Narrows kVec<T> floats to T, packed in 16 bytes.
template<typename T>
__device__ __forceinline__ uint4 pack(float const (&in)[kVec<T>])
{
    union
    {
        uint4 raw;
        T elems[kVec<T>];
    } u;
#pragma unroll
    for (int i = 0; i < kVec<T>; ++i)
    {
        u.elems[i] = fromFloat<T>(in[i]);
    }
    return u.raw;
}

//! Loads kVec<T> elements (16 bytes, must be 16-byte aligned) and widens them to float.
template<typename T>
__device__ __forceinline__ void loadVec(T const* p, float (&out)[kVec<T>])
{
    unpack<T>(__ldg(reinterpret_cast<uint4 const*>(p)), out);
}

//! Narrows kVec<T> floats to T and stores them with one 16-byte store (p must be 16-byte aligned).
template<typename T>
__device__ __forceinline__ void storeVec(T* p, float const (&in)[kVec<T>])
{
    *reinterpret_cast<uint4*>(p) = pack<T>(in);
}

__device__ __forceinline__ float warpSum(float v)
{
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

__device__ __forceinline__ float warpMax(float v)
{
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    return v;
}

//! Block-wide sum or max; every thread gets the result. `scratch` holds 32 floats; blockDim.x is a multiple of 32.
template<bool kMax>
__device__ __forceinline__ float blockReduce(float v, float* scratch)
{
    int const lane = threadIdx.x & 31;
    int const warp = threadIdx.x >> 5;
    int const nbWarps = blockDim.x >> 5;
    v = kMax ? warpMax(v) : warpSum(v);
    __syncthreads(); // scratch may still be read by a previous reduction
    if (lane == 0)
    {
        scratch[warp] = v;
    }
    __syncthreads();
    float r = lane < nbWarps ? scratch[lane] : (kMax ? -INFINITY : 0.F);
    return kMax ? warpMax(r) : warpSum(r);
}

//! True when every pointer is 16-byte aligned (needed by the vectorised kernels).
inline bool aligned16(void const* p)
{
    return (reinterpret_cast<uintptr_t>(p) & 15U) == 0;
}

//! Calls f.template operator()<T>() with T the CUDA type of `type`; returns cudaErrorInvalidValue for an unknown type.
template<typename F>
cudaError_t dispatchElemType(ElemType type, F&& f)
{
    switch (type)
    {
    case ElemType::kFLOAT32: return f(float{});
    case ElemType::kFLOAT16: return f(__half{});
    case ElemType::kBFLOAT16: return f(__nv_bfloat16{});
    }
    return cudaErrorInvalidValue;
}
} // namespace trt_helper
