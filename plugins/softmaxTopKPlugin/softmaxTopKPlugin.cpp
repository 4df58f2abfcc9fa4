#include "softmaxTopKPlugin.h"
#include "checkCuda.h"
#include "softmaxTopKKernel.h"

namespace trt_helper
{
std::vector<FieldSpec> SoftmaxTopKPlugin::fieldSpecs()
{
    return {};
}

std::string SoftmaxTopKPlugin::validate(FieldValues const&)
{
    return {};
}

SoftmaxTopKPlugin::SoftmaxTopKPlugin(std::string layerName, FieldValues fields)
    : PluginBase(kNAME, std::move(layerName), std::move(fields))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(SoftmaxTopKPlugin)

int32_t SoftmaxTopKPlugin::getNbOutputs() const noexcept
{
    return 2;
}

int32_t SoftmaxTopKPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbInputs != 2 || nbOutputs != 2)
    {
        return fail("expects 2 inputs (logits, lengths) and 2 outputs (value, index)");
    }
    outputTypes[0] = inputTypes[0];
    outputTypes[1] = DataType::kINT32;
    return 0;
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

bool SoftmaxTopKPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || nbOutputs != 2 || pos < 0 || pos >= 4)
    {
        return false;
    }
    PluginTensorDesc const& d = inOut[pos].desc;
    if (d.format != nvinfer1::TensorFormat::kLINEAR)
    {
        return false;
    }
    switch (pos)
    {
    case 0: return isFloatType(d.type);
    case 2: return d.type == inOut[0].desc.type;
    default: return d.type == DataType::kINT32;
    }
}

int32_t SoftmaxTopKPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || nbOutputs != 2 || in[0].desc.dims.nbDims != 3)
    {
        return fail("expects logits (B, T, E) and lengths (B)");
    }
    int64_t const b = in[0].desc.dims.d[0];
    int64_t const n = volume(in[1].desc.dims);
    if (b >= 0 && n >= 0 && b != n)
    {
        return fail("lengths must hold B = " + std::to_string(b) + " values, got " + dimsToString(in[1].desc.dims));
    }
    return 0;
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
