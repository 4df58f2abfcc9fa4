// Per-device resources of the FMoEExpert plugin (cuBLAS handle, event, pinned count buffer), created once per device
// on first use and shared by every FMoEExpert plugin object and clone in the process. Constructors and clone() of
// the plugin create nothing; the resources go away with the last plugin that used them.
#pragma once

#include "fmoeExpertKernel.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace trt_helper
{
class FMoEDeviceResources
{
public:
    ~FMoEDeviceResources();
    FMoEDeviceResources(FMoEDeviceResources const&) = delete;
    FMoEDeviceResources& operator=(FMoEDeviceResources const&) = delete;

    //! The resources of the current device, created on first call; null (with a logged reason) on failure.
    static std::shared_ptr<FMoEDeviceResources> acquire();
    //! "devices_live=.. cublas_handles_created=.. events_created=.. pinned_bytes=.." for the whole process.
    static std::string stats();

    //! Serialises users of the shared handle and pinned buffer; held for the whole enqueue.
    std::mutex mutex;
    //! Makes the mapped pinned offsets buffer hold at least `ints` values (call with mutex held). False on failure.
    bool reserveCounts(int32_t ints);
    FMoEHostResources view() const;
    int device() const
    {
        return mDevice;
    }

private:
    explicit FMoEDeviceResources(int device);

    int mDevice;
    cublasHandle_t mCublas{nullptr};
    cudaEvent_t mEvent{nullptr};
    int32_t* mHostCounts{nullptr};       //!< mapped pinned memory: the routing kernel writes the offsets here
    int32_t* mHostCountsDevice{nullptr}; //!< its device address
    int32_t mHostCountsCapacity{0};
};
} // namespace trt_helper
