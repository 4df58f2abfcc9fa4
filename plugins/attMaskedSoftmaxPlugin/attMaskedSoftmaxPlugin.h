// AttMaskedSoftmax IPluginV3: inputs scores (B, ..., Tk) and lengths (B) int32; output like scores; field scale.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class AttMaskedSoftmaxPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "AttMaskedSoftmax";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    AttMaskedSoftmaxPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    float mScale;
};
} // namespace trt_helper
