// How fast SMs take data in from global memory (device memory or L2) through a ring of shared-memory stages filled by
// bulk copies that complete on the stage's mbarrier, without TensorRT. Each CTA streams units round robin through its
// ring; 8 consumer warps only release the stages. Sections:
//   1. 8 KB units on 33 / 66 / 96 / 132 SMs (one CTA each) with 8 / 24 stages, from 101 MB rotated over copies past L2
//      (device memory) or from one 512 KB buffer (L2-resident, as x is for the WeightOnlyGemm wgmma kernel's CTAs);
//   2. 2 … 32 KB units (a 128 KB ring) on 132 SMs: one thread issues every copy or the producer warp's lanes take
//      turns; consumers wait with mbarrier.try_wait (which may suspend) or poll test_wait;
//   3. 4 … 32 KB units, a 96 KB ring per SM split over 1 / 2 / 3 CTAs per SM, as 1D copies (cp.async.bulk) or as 2D
//      tensor copies (cp.async.bulk.tensor, boxes of 64 fp16 columns × R rows of a 4096-column matrix, 128-byte
//      swizzle, as the wgmma kernel copies x);
//   4. one CTA per SM, a 96 KB ring: 1 / 2 / 4 producer warps (stages dealt round robin), or 1 / 2 / 4 copies per stage
//      (one barrier), 4 / 8 / 16 KB stages.
// Time per call of 20 calls replayed from a CUDA graph, median of 30 replays (bench::graphMs).
//   nvcc -std=c++17 -O3 -arch=sm_90 -Iplugins/common benchmarks/plugins/sm_ingest.cu -o sm_ingest && ./sm_ingest
#include "bulkCopySm90.cuh"
#include "gpuTiming.cuh"

#include <cstdio>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <vector>

namespace
{
constexpr int kLanesTakeTurns = 1; //!< mode bit: the producer warp's lanes issue the copies in turn
constexpr int kPoll = 2;           //!< mode bit: consumers poll mbarrier.test_wait
constexpr int kTensor = 4;         //!< mode bit: 2D tensor copies of 64 columns × unitBytes / 128 rows
constexpr int kConsumerWarps = 8;

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

struct Ring
{
    int stages;
    int unitBytes;
    int producers; //!< producer warps: unit i's stage is filled by warp i % producers
    int parts;     //!< copies per stage (1D copies only)
    int mode;
};

//! CTA b reads units b, b + gridDim.x, …: unit u at p + (u % wrap) · unitBytes, or (kTensor) the box at column tile
//! u % 64 and row block u / 64 % wrap of `map`.
__global__ void __launch_bounds__(32 * (kConsumerWarps + 4))
    ringRead(char const* p, __grid_constant__ CUtensorMap const map, int64_t units, int64_t wrap, Ring r, uint32_t* out)
{
    namespace b = trt_helper::bulk;
    extern __shared__ unsigned char raw[];
    unsigned char* ring = raw + ((1024U - (b::sharedAddress(raw) & 1023U)) & 1023U); // the swizzle atom
    auto* full = reinterpret_cast<uint64_t*>(ring + static_cast<size_t>(r.stages) * r.unitBytes);
    uint64_t* empty = full + r.stages;
    if (threadIdx.x == 0)
    {
        for (int i = 0; i < r.stages; ++i)
        {
            b::barrierInit(&full[i], 1);
            b::barrierInit(&empty[i], kConsumerWarps);
        }
        b::fenceBarrierInit();
    }
    __syncthreads();
    int const warp = threadIdx.x >> 5;
    int const lane = threadIdx.x & 31;
    int const part = r.unitBytes / r.parts;
    uint32_t s = 0;
    int it = 0;
    for (int64_t u = blockIdx.x; u < units; u += gridDim.x, ++it)
    {
        int const slot = it % r.stages;
        uint32_t const phase = (it / r.stages) & 1;
        unsigned char* dst = ring + static_cast<size_t>(slot) * r.unitBytes;
        if (warp >= kConsumerWarps)
        {
            if (warp - kConsumerWarps != it % r.producers)
            {
                continue;
            }
            b::barrierWait(&empty[slot], phase ^ 1);
            if (lane == ((r.mode & kLanesTakeTurns) ? it % 32 : 0))
            {
                b::barrierArriveExpect(&full[slot], r.unitBytes);
                if (r.mode & kTensor)
                {
                    int const rows = r.unitBytes / 128;
                    b::tensorCopy(
                        dst, map, static_cast<int>(u % 64) * 64, static_cast<int>((u / 64) % wrap) * rows, &full[slot]);
                }
                else
                {
                    for (int q = 0; q < r.parts; ++q)
                    {
                        b::bulkCopy(dst + q * part, p + (u % wrap) * r.unitBytes + q * part, part, &full[slot]);
                    }
                }
            }
        }
        else
        {
            if (r.mode & kPoll)
            {
                spinWait(&full[slot], phase);
            }
            else
            {
                b::barrierWait(&full[slot], phase);
            }
            s ^= reinterpret_cast<uint32_t const*>(dst)[warp * 32 + lane];
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

//! A 4096-column fp16 matrix over `base` (rows 8 KB apart), copied in boxes of 64 columns × `rows` rows, 128-byte
//! swizzle.
CUtensorMap matrixMap(void* base, int64_t bytes, int rows)
{
    static auto const encode = []
    {
        void* fn = nullptr;
        cudaDriverEntryPointQueryResult found{};
        CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
        return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
    }();
    CUtensorMap map{};
    cuuint64_t const dims[2] = {4096, static_cast<cuuint64_t>(bytes / 8192)};
    cuuint64_t const strides[1] = {8192};
    cuuint32_t const box[2] = {64, static_cast<cuuint32_t>(rows)};
    cuuint32_t const elementStrides[2] = {1, 1};
    if (encode(&map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 2, base, dims, strides, box, elementStrides,
            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
        != CUDA_SUCCESS)
    {
        std::fprintf(stderr, "cuTensorMapEncodeTiled failed\n");
        std::exit(1);
    }
    return map;
}
} // namespace

int main()
{
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, 0));
    int const sms = prop.multiProcessorCount;
    constexpr int kShared = 200 * 1024;
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
    // ctasPerSm CTAs on every one of `smsUsed` SMs (kShared / ctasPerSm of shared memory each)
    auto measure = [&](char const* what, int smsUsed, int ctasPerSm, Ring r, int64_t wrapBytes)
    {
        int64_t const units = bytes / r.unitBytes;
        std::vector<CUtensorMap> maps(copies);
        for (int i = 0; i < copies && (r.mode & kTensor); ++i)
        {
            maps[i] = matrixMap(bufs[i], bytes, r.unitBytes / 128);
        }
        int64_t const wrap = (r.mode & kTensor) ? bytes / 8192 / (r.unitBytes / 128) : wrapBytes / r.unitBytes;
        float const t = bench::graphMs(
            st,
            [&](cudaStream_t s)
            {
                for (int i = 0; i < 20; ++i)
                {
                    ringRead<<<smsUsed * ctasPerSm, 32 * (kConsumerWarps + r.producers), kShared / ctasPerSm, s>>>(
                        bufs[i % copies], maps[i % copies], units, wrap, r, sink);
                }
                return cudaGetLastError();
            },
            20, 30);
        std::printf("%-30s %3d SMs x %d CTA, %2d stages of %2d KB, %s, %d producer warp(s), %d copies per stage%s%s: "
                    "%8.2f us %6.0f GB/s %5.1f GB/s per SM, %4.0f ns per stage and CTA\n",
            what, smsUsed, ctasPerSm, r.stages, r.unitBytes >> 10, (r.mode & kTensor) ? "tensor" : "1D", r.producers,
            r.parts, (r.mode & kLanesTakeTurns) ? ", lanes take turns" : "", (r.mode & kPoll) ? ", consumers poll" : "",
            1e3 * t, bytes / t / 1e6, bytes / t / 1e6 / smsUsed, 1e6 * t * smsUsed * ctasPerSm / units);
    };
    char const* dram = "101 MB, copies past L2 (DRAM)";
    std::printf("## 1. SMs used, stages, source\n");
    for (int l2 = 0; l2 < 2; ++l2)
    {
        for (int used : {sms / 4, sms / 2, 96, sms})
        {
            for (int stages : {8, 24})
            {
                measure(l2 ? "512 KB read by every CTA (L2)" : dram, used, 1, Ring{stages, 8192, 1, 1, 0},
                    l2 ? 512 << 10 : bytes);
            }
        }
    }
    std::printf("## 2. copy size, issuing lane, consumers' wait\n");
    for (int unitKb : {2, 4, 8, 16, 32})
    {
        for (int mode : {0, kLanesTakeTurns, kPoll, kLanesTakeTurns | kPoll})
        {
            measure(dram, sms, 1, Ring{128 / unitKb, unitKb << 10, 1, 1, mode}, bytes);
        }
    }
    std::printf("## 3. CTAs per SM, 1D or tensor copies (a 96 KB ring per SM)\n");
    for (int unitKb : {4, 8, 16, 32})
    {
        for (int perSm : {1, 2, 3})
        {
            for (int mode : {0, kTensor})
            {
                int const stages = 96 / perSm / unitKb;
                if (stages >= 2)
                {
                    measure(dram, sms, perSm, Ring{stages, unitKb << 10, 1, 1, mode}, bytes);
                }
            }
        }
    }
    std::printf("## 4. producer warps, copies per stage (one CTA per SM, a 96 KB ring)\n");
    for (int unitKb : {4, 8, 16})
    {
        for (int producers : {1, 2, 4})
        {
            for (int parts : {1, 2, 4})
            {
                if ((unitKb << 10) / parts >= 2048 && (parts == 1 || producers == 1))
                {
                    measure(dram, sms, 1, Ring{96 / unitKb, unitKb << 10, producers, parts, 0}, bytes);
                }
            }
        }
    }
    for (auto* b : bufs)
    {
        CHECK(cudaFree(b));
    }
    CHECK(cudaFree(sink));
    return 0;
}
