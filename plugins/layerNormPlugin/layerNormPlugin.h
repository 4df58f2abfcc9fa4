// LayerNorm IPluginV3: inputs x (..., D), gamma (D), beta (D); output like x; field eps.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class LayerNormPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "LayerNorm";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    LayerNormPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    float mEps;
};
} // namespace trt_helper
