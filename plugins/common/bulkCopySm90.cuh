// Hopper (sm_90) shared-memory pipelines: mbarrier operations, global → shared bulk and tensor copies (cp.async.bulk,
// cp.async.bulk.tensor) that complete on an mbarrier, an L2 prefetch, the position in a ring of stages. Device code for
// __CUDA_ARCH__ >= 900 only; include it where such a kernel is built.
#pragma once

#include <cstdint>
#include <cuda.h>

namespace trt_helper
{
namespace bulk
{
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
__device__ __forceinline__ uint32_t sharedAddress(void const* p)
{
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void barrierInit(uint64_t* bar, uint32_t arrivals)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(sharedAddress(bar)), "r"(arrivals) : "memory");
}

//! Makes the barriers initialised by this thread visible to the other threads and to the bulk-copy unit.
__device__ __forceinline__ void fenceBarrierInit()
{
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

__device__ __forceinline__ void barrierArrive(uint64_t* bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(sharedAddress(bar)) : "memory");
}

//! Arrives and adds `bytes` to the transaction count the current phase waits for.
__device__ __forceinline__ void barrierArriveExpect(uint64_t* bar, uint32_t bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(sharedAddress(bar)), "r"(bytes)
        : "memory");
}

//! Waits until the phase of parity `parity` has completed.
__device__ __forceinline__ void barrierWait(uint64_t* bar, uint32_t parity)
{
    uint32_t done = 0;
    while (!done)
    {
        asm volatile(
            "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}"
            : "=r"(done)
            : "r"(sharedAddress(bar)), "r"(parity)
            : "memory");
    }
}

//! Global → shared bulk copy of `bytes` (a multiple of 16, both ends 16-byte aligned), completing on `bar`.
__device__ __forceinline__ void bulkCopy(void* dst, void const* src, uint32_t bytes, uint64_t* bar)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                     sharedAddress(dst)),
        "l"(src), "r"(bytes), "r"(sharedAddress(bar))
        : "memory");
}

//! The box of `map` at (column, row) into shared memory by the tensor memory accelerator (laid out as the map says),
//! completing on `bar`.
__device__ __forceinline__ void tensorCopy(void* dst, CUtensorMap const& map, int column, int row, uint64_t* bar)
{
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];" ::"r"(
            sharedAddress(dst)),
        "l"(&map), "r"(column), "r"(row), "r"(sharedAddress(bar))
        : "memory");
}

//! Asks L2 to fetch `bytes` (a multiple of 16) at `src` (16-byte aligned) from device memory: a hint that nothing waits
//! for and that reads no value into the SM, so it may run before griddepcontrol.wait (L2 is where writes meet).
__device__ __forceinline__ void prefetchL2(void const* src, uint32_t bytes)
{
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(src), "r"(bytes) : "memory");
}

//! A position in a ring of shared-memory stages: the slot and the parity of its current use.
struct RingPosition
{
    int slot = 0;
    uint32_t phase = 0;
    template<int kRing>
    __device__ __forceinline__ void advance()
    {
        if (++slot == kRing)
        {
            slot = 0;
            phase ^= 1;
        }
    }
};
#endif
} // namespace bulk
} // namespace trt_helper
