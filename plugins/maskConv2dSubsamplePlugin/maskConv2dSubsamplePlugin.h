// MaskConv2dSubsample IPluginV3: input lengths (any shape) int32; output the subsampled lengths, same shape, int32;
// field factor (4, 6 or 8).
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class MaskConv2dSubsamplePlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "MaskConv2dSubsample";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    MaskConv2dSubsamplePlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    int32_t mFactor;
};
} // namespace trt_helper
