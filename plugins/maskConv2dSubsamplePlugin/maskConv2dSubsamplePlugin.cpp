#include "maskConv2dSubsamplePlugin.h"
#include "checkCuda.h"
#include "maskConv2dSubsampleKernel.h"

namespace trt_helper
{
//! lengths -> subsampled lengths
static constexpr IoTypes kIO_TYPES{"1 input (lengths) and 1 output", 1, 1, {TypeRule::kINT32, TypeRule::kINT32}};

std::vector<FieldSpec> MaskConv2dSubsamplePlugin::fieldSpecs()
{
    return {{"factor", PluginFieldType::kINT32, true}};
}

std::string MaskConv2dSubsamplePlugin::validate(FieldValues const& fields)
{
    int32_t const factor = fields.getInt("factor");
    if (factor != 4 && factor != 6 && factor != 8)
    {
        return "field 'factor' must be 4, 6 or 8, got " + std::to_string(factor);
    }
    return {};
}

MaskConv2dSubsamplePlugin::MaskConv2dSubsamplePlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mFactor(mFields.getInt("factor"))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(MaskConv2dSubsamplePlugin)

IoTypes const& MaskConv2dSubsamplePlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t MaskConv2dSubsamplePlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1)
    {
        return fail("expects 1 input (lengths) and 1 output");
    }
    outputs[0] = inputs[0];
    return 0;
}

int32_t MaskConv2dSubsamplePlugin::configurePlugin(
    DynamicPluginTensorDesc const*, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    return checkCounts(nbInputs, nbOutputs);
}

int32_t MaskConv2dSubsamplePlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    if (inputDesc[0].type != DataType::kINT32)
    {
        return fail("lengths must be int32");
    }
    TRTH_CUDA_RETURN(launchSubsampleLengths(static_cast<int32_t const*>(inputs[0]), static_cast<int32_t*>(outputs[0]),
        volume(inputDesc[0].dims), mFactor, stream));
    return 0;
}
} // namespace trt_helper
