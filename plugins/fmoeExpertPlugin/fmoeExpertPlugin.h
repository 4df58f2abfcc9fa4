// FMoEExpert IPluginV3: top-1 mixture-of-experts feed-forward.
// Inputs: x (B, T, D), expert_idx (B*T values, int32), [score (B*T values)], [lengths (B) int32],
//         w1 (E, H, D), b1 (E, H), w2 (E, D, H), b2 (E, D). Output: y (B, T, D).
// Fields: num_experts, hidden, act (0 swish, 1 relu, 2 gelu), has_score (0/1), has_lengths (0/1).
// Holds fields only: no CUDA resource, no device memory (the workspace holds everything); enqueue never waits.
#pragma once

#include "fmoeExpertKernel.h"
#include "pluginCommon.h"

namespace trt_helper
{
class FMoEExpertPlugin : public PluginBase
{
public:
    static constexpr char const* kNAME = "FMoEExpert";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    FMoEExpertPlugin(std::string layerName, FieldValues fields);

    nvinfer1::IPluginV3* clone() noexcept override;
    int32_t getNbOutputs() const noexcept override;
    int32_t getOutputDataTypes(
        DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const* shapeInputs,
        int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
        nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    bool supportsFormatCombination(
        int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override;
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override;
    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* outputDesc, void const* const* inputs,
        void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
    size_t getWorkspaceSize(DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
        DynamicPluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept override;

private:
    enum Input : int32_t
    {
        kX,
        kIDX,
        kSCORE,
        kLENGTHS,
        kW1,
        kB1,
        kW2,
        kB2
    };
    //! Position of an input in this plugin's input list, or -1 when it is absent.
    int32_t position(Input input) const;
    int32_t nbInputs() const;
    std::string checkShapes(PluginTensorDesc const* in) const;

    int32_t mExperts;
    int32_t mHidden;
    int32_t mAct;
    bool mHasScore;
    bool mHasLengths;
};
} // namespace trt_helper
