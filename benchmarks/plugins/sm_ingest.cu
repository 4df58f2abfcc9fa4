// How fast a given number of SMs can take data in from global memory (device memory or L2), without TensorRT:
// one CTA per SM (200 KB of dynamic shared memory each) streams units round robin through a ring of `stages` stages,
// each filled by one 1D bulk copy (cp.async.bulk) completing on the stage's mbarrier; 8 consumer warps only release
// the stages. 8 KB units on 33 / 66 / 96 / 132 SMs with 8 / 24 stages from (a) 101 MB rotated over copies past L2
// (device memory) and (b) one 512 KB buffer (an L2-resident operand, as x is for the WeightOnlyGemm wgmma kernel's
// CTAs); then 2 … 32 KB units (a 128 KB ring) on 132 SMs, each with one thread issuing every copy or the producer
// warp's lanes taking turns, and consumers waiting with mbarrier.try_wait (which may suspend) or polling test_wait.
// Time per call of 20 calls replayed from a CUDA graph, median of 30 replays (bench::graphMs).
//   nvcc -std=c++17 -O3 -arch=sm_90 -Iplugins/common benchmarks/plugins/sm_ingest.cu -o sm_ingest && ./sm_ingest
#include "bulkCopySm90.cuh"
#include "gpuTiming.cuh"

#include <cstdio>
#include <vector>

//! Waits for the phase of parity `parity` by polling (mbarrier.test_wait, which never suspends the thread).
__device__ __forceinline__ void spinWait(uint64_t* bar, uint32_t parity)
{
    uint32_t done = 0;
    while (!done)
    {
        asm volatile(
            "{\n .reg .pred p;\n mbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}"
            : "=r"(done)
            : "r"(trt_helper::bulk::sharedAddress(bar)), "r"(parity)
            : "memory");
    }
}

//! CTA b reads units b, b + gridDim.x, … of `units` (unit u at p + (u % wrap) · unitBytes) through its ring.
__global__ void __launch_bounds__(288)
    ringRead(char const* p, int64_t units, int64_t wrap, int stages, int unitBytes, int mode, uint32_t* out)
{
    namespace b = trt_helper::bulk;
    extern __shared__ __align__(128) unsigned char ring[];
    auto* full = reinterpret_cast<uint64_t*>(ring + static_cast<size_t>(stages) * unitBytes);
    uint64_t* empty = full + stages;
    if (threadIdx.x == 0)
    {
        for (int i = 0; i < stages; ++i)
        {
            b::barrierInit(&full[i], 1);
            b::barrierInit(&empty[i], 8);
        }
        b::fenceBarrierInit();
    }
    __syncthreads();
    int const warp = threadIdx.x >> 5;
    int const lane = threadIdx.x & 31;
    uint32_t s = 0;
    int it = 0;
    for (int64_t u = blockIdx.x; u < units; u += gridDim.x, ++it)
    {
        int const slot = it % stages;
        uint32_t const phase = (it / stages) & 1;
        if (warp == 8)
        {
            b::barrierWait(&empty[slot], phase ^ 1);
            if (lane == ((mode & 1) ? it % 32 : 0)) // one thread issues every copy, or the lanes take turns
            {
                b::barrierArriveExpect(&full[slot], unitBytes);
                b::bulkCopy(
                    ring + static_cast<size_t>(slot) * unitBytes, p + (u % wrap) * unitBytes, unitBytes, &full[slot]);
            }
        }
        else
        {
            if (mode & 2)
            {
                spinWait(&full[slot], phase);
            }
            else
            {
                b::barrierWait(&full[slot], phase);
            }
            s ^= reinterpret_cast<uint32_t const*>(ring + static_cast<size_t>(slot) * unitBytes)[warp * 32 + lane];
            __syncwarp();
            if (lane == 0)
            {
                b::barrierArrive(&empty[slot]);
            }
        }
    }
    if (s == 0x12345678U)
    {
        out[blockIdx.x] = s;
    }
}

int main()
{
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, 0));
    int const sms = prop.multiProcessorCount;
    constexpr int kShared = 200 * 1024; // one CTA per SM
    CHECK(cudaFuncSetAttribute(ringRead, cudaFuncAttributeMaxDynamicSharedMemorySize, kShared));
    uint32_t* sink = nullptr;
    CHECK(cudaMalloc(&sink, 4096 * 4));
    int64_t const bytes = 101LL << 20;
    int const copies = 6;
    std::vector<char*> bufs(copies);
    for (auto& b : bufs)
    {
        CHECK(cudaMalloc(&b, bytes));
        CHECK(cudaMemset(b, 1, bytes));
    }
    cudaStream_t st;
    CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    std::printf("%s, %d SMs\n", prop.name, sms);
    auto measure = [&](char const* what, int ctas, int stages, int unitBytes, int64_t wrapBytes, int mode = 0)
    {
        int64_t const units = bytes / unitBytes;
        float const t = bench::graphMs(
            st,
            [&](cudaStream_t s)
            {
                for (int i = 0; i < 20; ++i)
                {
                    ringRead<<<ctas, 288, kShared, s>>>(
                        bufs[i % copies], units, wrapBytes / unitBytes, stages, unitBytes, mode, sink);
                }
                return cudaGetLastError();
            },
            20, 30);
        std::printf("%-32s %3d SMs, %2d stages of %2d KB, %s%s: %8.2f us  %6.0f GB/s  %5.1f GB/s per SM\n", what, ctas,
            stages, unitBytes >> 10, (mode & 1) ? "lanes take turns" : "one thread issues",
            (mode & 2) ? ", consumers poll" : "", 1e3 * t, bytes / t / 1e6, bytes / t / 1e6 / ctas);
    };
    for (int l2 = 0; l2 < 2; ++l2)
    {
        for (int ctas : {sms / 4, sms / 2, 96, sms})
        {
            for (int stages : {8, 24})
            {
                measure(l2 ? "512 KB read by every CTA (L2)" : "101 MB, copies past L2 (DRAM)", ctas, stages, 8192,
                    l2 ? 512 << 10 : bytes);
            }
        }
    }
    for (int unitKb : {2, 4, 8, 16, 32})
    {
        for (int mode : {0, 1, 2, 3})
        {
            measure("101 MB, copies past L2 (DRAM)", sms, 128 / unitKb, unitKb << 10, bytes, mode);
        }
    }
    for (auto* b : bufs)
    {
        CHECK(cudaFree(b));
    }
    CHECK(cudaFree(sink));
    return 0;
}
