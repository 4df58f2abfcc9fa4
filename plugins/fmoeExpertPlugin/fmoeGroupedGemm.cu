// fp32 (SIMT) kernel and the dispatch. 16-bit types: one kernel per GEMM from a table indexed by the rows per
// expert (below / from kGroupedGemmLargeRows) and the GEMM's shape (n > k, short k: FMoE's GEMM1; else GEMM2),
// measured with benchmarks/plugins/fmoe_stages.cu on an H200 (results: plugins_issue12_h200_tuned_stages.log): the
// CUTLASS 2.x mma.sync kernels with 64-row tiles beat the 128-row ones and the CUTLASS 3.x Hopper ptr-array kernels
// (pingpong and cooperative, 64-256 wide) in every case: GEMM1 (k = 512) 1.5-1.8x faster than the best Hopper
// kernel, GEMM2 (k = H) 2-39 % faster. On Hopper, where the build holds the block kernel (fmoeBlockGemmSm90.cuh),
// kTableSm90 takes it for both GEMMs (plugins_issue12_h200_epilogue_stages.log, _pairs_probe.log); its 128-row,
// 64x256 and 2-CTA-cluster variants were no faster overall (plugins_issue12_h200_rows128_stages.log,
// _tile64x256_stages.log). The other kernels are built only with TRTH_FMOE_TUNING (CMake option
// TRT_HELPER_FMOE_TUNING, the ptr-array ones for arch 90); in any build TRT_HELPER_FMOE_GEMM can name four
// available kernels (gemmKernelName) that replace the table: GEMM1 and GEMM2 with fewer rows per expert, then with
// more.
#include "fmoeGroupedGemm.cuh"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <string>

namespace trt_helper
{
namespace
{
constexpr char const* kNames[] = {"sm80_64x128x32", "sm80_128x128x32", "sm90_64x128_pingpong", "sm80_128x128x64",
    "sm80_64x64x64", "sm80_128x64x64", "sm90_128x128_cooperative", "sm90_128x256_cooperative", "sm90_64x256_pingpong",
    "sm90_block_64x128", "sm90_block_128x128", "sm90_block_128x256", "sm90_block_64x128_c2", "sm90_block_64x256"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(GemmKernel::kCount), "one name per kernel");

//! The kernels of the default build (the others' cases in fmoeGroupedGemm.cuh / fmoeGroupedGemmSm90.cuh sit inside
//! `#if TRTH_FMOE_TUNING`).
constexpr GemmKernel kDefaultBuild[]
    = {GemmKernel::kSM80_64x128x32, GemmKernel::kSM80_64x64x64, GemmKernel::kSM90_BLOCK_64x128};

//! [rows bucket][GEMM1, GEMM2], every device: the H200 sweep chose the same kernels for both buckets (64 and 256
//! tokens per expert; E 32, D 512, H 1024 and 2048; for GEMM2 64x64x64 beat 64x128x32 by 7-24 %).
using Table = GemmKernel[2][2];
constexpr Table kTable = {{GemmKernel::kSM80_64x128x32, GemmKernel::kSM80_64x64x64},
    {GemmKernel::kSM80_64x128x32, GemmKernel::kSM80_64x64x64}};
//! On Hopper, where the block kernel is built: it for both GEMMs (H200, fmoe_stages sweep with its epilogue's bias row
//! in shared memory and column pairs, plugins_issue12_h200_epilogue_stages.log: 8192 tokens, H 1024 / 2048, GEMM1
//! 35.7 / 66.8 us against 49.8 / 94.8 for the best mma.sync kernel, GEMM2 24.0 / 41.3 against 43.1 / 72.8; 2048
//! tokens GEMM1 15.5 / 30.6 against 17.4 / 37.6, GEMM2 12.8 / 27.8 against 16.0 / 28.6). 64x256 tiles for GEMM1 at
//! 8192 tokens were 1-12 % faster alone, but the whole forward 3.2-4.6 us slower at H 1024 and between 0.9 us faster
//! and 4.8 us slower at H 2048 over three runs (plugins_issue12_h200_tile64x256_stages.log,
//! _tuning_overrides_rerun_stages.log, _gemm2_reversed_stages.log).
constexpr Table kTableSm90 = {{GemmKernel::kSM90_BLOCK_64x128, GemmKernel::kSM90_BLOCK_64x128},
    {GemmKernel::kSM90_BLOCK_64x128, GemmKernel::kSM90_BLOCK_64x128}};

bool deviceIsSm90()
{
    return computeCapability(currentDevice()) == 90;
}

//! TRT_HELPER_FMOE_GEMM read once: four available kernel names, else (unset, unknown or unavailable) the table.
struct Override
{
    bool set{false};
    Table table{};
};

//! True when this build's kernel list holds k (whether its code is built for the device is another question).
bool builtKernel(GemmKernel k)
{
    return TRTH_FMOE_TUNING
        ? static_cast<int>(k) >= 0 && k < GemmKernel::kCount
        : std::find(std::begin(kDefaultBuild), std::end(kDefaultBuild), k) != std::end(kDefaultBuild);
}

Override const& envOverride()
{
    static Override const o = []
    {
        Override r;
        char const* v = std::getenv("TRT_HELPER_FMOE_GEMM");
        std::string const s = v == nullptr ? "" : v;
        GemmKernel* out = &r.table[0][0];
        int found = 0;
        for (size_t pos = 0; !s.empty() && found < 4 && pos <= s.size(); ++found)
        {
            size_t const end = std::min(s.find(',', pos), s.size());
            std::string const name = s.substr(pos, end - pos);
            int k = 0;
            while (k < static_cast<int>(GemmKernel::kCount) && name != kNames[k])
            {
                ++k;
            }
            if (k == static_cast<int>(GemmKernel::kCount) || !gemmKernelAvailable(static_cast<GemmKernel>(k)))
            {
                return Override{};
            }
            out[found] = static_cast<GemmKernel>(k);
            pos = end + 1;
        }
        r.set = found == 4;
        return r;
    }();
    return o;
}
} // namespace

char const* gemmKernelName(GemmKernel k)
{
    int const i = static_cast<int>(k);
    return i >= 0 && i < static_cast<int>(GemmKernel::kCount) ? kNames[i] : nullptr;
}

bool gemmKernelIsBlock(GemmKernel k)
{
    return gemmKernelRowPad(k) > 1;
}

int32_t gemmKernelRowPad(GemmKernel k)
{
    switch (k)
    {
    case GemmKernel::kSM90_BLOCK_64x128:
    case GemmKernel::kSM90_BLOCK_64x256: return 64;
    case GemmKernel::kSM90_BLOCK_128x128:
    case GemmKernel::kSM90_BLOCK_128x256:
    case GemmKernel::kSM90_BLOCK_64x128_C2: return 128;
    default: return 1;
    }
}

bool gemmKernelIsSm90(GemmKernel k)
{
    return k == GemmKernel::kSM90_64x128_PINGPONG || k == GemmKernel::kSM90_128x128_COOPERATIVE
        || k == GemmKernel::kSM90_128x256_COOPERATIVE || k == GemmKernel::kSM90_64x256_PINGPONG || gemmKernelIsBlock(k);
}

bool gemmKernelAvailable(GemmKernel k)
{
    if (!builtKernel(k))
    {
        return false;
    }
    if (gemmKernelIsBlock(k))
    {
        return TRTH_HAVE_SM90_BLOCK && deviceIsSm90();
    }
    return !gemmKernelIsSm90(k) || (TRTH_HAVE_SM90_GROUPED && deviceIsSm90());
}

bool blockGemmAvailable(ElemType type)
{
    return type != ElemType::kFLOAT32 && gemmKernelAvailable(GemmKernel::kSM90_BLOCK_64x128);
}

int32_t groupedGemmAlignment(ElemType type)
{
    return type == ElemType::kFLOAT32 ? 1 : 8;
}

size_t groupedGemmWorkspace(ElemType type, int32_t groups)
{
    size_t bytes = 0;
#if TRTH_HAVE_SM90_GROUPED
    if (type != ElemType::kFLOAT32 && deviceIsSm90())
    {
        for (int k = 0; k < static_cast<int>(GemmKernel::kCount); ++k)
        {
            auto const kernel = static_cast<GemmKernel>(k);
            if (gemmKernelIsSm90(kernel) && gemmKernelAvailable(kernel))
            {
                bytes = std::max(bytes,
                    type == ElemType::kBFLOAT16 ? groupedGemmSm90Bf16Workspace(kernel, groups)
                                                : groupedGemmSm90F16Workspace(kernel, groups));
            }
        }
    }
#else
    (void)type;
    (void)groups;
#endif
    return bytes;
}

namespace
{
GemmKernel choiceFor(ElemType type, int64_t rowsHint, int32_t n, int32_t k)
{
    Override const& o = envOverride();
    Table const& table = o.set ? o.table : blockGemmAvailable(type) ? kTableSm90 : kTable;
    return table[rowsHint >= kGroupedGemmLargeRows ? 1 : 0][n > k ? 0 : 1];
}
} // namespace

GemmKernel groupedGemmChoice(GroupedGemmArgs const& g)
{
    return choiceFor(g.type, g.rowsHint, g.n, g.k);
}

int32_t groupedGemmRowPad(ElemType type, int64_t rowsHint, int32_t dim, int32_t hidden)
{
    if (!blockGemmAvailable(type))
    {
        return 1;
    }
    return std::max({kBlockRows, gemmKernelRowPad(choiceFor(type, rowsHint, hidden, dim)),
        gemmKernelRowPad(choiceFor(type, rowsHint, dim, hidden))});
}

int32_t groupedGemmMaxRowPad(ElemType type)
{
    int32_t pad = 1;
    for (int k = 0; k < static_cast<int>(GemmKernel::kCount); ++k)
    {
        auto const kernel = static_cast<GemmKernel>(k);
        if (TRTH_HAVE_SM90_BLOCK && type != ElemType::kFLOAT32 && builtKernel(kernel))
        {
            pad = std::max(pad, gemmKernelRowPad(kernel));
        }
    }
    return pad;
}

cudaError_t groupedGemmWith(GroupedGemmArgs const& g, GemmKernel kernel, cudaStream_t stream)
{
    if (g.type == ElemType::kFLOAT32 || !gemmKernelAvailable(kernel))
    {
        return cudaErrorInvalidValue;
    }
    bool const bf16 = g.type == ElemType::kBFLOAT16;
#if TRTH_HAVE_SM90_BLOCK
    if (gemmKernelIsBlock(kernel))
    {
        return g.blockExpert == nullptr ? cudaErrorInvalidValue
            : bf16                      ? blockGemmSm90Bf16(g, kernel, stream)
                                        : blockGemmSm90F16(g, kernel, stream);
    }
#endif
#if TRTH_HAVE_SM90_GROUPED
    if (gemmKernelIsSm90(kernel))
    {
        return bf16 ? groupedGemmSm90Bf16(g, kernel, stream) : groupedGemmSm90F16(g, kernel, stream);
    }
#endif
    return bf16 ? groupedGemmSm80Bf16(g, kernel, stream) : groupedGemmSm80F16(g, kernel, stream);
}

cudaError_t groupedGemm(GroupedGemmArgs const& g, cudaStream_t stream)
{
    if (g.type != ElemType::kFLOAT32)
    {
        return groupedGemmWith(g, groupedGemmChoice(g), stream);
    }
    using Simt = cutlass::arch::OpClassSimt;
    return launchGrouped<MoeGroupedKernel<float, Simt, cutlass::gemm::GemmShape<128, 128, 8>,
        cutlass::gemm::GemmShape<32, 64, 8>, cutlass::gemm::GemmShape<1, 1, 1>, 2, 1>>(g, stream);
}
} // namespace trt_helper
