// MaskedFill IPluginV3: inputs x (B, C, T) or (B, T, C) and lengths (B) int32; output like x; fields fill, layout.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class MaskedFillPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "MaskedFill";
    //! Values of the 'layout' field.
    static constexpr int32_t kLAYOUT_BCT = 0;
    static constexpr int32_t kLAYOUT_BTC = 1;

    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    MaskedFillPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    float mFill;
    int32_t mLayout;
};
} // namespace trt_helper
