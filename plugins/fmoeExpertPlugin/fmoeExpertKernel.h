// Mixture-of-experts feed-forward (FastMoE semantics, top-1): for each token n with expert e = idx[n],
//   y[n] = (act(x[n] . W1[e]^T + b1[e]) . W2[e]^T + b2[e]) * score[n]
// W1 (E, H, D), b1 (E, H), W2 (E, D, H), b2 (E, D): FMoELinear's (num_expert, out_feat, in_feat) layout.
// Tokens past their utterance length (when lengths are given) get y = 0; tokens with an expert id outside [0, E)
// are counted as invalid, never read as memory, and get y = NaN.
// Routing (histogram, offsets, permutation, cuBLAS pointer arrays) runs on the device in one block; the host reads
// the E + 3 offsets it wrote to mapped pinned memory once per call (one event wait) to size the expert GEMMs: one strided-batched GEMM over a padded
// layout when the routing is balanced enough, else a grouped GEMM of the exact per-expert sizes.
#pragma once

#include "kernelTypes.h"

#include <cublas_v2.h>
#include <cstddef>

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
    int32_t dim;     //!< D
    int32_t hidden;  //!< H
    int32_t experts; //!< E
    void const* x;   //!< (batch * time, D)
    int32_t const* expertIdx; //!< (batch * time)
    void const* score;        //!< (batch * time) or null
    int32_t const* lengths;   //!< (batch) or null
    void const* w1;
    void const* b1;
    void const* w2;
    void const* b2;
    void* y; //!< (batch * time, D)
};

//! What the host keeps between calls on one device: a cuBLAS handle, an event and a mapped pinned buffer that the
//! routing kernel writes the expert offsets into.
struct FMoEHostResources
{
    cublasHandle_t cublas;
    cudaEvent_t countsReady;
    int32_t* hostOffsets;       //!< mapped pinned memory, at least experts + 3 ints (host address)
    int32_t* hostOffsetsDevice; //!< the same memory's device address
};

//! Device workspace bytes needed for a problem of `tokens` tokens (includes the cuBLAS workspace).
size_t fmoeWorkspaceSize(ElemType type, int64_t tokens, int32_t dim, int32_t hidden, int32_t experts);

//! Runs the whole layer on `stream`. Returns cudaSuccess, or the first CUDA error; cuBLAS failures come back as
//! cudaErrorUnknown with *cublasStatus set. *invalidTokens receives the number of out-of-range expert ids.
cudaError_t fmoeForward(FMoEProblem const& p, FMoEHostResources const& res, void* workspace, size_t workspaceSize,
    cudaStream_t stream, int64_t* invalidTokens, cublasStatus_t* cublasStatus);
} // namespace trt_helper
