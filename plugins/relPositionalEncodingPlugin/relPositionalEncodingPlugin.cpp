#include "relPositionalEncodingPlugin.h"
#include "checkCuda.h"
#include "relPositionalEncodingKernel.h"

namespace trt_helper
{
//! x, pe -> x * scale, pe[:, :T]
static constexpr IoTypes kIO_TYPES{"2 inputs (x, pe) and 2 outputs", 2, 2,
    {TypeRule::kFLOATING, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0}};

std::vector<FieldSpec> RelPositionalEncodingPlugin::fieldSpecs()
{
    return {{"scale", PluginFieldType::kFLOAT32, true}};
}

std::string RelPositionalEncodingPlugin::validate(FieldValues const& fields)
{
    return checkFinite(fields, "scale");
}

RelPositionalEncodingPlugin::RelPositionalEncodingPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mScale(mFields.getFloat("scale"))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(RelPositionalEncodingPlugin)

IoTypes const& RelPositionalEncodingPlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t RelPositionalEncodingPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder& exprBuilder) noexcept
{
    if (nbInputs != 2 || nbOutputs != 2 || inputs[0].nbDims != 3 || inputs[1].nbDims != 3)
    {
        return fail("expects x (B, T, D) and pe (1, max_len, D)");
    }
    outputs[0] = inputs[0];
    outputs[1].nbDims = 3;
    outputs[1].d[0] = exprBuilder.constant(1);
    outputs[1].d[1] = inputs[0].d[1];
    outputs[1].d[2] = inputs[0].d[2];
    return 0;
}

//! Checks x (B, T, D) against pe (1, max_len, D) where the sizes are known (>= 0); returns the reason or "".
static std::string checkShapes(nvinfer1::Dims const& x, nvinfer1::Dims const& pe)
{
    if (x.nbDims != 3 || pe.nbDims != 3)
    {
        return "expects x (B, T, D) and pe (1, max_len, D), got " + dimsToString(x) + " and " + dimsToString(pe);
    }
    if (pe.d[0] > 1 || (x.d[2] >= 0 && pe.d[2] >= 0 && x.d[2] != pe.d[2]))
    {
        return "pe must be (1, max_len, D) with D = x's last dim, got " + dimsToString(pe);
    }
    if (x.d[1] >= 0 && pe.d[1] >= 0 && x.d[1] > pe.d[1])
    {
        return "T = " + std::to_string(x.d[1]) + " exceeds the table's max_len = " + std::to_string(pe.d[1]);
    }
    return {};
}

int32_t RelPositionalEncodingPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (int32_t const status = checkCounts(nbInputs, nbOutputs))
    {
        return status;
    }
    return failOn(checkShapes(in[0].desc.dims, in[1].desc.dims));
}

int32_t RelPositionalEncodingPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    nvinfer1::Dims const& x = inputDesc[0].dims;
    ElemType type;
    if (!toElemType(inputDesc[0].type, type) || inputDesc[1].type != inputDesc[0].type)
    {
        return fail("x and pe must be of one floating type");
    }
    if (int32_t const status = failOn(checkShapes(x, inputDesc[1].dims)))
    {
        return status;
    }
    TRTH_CUDA_RETURN(launchRelPositionalEncoding(
        type, inputs[0], inputs[1], outputs[0], outputs[1], volume(x), x.d[1] * x.d[2], mScale, stream));
    return 0;
}
} // namespace trt_helper
