// Per-device facts the kernel launchers need (SM count, compute capability, CTAs of a kernel that fit at once),
// queried on a device's first launch and cached, so that later enqueues make no CUDA query.
#pragma once

#include <atomic>
#include <cuda_runtime_api.h>

namespace trt_helper
{
constexpr int kMaxDevices = 64;

//! The current device, or -1 (query failed, or an ordinal of kMaxDevices or more: nothing is cached for it).
inline int currentDevice()
{
    int device = 0;
    return cudaGetDevice(&device) == cudaSuccess && device < kMaxDevices ? device : -1;
}

//! One positive int per device, computed by `query(device)` on first use. A failed query (a result <= 0) is cached too
//! and reads as 0; it leaves no CUDA error behind. Two threads racing on a first use both query (same answer).
class PerDeviceCache
{
public:
    template<typename Query>
    int get(int device, Query&& query)
    {
        if (device < 0 || device >= kMaxDevices)
        {
            return 0;
        }
        int value = mValues[device].load(std::memory_order_relaxed);
        if (value == 0)
        {
            int const queried = query(device);
            value = queried > 0 ? queried : -1;
            cudaGetLastError();
            mValues[device].store(value, std::memory_order_relaxed);
        }
        return value > 0 ? value : 0;
    }

private:
    std::atomic<int> mValues[kMaxDevices]{};
};

//! Multiprocessors of `device` (0 on error).
inline int smCount(int device)
{
    static PerDeviceCache cache;
    return cache.get(device,
        [](int d)
        {
            int n = 0;
            return cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, d) == cudaSuccess ? n : 0;
        });
}

//! Compute capability of `device` as 10 x major + minor (90 for Hopper; 0 on error).
inline int computeCapability(int device)
{
    static PerDeviceCache cache;
    return cache.get(device,
        [](int d)
        {
            int major = 0;
            int minor = 0;
            return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d) == cudaSuccess
                    && cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d) == cudaSuccess
                ? 10 * major + minor
                : 0;
        });
}

//! CTAs of `kernel` (`threads` threads, `smemBytes` of dynamic shared memory, its limit raised to that) that fit on
//! `device` at once; 0 on error. Not cached: callers keep one PerDeviceCache per kernel.
template<typename Kernel>
int residentCtas(Kernel kernel, int threads, int smemBytes, int device)
{
    int perSm = 0;
    bool const ok
        = (smemBytes < (48 << 10)
              || cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes) == cudaSuccess)
        && cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, threads, smemBytes) == cudaSuccess;
    return ok ? perSm * smCount(device) : 0;
}
} // namespace trt_helper
