// GPU timing of the standalone programs of this folder (fmoe_stages.cu, woq_variants.cu, ln_variants.cu), CUDA
// events, medians:
//   queuedMs(call, iters)          one call(i) queued behind a spin kernel on the default stream, so that the host
//                                  has queued it before the start event fires: the GPU's time alone
//   graphMs(stream, capture, reps) capture(stream) issues `reps` calls into a CUDA graph, replayed back to back: the
//                                  time per call as a captured network sees it (launch gaps included)
#pragma once

#include "cudaCheck.cuh"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace bench
{
//! Busy-waits `cycles` clock cycles (one thread): keeps the stream busy while the host queues what follows.
static __global__ void spin(int64_t cycles)
{
    int64_t const start = clock64();
    while (clock64() - start < cycles)
    {
    }
}

inline float median(std::vector<float> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

//! Median ms of call(i), i < iters, each queued behind `spinCycles` of spin kernel on the default stream.
template<typename F>
float queuedMs(F&& call, int iters, int64_t spinCycles = 200000)
{
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    std::vector<float> ms;
    for (int i = 0; i < iters; ++i)
    {
        spin<<<1, 1>>>(spinCycles);
        CHECK(cudaEventRecord(a));
        call(i);
        CHECK(cudaEventRecord(b));
        CHECK(cudaEventSynchronize(b));
        float t = 0;
        CHECK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t);
    }
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    return median(ms);
}

//! Median ms per call over `replays` timed replays (after one untimed) of the graph that capture(stream) records:
//! `reps` calls, capture returning the first launch error (cudaSuccess otherwise).
template<typename F>
float graphMs(cudaStream_t stream, F&& capture, int reps, int replays)
{
    cudaGraph_t graph;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    cudaError_t const err = capture(stream);
    if (err != cudaSuccess)
    {
        cudaStreamEndCapture(stream, &graph);
        CHECK(err);
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CHECK(cudaGraphLaunch(exec, stream));
    CHECK(cudaStreamSynchronize(stream));
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    std::vector<float> ms;
    for (int i = 0; i < replays; ++i)
    {
        CHECK(cudaEventRecord(a, stream));
        CHECK(cudaGraphLaunch(exec, stream));
        CHECK(cudaEventRecord(b, stream));
        CHECK(cudaEventSynchronize(b));
        float t = 0;
        CHECK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t / reps);
    }
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    CHECK(cudaGraphExecDestroy(exec));
    CHECK(cudaGraphDestroy(graph));
    return median(ms);
}
} // namespace bench
