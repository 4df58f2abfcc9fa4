// RelPositionalEncoding IPluginV3: inputs x (B, T, D) and pe (1, max_len, D); outputs x * scale (B, T, D) and
// pos_emb = pe[:, :T] (1, T, D); field scale. T > max_len is an error.
#pragma once

#include "pluginCommon.h"

namespace trt_helper
{
class RelPositionalEncodingPlugin : public FixedIoPlugin
{
public:
    static constexpr char const* kNAME = "RelPositionalEncoding";
    static std::vector<FieldSpec> fieldSpecs();
    static std::string validate(FieldValues const& fields);

    RelPositionalEncodingPlugin(std::string layerName, FieldValues fields);

    TRTH_PLUGIN_OVERRIDES;

private:
    float mScale;
};
} // namespace trt_helper
