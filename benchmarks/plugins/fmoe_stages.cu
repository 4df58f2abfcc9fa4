// FMoEExpert on one GPU without TensorRT or Python: the time of each launch of the forward (routing, scatter,
// GEMM1, GEMM2, gather) and of every grouped-GEMM kernel of the build for each GEMM, each kernel's output checked
// against a plain fp32 GEMM, then the fastest checked kernel per (rows-per-expert bucket, GEMM) written as a
// TRT_HELPER_FMOE_GEMM value. Times: CUDA-graph replays of kReps launches, divided by kReps (launch gaps included,
// as a captured network sees them). E 32, D 512, fp16, SiLU, uniform random routing, as bench_plugins.py.
//
//   cmake -S . -B build/tune -DTRT_HELPER_FMOE_TUNING=ON -DTRT_HELPER_CUDA_ARCHS=90 \
//     && cmake --build build/tune --target trtplugin++
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a -Iplugins/fmoeExpertPlugin \
//     -Iplugins/common -isystem $CUTLASS_DIR benchmarks/plugins/fmoe_stages.cu \
//     build/tune/plugins/libtrtplugin_kernels.a -o fmoe_stages
//   ./fmoe_stages results.json choice.txt
//   FMOE_STAGES_ONLY=8192x2048 ncu --kernel-name regex:device_kernel ./fmoe_stages   (one case, each kernel launched
//   once)
#include "fmoeExpertKernel.cu" // the forward's launches (ForwardStages) and workspace layout
#include "gpuTiming.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace trt_helper
{
namespace
{
constexpr int32_t kExperts = 32;
constexpr int32_t kDim = 512;
constexpr int kReps = 20;

__device__ float hashUniform(uint64_t i, uint32_t seed) // [-1, 1)
{
    uint64_t z = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) / static_cast<float>(1ull << 23) - 1.F;
}

__global__ void fillHalf(__half* out, int64_t n, float scale, uint32_t seed)
{
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    {
        out[i] = __float2half_rn(scale * hashUniform(i, seed));
    }
}

//! mode 0: uniform random experts; 1: every token on the last expert.
__global__ void fillIdx(int32_t* out, int64_t n, int mode, uint32_t seed)
{
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    {
        float const u = 0.5F * (hashUniform(i, seed) + 1.F);
        out[i] = mode == 1 ? kExperts - 1 : min(static_cast<int32_t>(u * kExperts), kExperts - 1);
    }
}

//! The plain reference of one grouped GEMM over the routed rows: out[r][j] = act(sum_k in[r][k] w[e][j][k] + b[e][j])
//! with e the expert of row r (from offsets), fp32; counts the elements of `got` off by more than 2e-2 + 1e-2 |ref|.
//! The padding rows after each expert's counts[e] rows (padded routing) hold no token and are skipped.
__global__ void referenceCheck(__half const* in, __half const* w, __half const* b, __half const* got,
    int32_t const* offsets, int32_t const* counts, int32_t n, int32_t k, int act, unsigned long long* bad,
    float* maxErr)
{
    int32_t const rows = offsets[kExperts];
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < static_cast<int64_t>(rows) * n;
        i += gridDim.x * blockDim.x)
    {
        int32_t const r = static_cast<int32_t>(i % rows); // a warp shares j: one weight row, read once
        int32_t const j = static_cast<int32_t>(i / rows);
        int32_t e = 0;
        while (offsets[e + 1] <= r)
        {
            ++e;
        }
        if (r >= offsets[e] + counts[e])
        {
            continue;
        }
        __half const* wr = w + (static_cast<int64_t>(e) * n + j) * k;
        __half const* xr = in + static_cast<int64_t>(r) * k;
        float acc = __half2float(b[static_cast<int64_t>(e) * n + j]);
        for (int32_t q = 0; q < k; ++q)
        {
            acc += __half2float(xr[q]) * __half2float(wr[q]);
        }
        if (act == 0)
        {
            acc = acc / (1.F + expf(-acc));
        }
        float const err = fabsf(__half2float(got[static_cast<int64_t>(r) * n + j]) - acc);
        if (!(err <= 2e-2F + 1e-2F * fabsf(acc)))
        {
            atomicAdd(bad, 1ull);
        }
        atomicMax(reinterpret_cast<int*>(maxErr), __float_as_int(isfinite(err) ? err : 1e30F));
    }
}

struct Case
{
    char const* name;
    int64_t tokens;
    int32_t hidden;
    int routing; // fillIdx mode
    bool timed;  // false: only the correctness check (skewed routing)
};

//! Milliseconds per call of f (launches on `stream`, returns the launch error): one direct call, then kReps calls
//! captured in one CUDA graph, the median of 7 replays.
template<typename F>
float graphMs(cudaStream_t stream, F&& f)
{
    CHECK(f());
    CHECK(cudaStreamSynchronize(stream));
    auto const calls = [&](cudaStream_t)
    {
        for (int i = 0; i < kReps; ++i)
        {
            cudaError_t const err = f();
            if (err != cudaSuccess)
            {
                return err;
            }
        }
        return cudaSuccess;
    };
    return bench::graphMs(stream, calls, kReps, 7);
}

struct KernelResult
{
    GemmKernel kernel;
    float ms[2]{-1.F, -1.F}; // GEMM1, GEMM2; -1 unavailable or failed the check
    unsigned long long bad[2]{0, 0};
    float maxErr[2]{0.F, 0.F};
};

struct CaseResult
{
    Case c;
    float forwardMs{0}, forwardSerialMs{0}, routeMs{0}, scatterMs{0}, gatherMs{0}, defaultMs[2]{0, 0}, gemm2ToYMs{0};
    GemmKernel defaultKernel[2]{};
    std::vector<KernelResult> kernels;
};

CaseResult runCase(Case const& c, cudaStream_t stream)
{
    CaseResult out{c};
    int64_t const tokens = c.tokens;
    int32_t const H = c.hidden;
    __half *x, *w1, *b1, *w2, *b2, *y;
    int32_t* idx;
    CHECK(cudaMalloc(&x, sizeof(__half) * tokens * kDim));
    CHECK(cudaMalloc(&y, sizeof(__half) * tokens * kDim));
    CHECK(cudaMalloc(&w1, sizeof(__half) * kExperts * H * kDim));
    CHECK(cudaMalloc(&w2, sizeof(__half) * kExperts * H * kDim));
    CHECK(cudaMalloc(&b1, sizeof(__half) * kExperts * H));
    CHECK(cudaMalloc(&b2, sizeof(__half) * kExperts * kDim));
    CHECK(cudaMalloc(&idx, sizeof(int32_t) * tokens));
    fillHalf<<<1024, 256, 0, stream>>>(x, tokens * kDim, 1.F, 1);
    fillHalf<<<1024, 256, 0, stream>>>(w1, int64_t{kExperts} * H * kDim, 1.F / std::sqrt(float(kDim)), 2);
    fillHalf<<<1024, 256, 0, stream>>>(w2, int64_t{kExperts} * H * kDim, 1.F / std::sqrt(float(H)), 3);
    fillHalf<<<64, 256, 0, stream>>>(b1, int64_t{kExperts} * H, 0.1F, 4);
    fillHalf<<<64, 256, 0, stream>>>(b2, int64_t{kExperts} * kDim, 0.1F, 5);
    fillIdx<<<64, 256, 0, stream>>>(idx, tokens, c.routing, 6);
    CHECK(cudaGetLastError());

    FMoEProblem p{};
    p.type = ElemType::kFLOAT16;
    p.act = MoeActivation::kSWISH;
    p.batch = 1;
    p.time = tokens;
    p.dim = kDim;
    p.hidden = H;
    p.experts = kExperts;
    p.x = x;
    p.expertIdx = idx;
    p.w1 = w1;
    p.b1 = b1;
    p.w2 = w2;
    p.b2 = b2;
    p.y = y;
    size_t const wsBytes = fmoeWorkspaceSize(p.type, tokens, kDim, H, kExperts);
    char* workspace;
    CHECK(cudaMalloc(&workspace, wsBytes));
    Layout const ws(workspace, p.type, tokens, kDim, H, kExperts);
    // the forward's routing (its padding from the table), and per kernel a routing padded to what that kernel needs
    ForwardStages const st{p, ws, tokens, stream, groupedGemmRowPad(p.type, tokens / kExperts, kDim, H), false};
    auto const routeScatter
        = [&](ForwardStages const& s) { return s.route() == cudaSuccess ? s.scatter() : cudaGetLastError(); };

    if (c.timed)
    {
        out.forwardMs = graphMs(stream, [&] { return fmoeForward(p, workspace, wsBytes, stream); });
        ForwardStages serial = planForward(p, ws, tokens, stream); // the same launches, each after the previous ends
        serial.dependentLaunch = false;
        out.forwardSerialMs = graphMs(stream, [&] { return serial.run(); });
        out.routeMs = graphMs(stream, [&] { return st.route(); });
        out.scatterMs = graphMs(stream, [&] { return routeScatter(st); }) - out.routeMs;
        CHECK(routeScatter(st));
        for (int g = 0; g < 2; ++g)
        {
            out.defaultKernel[g] = groupedGemmChoice(st.gemm(g + 1));
            out.defaultMs[g] = graphMs(stream, [&] { return groupedGemm(st.gemm(g + 1), stream); });
        }
        out.gatherMs = graphMs(stream, [&] { return st.gather(); });
        if (gemmKernelIsBlock(out.defaultKernel[1])) // the forward's GEMM2: its rows to y times the score, no gather
        {
            out.gemm2ToYMs = graphMs(stream, [&] { return groupedGemm(st.gemm2ToOutput(), stream); });
        }
    }

    unsigned long long* bad;
    float* maxErr;
    CHECK(cudaMalloc(&bad, sizeof(unsigned long long)));
    CHECK(cudaMalloc(&maxErr, sizeof(float)));
    for (int k = 0; k < static_cast<int>(GemmKernel::kCount); ++k)
    {
        KernelResult r{static_cast<GemmKernel>(k)};
        if (!gemmKernelAvailable(r.kernel))
        {
            continue;
        }
        int32_t const pad = blockGemmAvailable(p.type) ? std::max(kBlockRows, gemmKernelRowPad(r.kernel)) : 1;
        ForwardStages const stK{p, ws, tokens, stream, pad, false};
        CHECK(routeScatter(stK));
        for (int g = 0; g < 2; ++g)
        {
            GroupedGemmArgs const args = stK.gemm(g + 1);
            cudaError_t const err = groupedGemmWith(args, r.kernel, stream);
            if (err != cudaSuccess)
            {
                std::printf("  %-26s GEMM%d launch: %s\n", gemmKernelName(r.kernel), g + 1, cudaGetErrorString(err));
                break;
            }
            CHECK(cudaMemsetAsync(bad, 0, sizeof(unsigned long long), stream));
            CHECK(cudaMemsetAsync(maxErr, 0, sizeof(float), stream));
            // GEMM1 reads xs, writes hs; GEMM2 reads hs, writes xs (checked against the hs GEMM1 just wrote)
            referenceCheck<<<2048, 256, 0, stream>>>(reinterpret_cast<__half const*>(g == 0 ? ws.xs : ws.hs),
                g == 0 ? w1 : w2, g == 0 ? b1 : b2, reinterpret_cast<__half const*>(g == 0 ? ws.hs : ws.xs), ws.offsets,
                ws.counts, g == 0 ? H : kDim, g == 0 ? kDim : H, g == 0 ? 0 : -1, bad, maxErr);
            CHECK(cudaMemcpyAsync(&r.bad[g], bad, sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream));
            CHECK(cudaMemcpyAsync(&r.maxErr[g], maxErr, sizeof(float), cudaMemcpyDeviceToHost, stream));
            CHECK(cudaStreamSynchronize(stream));
            if (r.bad[g] == 0)
            {
                // repeatable: GEMM1 writes hs, which it does not read; GEMM2 writes xs, which it does not read
                r.ms[g] = c.timed ? graphMs(stream, [&] { return groupedGemmWith(args, r.kernel, stream); }) : 0.F;
            }
        }
        out.kernels.push_back(r);
    }
    for (void* ptr : {static_cast<void*>(x), static_cast<void*>(y), static_cast<void*>(w1), static_cast<void*>(w2),
             static_cast<void*>(b1), static_cast<void*>(b2), static_cast<void*>(idx), static_cast<void*>(workspace),
             static_cast<void*>(bad), static_cast<void*>(maxErr)})
    {
        CHECK(cudaFree(ptr));
    }
    return out;
}
} // namespace
} // namespace trt_helper

int main(int argc, char** argv)
{
    using namespace trt_helper;
    char const* jsonPath = argc > 1 ? argv[1] : nullptr;
    char const* choicePath = argc > 2 ? argv[2] : nullptr;
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device %s, %d SMs; graph replays of %d launches; E %d, D %d, fp16, SiLU\n", prop.name,
        prop.multiProcessorCount, kReps, kExperts, kDim);
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    std::vector<Case> cases = {
        {"2048x1024", 2048, 1024, 0, true},
        {"8192x1024", 8192, 1024, 0, true},
        {"2048x2048", 2048, 2048, 0, true},
        {"8192x2048", 8192, 2048, 0, true},
        {"206x2048", 206, 2048, 0, true},
        {"8192x2048 all on expert 31", 8192, 2048, 1, false},
    };
    if (char const* only = std::getenv("FMOE_STAGES_ONLY")) // one case, untimed: each kernel runs once (for a profiler)
    {
        cases.erase(
            std::remove_if(cases.begin(), cases.end(), [&](Case const& c) { return c.name != std::string(only); }),
            cases.end());
        for (Case& c : cases)
        {
            c.timed = false;
        }
    }
    std::vector<CaseResult> results;
    bool allChecked = true;
    for (Case const& c : cases)
    {
        results.push_back(runCase(c, stream));
        CaseResult const& r = results.back();
        double const flops = 2.0 * 2.0 * c.tokens * kDim * c.hidden;
        std::printf("\n%s (tokens x H)", c.name);
        if (c.timed)
        {
            std::printf(
                ": forward %.1f us = route %.1f + scatter %.1f + GEMM1 %.1f (%s) + GEMM2 %.1f (%s) + gather %.1f"
                " (stage sum %.1f); %.0f TFLOP/s",
                1e3 * r.forwardMs, 1e3 * r.routeMs, 1e3 * r.scatterMs, 1e3 * r.defaultMs[0],
                gemmKernelName(r.defaultKernel[0]), 1e3 * r.defaultMs[1], gemmKernelName(r.defaultKernel[1]),
                1e3 * r.gatherMs, 1e3 * (r.routeMs + r.scatterMs + r.defaultMs[0] + r.defaultMs[1] + r.gatherMs),
                flops / r.forwardMs / 1e9);
            std::printf(
                "\n  the same launches without programmatic dependent launch: %.1f us", 1e3 * r.forwardSerialMs);
        }
        if (r.gemm2ToYMs > 0)
        {
            std::printf("\n  the forward's GEMM2 stores its rows to y times the score (no gather): %.1f us (stage sum"
                        " %.1f)",
                1e3 * r.gemm2ToYMs, 1e3 * (r.routeMs + r.scatterMs + r.defaultMs[0] + r.gemm2ToYMs));
        }
        std::printf("\n");
        if (!r.c.timed)
        {
            std::printf("  (outputs checked only, not timed)\n");
        }
        for (KernelResult const& k : r.kernels)
        {
            std::printf("  %-26s GEMM1 %7.1f us (max err %.2e, %llu bad)  GEMM2 %7.1f us (max err %.2e, %llu bad)\n",
                gemmKernelName(k.kernel), 1e3 * k.ms[0], k.maxErr[0], k.bad[0], 1e3 * k.ms[1], k.maxErr[1], k.bad[1]);
            allChecked = allChecked && k.bad[0] == 0 && k.bad[1] == 0;
        }
    }

    // fastest checked kernel per (bucket, GEMM): the sum of its times over the bucket's timed cases
    std::string choice;
    for (int bucket = 0; bucket < 2; ++bucket)
    {
        for (int g = 0; g < 2; ++g)
        {
            GemmKernel best = GemmKernel::kCount;
            double bestMs = 1e30;
            for (int k = 0; k < static_cast<int>(GemmKernel::kCount); ++k)
            {
                double sum = 0;
                bool ok = true;
                int n = 0;
                for (CaseResult const& r : results)
                {
                    bool const inBucket = (r.c.tokens / kExperts >= kGroupedGemmLargeRows) == (bucket == 1);
                    for (KernelResult const& kr : r.kernels)
                    {
                        if (static_cast<int>(kr.kernel) != k)
                        {
                            continue;
                        }
                        ok = ok && kr.bad[0] == 0 && kr.bad[1] == 0 && kr.ms[0] >= 0 && kr.ms[1] >= 0;
                        if (inBucket && r.c.timed)
                        {
                            sum += kr.ms[g];
                            ++n;
                        }
                    }
                }
                if (ok && n > 0 && sum < bestMs)
                {
                    bestMs = sum;
                    best = static_cast<GemmKernel>(k);
                }
            }
            if (best == GemmKernel::kCount)
            {
                std::printf("no checked kernel for bucket %d GEMM%d\n", bucket, g + 1);
                return 1;
            }
            choice += (choice.empty() ? "" : ",") + std::string(gemmKernelName(best));
        }
    }
    std::printf("\nfastest checked kernels (GEMM1,GEMM2 with < %ld rows per expert, then >=): %s\n",
        static_cast<long>(kGroupedGemmLargeRows), choice.c_str());
    if (choicePath != nullptr)
    {
        FILE* f = std::fopen(choicePath, "w");
        std::fprintf(f, "%s\n", choice.c_str());
        std::fclose(f);
    }
    if (jsonPath != nullptr)
    {
        char date[32];
        std::time_t const now = std::time(nullptr);
        std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
        std::string command;
        for (int i = 0; i < argc; ++i)
        {
            command += (i ? " " : "") + std::string(argv[i]);
        }
        FILE* f = std::fopen(jsonPath, "w");
        std::fprintf(f,
            "{\n \"device\": \"%s\",\n \"date\": \"%s\",\n \"command\": \"%s\",\n"
            " \"timing\": \"CUDA-graph replay of %d launches / %d, median of 7\",\n \"choice\": \"%s\",\n"
            " \"cases\": [\n",
            prop.name, date, command.c_str(), kReps, kReps, choice.c_str());
        for (size_t i = 0; i < results.size(); ++i)
        {
            CaseResult const& r = results[i];
            std::fprintf(f,
                "  {\"case\": \"%s\", \"tokens\": %ld, \"hidden\": %d, \"timed\": %s, \"forward_us\": %.2f, "
                "\"forward_without_pdl_us\": %.2f, \"route_us\": %.2f, \"scatter_us\": %.2f, \"gemm1_us\": %.2f, "
                "\"gemm1_kernel\": \"%s\", "
                "\"gemm2_us\": %.2f, \"gemm2_kernel\": \"%s\", \"gather_us\": %.2f, \"gemm2_to_y_us\": %.2f, "
                "\"kernels\": [",
                r.c.name, static_cast<long>(r.c.tokens), r.c.hidden, r.c.timed ? "true" : "false", 1e3 * r.forwardMs,
                1e3 * r.forwardSerialMs, 1e3 * r.routeMs, 1e3 * r.scatterMs, 1e3 * r.defaultMs[0],
                gemmKernelName(r.defaultKernel[0]), 1e3 * r.defaultMs[1], gemmKernelName(r.defaultKernel[1]),
                1e3 * r.gatherMs, 1e3 * r.gemm2ToYMs);
            for (size_t k = 0; k < r.kernels.size(); ++k)
            {
                KernelResult const& kr = r.kernels[k];
                std::fprintf(f,
                    "%s\n    {\"kernel\": \"%s\", \"gemm1_us\": %.2f, \"gemm2_us\": %.2f, \"gemm1_bad\": %llu, "
                    "\"gemm2_bad\": %llu, \"gemm1_max_err\": %.3e, \"gemm2_max_err\": %.3e}",
                    k ? "," : "", gemmKernelName(kr.kernel), 1e3 * kr.ms[0], 1e3 * kr.ms[1], kr.bad[0], kr.bad[1],
                    kr.maxErr[0], kr.maxErr[1]);
            }
            std::fprintf(f, "]}%s\n", i + 1 < results.size() ? "," : "");
        }
        std::fprintf(f, " ]\n}\n");
        std::fclose(f);
    }
    return allChecked ? 0 : 2;
}
