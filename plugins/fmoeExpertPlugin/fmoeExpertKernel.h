// Mixture-of-experts feed-forward (FastMoE semantics, top-1): for each token n with expert e = idx[n],
//   y[n] = (act(x[n] . W1[e]^T + b1[e]) . W2[e]^T + b2[e]) * score[n]
// W1 (E, H, D), b1 (E, H), W2 (E, D, H), b2 (E, D): FMoELinear's (num_expert, out_feat, in_feat) layout.
// Tokens past their utterance length (when lengths are given) get y = 0; tokens with an expert id outside [0, E)
// are never read as memory and get y = NaN.
// Everything runs on the device with no host synchronisation (every call can be captured in a CUDA graph):
// routing in one block writes the per-expert problem sizes and pointers of two grouped GEMMs (fmoeGroupedGemm.h)
// into the workspace; scatter -> GEMM1 (+ b1, activation) -> GEMM2 (+ b2) -> gather (x score).
#pragma once

#include "kernelTypes.h"

#include <cstddef>
#include <string>

namespace trt_helper
{
enum class MoeActivation : int32_t
{
    kSWISH = 0,
    kRELU = 1,
    kGELU = 2,
};

struct FMoEProblem
{
    ElemType type;
    MoeActivation act;
    int64_t batch;
    int64_t time;
    int32_t dim;              //!< D
    int32_t hidden;           //!< H
    int32_t experts;          //!< E
    void const* x;            //!< (batch * time, D)
    int32_t const* expertIdx; //!< (batch * time)
    void const* score;        //!< (batch * time) or null
    int32_t const* lengths;   //!< (batch) or null
    void const* w1;
    void const* b1;
    void const* w2;
    void const* b2;
    void* y; //!< (batch * time, D)
};

//! Device workspace bytes needed for a problem of `tokens` tokens.
size_t fmoeWorkspaceSize(ElemType type, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts);

//! "" when the GEMM kernels of `type` take these sizes, else the reason (16-bit types need D and H multiples of 8).
std::string fmoeCheckSizes(ElemType type, int64_t dim, int64_t hidden, int64_t experts);

//! Runs the whole layer on `stream` without waiting on the host. Returns cudaSuccess or the first launch error;
//! cudaErrorInvalidValue for a short workspace or misaligned 16-bit weights.
cudaError_t fmoeForward(FMoEProblem const& p, void* workspace, size_t workspaceSize, cudaStream_t stream);
} // namespace trt_helper
