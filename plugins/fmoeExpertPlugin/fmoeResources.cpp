#include "fmoeResources.h"
#include "checkCuda.h"
#include "pluginCommon.h"

#include <atomic>
#include <map>
#include <sstream>

namespace trt_helper
{
namespace
{
std::mutex gRegistryMutex;
std::map<int, std::weak_ptr<FMoEDeviceResources>> gRegistry;
std::atomic<int64_t> gHandlesCreated{0};
std::atomic<int64_t> gEventsCreated{0};
std::atomic<int64_t> gPinnedBytes{0};
std::atomic<int64_t> gLive{0};
} // namespace

FMoEDeviceResources::FMoEDeviceResources(int device)
    : mDevice(device)
{
    ++gLive;
}

FMoEDeviceResources::~FMoEDeviceResources()
{
    int current = -1;
    bool const switched = cudaGetDevice(&current) == cudaSuccess && current != mDevice
        && !reportCudaError(cudaSetDevice(mDevice), "cudaSetDevice", __FILE__, __LINE__);
    if (mCublas != nullptr && cublasDestroy(mCublas) != CUBLAS_STATUS_SUCCESS)
    {
        logError("FMoEExpert: cublasDestroy failed");
    }
    if (mEvent != nullptr)
    {
        reportCudaError(cudaEventDestroy(mEvent), "cudaEventDestroy", __FILE__, __LINE__);
    }
    if (mHostCounts != nullptr)
    {
        reportCudaError(cudaFreeHost(mHostCounts), "cudaFreeHost", __FILE__, __LINE__);
        gPinnedBytes -= static_cast<int64_t>(sizeof(int32_t)) * mHostCountsCapacity;
    }
    if (switched)
    {
        reportCudaError(cudaSetDevice(current), "cudaSetDevice", __FILE__, __LINE__);
    }
    --gLive;
}

std::shared_ptr<FMoEDeviceResources> FMoEDeviceResources::acquire()
{
    int device = 0;
    if (reportCudaError(cudaGetDevice(&device), "cudaGetDevice", __FILE__, __LINE__))
    {
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(gRegistryMutex);
    if (auto existing = gRegistry[device].lock())
    {
        return existing;
    }
    std::shared_ptr<FMoEDeviceResources> res(new FMoEDeviceResources(device));
    if (cublasCreate(&res->mCublas) != CUBLAS_STATUS_SUCCESS)
    {
        res->mCublas = nullptr;
        logError("FMoEExpert: cublasCreate failed on device " + std::to_string(device));
        return nullptr;
    }
    ++gHandlesCreated;
    if (reportCudaError(cudaEventCreateWithFlags(&res->mEvent, cudaEventDisableTiming), "cudaEventCreateWithFlags",
            __FILE__, __LINE__))
    {
        res->mEvent = nullptr;
        return nullptr;
    }
    ++gEventsCreated;
    gRegistry[device] = res;
    return res;
}

bool FMoEDeviceResources::reserveCounts(int32_t ints)
{
    if (ints <= mHostCountsCapacity)
    {
        return true;
    }
    if (mHostCounts != nullptr)
    {
        if (reportCudaError(cudaFreeHost(mHostCounts), "cudaFreeHost", __FILE__, __LINE__))
        {
            return false;
        }
        gPinnedBytes -= static_cast<int64_t>(sizeof(int32_t)) * mHostCountsCapacity;
        mHostCounts = nullptr;
        mHostCountsDevice = nullptr;
        mHostCountsCapacity = 0;
    }
    void* p = nullptr;
    void* device = nullptr;
    if (reportCudaError(cudaHostAlloc(&p, sizeof(int32_t) * ints, cudaHostAllocMapped), "cudaHostAlloc", __FILE__,
            __LINE__))
    {
        return false;
    }
    mHostCounts = static_cast<int32_t*>(p);
    if (reportCudaError(cudaHostGetDevicePointer(&device, p, 0), "cudaHostGetDevicePointer", __FILE__, __LINE__))
    {
        reportCudaError(cudaFreeHost(mHostCounts), "cudaFreeHost", __FILE__, __LINE__);
        mHostCounts = nullptr;
        return false;
    }
    mHostCountsDevice = static_cast<int32_t*>(device);
    mHostCountsCapacity = ints;
    gPinnedBytes += static_cast<int64_t>(sizeof(int32_t)) * ints;
    return true;
}

FMoEHostResources FMoEDeviceResources::view() const
{
    return FMoEHostResources{mCublas, mEvent, mHostCounts, mHostCountsDevice};
}

std::string FMoEDeviceResources::stats()
{
    std::ostringstream os;
    os << "devices_live=" << gLive.load() << " cublas_handles_created=" << gHandlesCreated.load()
       << " events_created=" << gEventsCreated.load() << " streams_created=0 pinned_bytes=" << gPinnedBytes.load();
    return os.str();
}
} // namespace trt_helper
