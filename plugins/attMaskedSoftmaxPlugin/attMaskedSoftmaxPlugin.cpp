#include "attMaskedSoftmaxPlugin.h"
#include "attMaskedSoftmaxKernel.h"
#include "checkCuda.h"

namespace trt_helper
{
//! scores, lengths -> out
static constexpr IoTypes kIO_TYPES{
    "2 inputs (scores, lengths) and 1 output", 2, 1, {TypeRule::kFLOATING, TypeRule::kINT32, TypeRule::kAS_INPUT0}};

std::vector<FieldSpec> AttMaskedSoftmaxPlugin::fieldSpecs()
{
    return {{"scale", PluginFieldType::kFLOAT32, true}};
}

std::string AttMaskedSoftmaxPlugin::validate(FieldValues const& fields)
{
    return checkFinite(fields, "scale");
}

AttMaskedSoftmaxPlugin::AttMaskedSoftmaxPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mScale(mFields.getFloat("scale"))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(AttMaskedSoftmaxPlugin)

IoTypes const& AttMaskedSoftmaxPlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t AttMaskedSoftmaxPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims < 2)
    {
        return fail("expects scores of rank >= 2 and lengths");
    }
    outputs[0] = inputs[0];
    return 0;
}

int32_t AttMaskedSoftmaxPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || nbOutputs != 1 || in[0].desc.dims.nbDims < 2)
    {
        return fail("expects scores (B, ..., Tk) and lengths (B)");
    }
    return failOn(checkLengths(in[0].desc.dims, in[1].desc.dims));
}

int32_t AttMaskedSoftmaxPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    nvinfer1::Dims const& d = inputDesc[0].dims;
    ElemType type;
    if (d.nbDims < 2 || !toElemType(inputDesc[0].type, type) || inputDesc[1].type != DataType::kINT32)
    {
        return fail("scores must be floating of rank >= 2 and lengths int32");
    }
    int64_t const batch = d.d[0];
    int64_t const tk = d.d[d.nbDims - 1];
    if (volume(inputDesc[1].dims) != batch || tk > INT32_MAX)
    {
        return fail("lengths must hold B = " + std::to_string(batch) + " values");
    }
    int64_t const rowsPerBatch = batch == 0 || tk == 0 ? 0 : volume(d) / (batch * tk);
    TRTH_CUDA_RETURN(launchAttMaskedSoftmax(type, inputs[0], static_cast<int32_t const*>(inputs[1]), outputs[0], batch,
        rowsPerBatch, static_cast<int32_t>(tk), mScale, stream));
    return 0;
}
} // namespace trt_helper
