// SoftmaxTopK (top-1 router gate) IPluginV3: inputs logits (B, T, E) and lengths (B) int32; outputs value (B, T, 1)
// and index (B, T, 1) int32. No fields.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class SoftmaxTopKPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "SoftmaxTopK";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    SoftmaxTopKPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;
};
} // namespace trt_helper
