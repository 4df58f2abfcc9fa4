// WeightOnlyGemm IPluginV3: inputs x (..., K) fp16/bf16, packed int4/int8 weights (trt_helper/woq_layout.py), scales
// (N) or (K / group_size, N), optional bias (N); output (..., N). Fields bits, group_size, has_bias.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class WeightOnlyGemmPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "WeightOnlyGemm";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    WeightOnlyGemmPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    //! "" when the shapes fit together (unknown sizes, -1, are skipped), else the reason.
    std::string checkShapes(nvinfer1::Dims const& x, nvinfer1::Dims const& w, nvinfer1::Dims const& scales,
        nvinfer1::Dims const* bias) const;

    int32_t mBits;
    int32_t mGroupSize;
    bool mHasBias;
};
} // namespace trt_helper
