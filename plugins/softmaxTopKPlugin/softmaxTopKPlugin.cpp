#include "softmaxTopKPlugin.h"
#include "checkCuda.h"
#include "softmaxTopKKernel.h"

namespace trt_helper
{
//! logits, lengths -> value, index
static constexpr IoTypes kIO_TYPES{"2 inputs (logits, lengths) and 2 outputs (value, index)", 2, 2,
    {TypeRule::kFLOATING, TypeRule::kINT32, TypeRule::kAS_INPUT0, TypeRule::kINT32}};

std::vector<FieldSpec> SoftmaxTopKPlugin::fieldSpecs()
{
    return {};
}

std::string SoftmaxTopKPlugin::validate(FieldValues const&)
{
    return {};
}

SoftmaxTopKPlugin::SoftmaxTopKPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(SoftmaxTopKPlugin)

IoTypes const& SoftmaxTopKPlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t SoftmaxTopKPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder& exprBuilder) noexcept
{
    if (nbInputs != 2 || nbOutputs != 2 || inputs[0].nbDims != 3)
    {
        return fail("expects logits (B, T, E) and lengths (B)");
    }
    for (int i = 0; i < 2; ++i)
    {
        outputs[i] = inputs[0];
        outputs[i].d[2] = exprBuilder.constant(1);
    }
    return 0;
}

int32_t SoftmaxTopKPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || nbOutputs != 2 || in[0].desc.dims.nbDims != 3)
    {
        return fail("expects logits (B, T, E) and lengths (B)");
    }
    return failOn(checkLengths(in[0].desc.dims, in[1].desc.dims));
}

int32_t SoftmaxTopKPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    nvinfer1::Dims const& d = inputDesc[0].dims;
    ElemType type;
    if (d.nbDims != 3 || !toElemType(inputDesc[0].type, type) || inputDesc[1].type != DataType::kINT32)
    {
        return fail("logits must be floating (B, T, E) and lengths int32");
    }
    if (volume(inputDesc[1].dims) != d.d[0] || d.d[2] > INT32_MAX)
    {
        return fail("lengths must hold B = " + std::to_string(d.d[0]) + " values");
    }
    TRTH_CUDA_RETURN(launchSoftmaxTop1(type, inputs[0], static_cast<int32_t const*>(inputs[1]), outputs[0],
        static_cast<int32_t*>(outputs[1]), d.d[0], d.d[1], static_cast<int32_t>(d.d[2]), stream));
    return 0;
}
} // namespace trt_helper
