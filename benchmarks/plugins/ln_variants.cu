// LayerNorm kernel variants at the benchmark shape (fp16, 32768 x 512), timed on the GPU alone: a spin kernel runs
// first so that the host has queued the timed launch before the start event fires (no launch overhead in the
// figure). Also device-to-device copies of the same bytes and of 1 GiB, timed the same way.
//   nvcc -O3 -std=c++17 -arch=sm_90 -Iplugins/common -Iplugins/layerNormPlugin -Ibenchmarks/plugins \
//        benchmarks/plugins/ln_variants.cu -o /tmp/ln_variants && /tmp/ln_variants
// With -DLN_OLD it also times an older kernel from benchmarks/plugins/_ln_old.cuh (not kept in the repository):
//   git show e9f5459:plugins/layerNormPlugin/layerNormKernel.cu | sed -e 's/layerNormWarpKernel/oldWarpKernel/g; \
//     s/layerNormBlockKernel/oldBlockKernel/g; s/launchWarp/oldLaunchWarp/g; s/launchLayerNorm/oldLaunchLayerNorm/g; \
//     s/kWarpsPerBlock/kOldWarps/g; s/#include "layerNormKernel.h"//' > benchmarks/plugins/_ln_old.cuh
// Results on an H200: benchmarks/results/plugins_ln_variants_h200.log.
#include "layerNormKernel.cu"
#ifdef LN_OLD
#include "_ln_old.cuh"
#endif

#include "gpuTiming.cuh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

using namespace trt_helper;

__global__ void fillRandom(__half* p, int64_t n, uint32_t seed, float scale, float shift)
{
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    {
        uint32_t h = static_cast<uint32_t>(i) * 2654435761U ^ seed;
        h ^= h >> 15;
        h *= 2246822519U;
        h ^= h >> 13;
        p[i] = __float2half((static_cast<float>(h & 0xffffff) / 16777216.F - 0.5F) * scale + shift);
    }
}

__global__ void copyVec(uint4 const* __restrict__ src, uint4* __restrict__ dst, int64_t n)
{
    int64_t const i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
    if (i < n)
    {
        __stcs(dst + i, __ldcs(src + i));
    }
}

// Median GPU-only time of one call (ms); and of a back-to-back batch of `batch` calls, per call.
static void timeIt(char const* name, std::function<void(int)> const& fn, double bytes, double copyRef)
{
    for (int i = 0; i < 20; ++i)
    {
        fn(i);
    }
    CHECK(cudaDeviceSynchronize());
    float const s = bench::queuedMs(fn, 60);
    int const batch = 20;
    float const m = bench::queuedMs(
                        [&](int t)
                        {
                            for (int k = 0; k < batch; ++k)
                            {
                                fn(t * batch + k);
                            }
                        },
                        20, 400000)
        / batch;
    CHECK(cudaGetLastError());
    std::printf("%-34s single %.4f ms %6.0f GB/s (%3.0f%% of 1GiB copy)   back-to-back %.4f ms %6.0f GB/s\n", name, s,
        bytes / s / 1e6, copyRef > 0 ? 100 * bytes / s / 1e6 / copyRef : 0.0, m, bytes / m / 1e6);
}

int main()
{
    int64_t const rows = 32768;
    int const dim = 512;
    int64_t const n = rows * dim;
    int const kSets = 4;
    std::vector<__half*> xs(kSets);
    __half *g, *b, *y, *yRef;
    for (auto& p : xs)
    {
        CHECK(cudaMalloc(&p, n * 2));
    }
    CHECK(cudaMalloc(&g, dim * 2));
    CHECK(cudaMalloc(&b, dim * 2));
    CHECK(cudaMalloc(&y, n * 2));
    CHECK(cudaMalloc(&yRef, n * 2));
    for (int s = 0; s < kSets; ++s)
    {
        fillRandom<<<1024, 256>>>(xs[s], n, 17 + s, 4.F, 0.5F * s);
    }
    fillRandom<<<4, 128>>>(g, dim, 99, 2.F, 1.F);
    fillRandom<<<4, 128>>>(b, dim, 98, 1.F, 0.F);
    CHECK(cudaDeviceSynchronize());

    // 1 GiB copy, the headline ceiling.
    size_t const big = size_t{1} << 30;
    void *src, *dst;
    CHECK(cudaMalloc(&src, big));
    CHECK(cudaMalloc(&dst, big));
    CHECK(cudaMemset(src, 1, big));
    double const bytes = 2.0 * n * 2;
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    std::vector<float> bigT;
    for (int t = 0; t < 25; ++t)
    {
        CHECK(cudaEventRecord(e0));
        CHECK(cudaMemcpyAsync(dst, src, big, cudaMemcpyDeviceToDevice));
        CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1));
        float ms;
        CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (t >= 5)
        {
            bigT.push_back(ms);
        }
    }
    double const copyRef = 2.0 * big / bench::median(bigT) / 1e6;
    std::printf("1 GiB cudaMemcpyAsync D2D: %.4f ms = %.0f GB/s (read + write)\n", bench::median(bigT), copyRef);

    timeIt(
        "cudaMemcpyAsync same bytes (32MB)",
        [&](int i) { CHECK(cudaMemcpyAsync(y, xs[i % kSets], n * 2, cudaMemcpyDeviceToDevice)); }, bytes, copyRef);
    timeIt(
        "copy kernel 16B same bytes",
        [&](int i)
        {
            copyVec<<<static_cast<unsigned>(n * 2 / 16 / 256), 256>>>(
                reinterpret_cast<uint4 const*>(xs[i % kSets]), reinterpret_cast<uint4*>(y), n * 2 / 16);
        },
        bytes, copyRef);

    auto check = [&](char const* name)
    {
        std::vector<__half> h1(n), h2(n);
        CHECK(cudaMemcpy(h1.data(), y, n * 2, cudaMemcpyDeviceToHost));
        CHECK(cudaMemcpy(h2.data(), yRef, n * 2, cudaMemcpyDeviceToHost));
        double maxd = 0;
        for (int64_t i = 0; i < n; ++i)
        {
            maxd = std::max(maxd, std::abs(double(__half2float(h1[i])) - double(__half2float(h2[i]))));
        }
        std::printf("  %-32s max |diff| vs reference kernel: %.3g\n", name, maxd);
    };
    // Reference: the fallback block kernel (three passes, plain loads).
    layerNormBlockKernel<__half><<<static_cast<unsigned>(rows), 256>>>(xs[0], g, b, yRef, dim, 1e-5F);
    CHECK(cudaDeviceSynchronize());

#define VARIANT(R, W)                                                                                                  \
    do                                                                                                                 \
    {                                                                                                                  \
        CHECK((launchWarp<__half, 2, R, W>(xs[0], g, b, y, rows, dim, 1e-5F, 0)));                                     \
        CHECK(cudaDeviceSynchronize());                                                                                \
        check("warp rows=" #R " warps=" #W);                                                                           \
        timeIt(                                                                                                        \
            "LN warp rows/warp=" #R " warps/blk=" #W, [&](int i)                                                       \
            { CHECK((launchWarp<__half, 2, R, W>(xs[i % kSets], g, b, y, rows, dim, 1e-5F, 0))); }, bytes, copyRef);   \
    } while (0)
    VARIANT(1, 4);
    VARIANT(2, 4);
    VARIANT(4, 4);
    VARIANT(1, 8);
    VARIANT(2, 8);
    VARIANT(2, 2);
    // register cap so that 14 blocks of 4 warps (56 warps) fit
    CHECK((launchWarp<__half, 2, 1, 4, 14>(xs[0], g, b, y, rows, dim, 1e-5F, 0)));
    CHECK(cudaDeviceSynchronize());
    check("warp rows=1 warps=4 minBlocks=14");
    timeIt(
        "LN warp rows=1 warps=4 minBlocks=14", [&](int i)
        { CHECK((launchWarp<__half, 2, 1, 4, 14>(xs[i % kSets], g, b, y, rows, dim, 1e-5F, 0))); }, bytes, copyRef);
    CHECK(launchLayerNorm(ElemType::kFLOAT16, xs[0], g, b, y, rows, dim, 1e-5F, 0));
    CHECK(cudaDeviceSynchronize());
    check("launchLayerNorm (new)");
    timeIt(
        "launchLayerNorm (new, as shipped)", [&](int i)
        { CHECK(launchLayerNorm(ElemType::kFLOAT16, xs[i % kSets], g, b, y, rows, dim, 1e-5F, 0)); }, bytes, copyRef);
#ifdef LN_OLD
    CHECK(oldLaunchLayerNorm(ElemType::kFLOAT16, xs[0], g, b, y, rows, dim, 1e-5F, 0));
    CHECK(cudaDeviceSynchronize());
    check("old persistent kernel");
    timeIt(
        "old persistent kernel (HEAD)",
        [&](int i) { CHECK(oldLaunchLayerNorm(ElemType::kFLOAT16, xs[i % kSets], g, b, y, rows, dim, 1e-5F, 0)); },
        bytes, copyRef);
#endif
    std::printf("done\n");
    return 0;
}
