#include "maskedFillPlugin.h"
#include "checkCuda.h"
#include "maskedFillKernel.h"

#include <cmath>

namespace trt_helper
{
//! x, lengths -> out
static constexpr IoTypes kIO_TYPES{
    "2 inputs (x, lengths) and 1 output", 2, 1, {TypeRule::kFLOATING, TypeRule::kINT32, TypeRule::kAS_INPUT0}};

std::vector<FieldSpec> MaskedFillPlugin::fieldSpecs()
{
    return {{"fill", PluginFieldType::kFLOAT32, true}, {"layout", PluginFieldType::kINT32, true}};
}

std::string MaskedFillPlugin::validate(FieldValues const& fields)
{
    int32_t const layout = fields.getInt("layout");
    if (layout != kLAYOUT_BCT && layout != kLAYOUT_BTC)
    {
        return "field 'layout' must be 0 (B, C, T) or 1 (B, T, C), got " + std::to_string(layout);
    }
    if (std::isnan(fields.getFloat("fill")))
    {
        return "field 'fill' must not be NaN";
    }
    return {};
}

MaskedFillPlugin::MaskedFillPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mFill(mFields.getFloat("fill"))
    , mLayout(mFields.getInt("layout"))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(MaskedFillPlugin)

IoTypes const& MaskedFillPlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t MaskedFillPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims != 3)
    {
        return fail("expects x of rank 3 and lengths");
    }
    outputs[0] = inputs[0];
    return 0;
}

int32_t MaskedFillPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || nbOutputs != 1 || in[0].desc.dims.nbDims != 3)
    {
        return fail("expects x (B, C, T) or (B, T, C) and lengths (B)");
    }
    return failOn(checkLengths(in[0].desc.dims, in[1].desc.dims));
}

int32_t MaskedFillPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*, void const* const* inputs,
    void* const* outputs, void*, cudaStream_t stream) noexcept
{
    nvinfer1::Dims const& d = inputDesc[0].dims;
    ElemType type;
    if (d.nbDims != 3 || !toElemType(inputDesc[0].type, type) || inputDesc[1].type != DataType::kINT32)
    {
        return fail("x must be floating of rank 3 and lengths int32");
    }
    if (volume(inputDesc[1].dims) != d.d[0])
    {
        return fail("lengths must hold B = " + std::to_string(d.d[0]) + " values");
    }
    int64_t const time = mLayout == kLAYOUT_BCT ? d.d[2] : d.d[1];
    int64_t const innerStride = mLayout == kLAYOUT_BCT ? 1 : d.d[2];
    TRTH_CUDA_RETURN(launchMaskedFill(type, inputs[0], static_cast<int32_t const*>(inputs[1]), outputs[0], d.d[0],
        d.d[1] * d.d[2], time, innerStride, mFill, stream));
    return 0;
}
} // namespace trt_helper
