#include "layerNormPlugin.h"
#include "checkCuda.h"
#include "layerNormKernel.h"

#include <cmath>

namespace trt_helper
{
//! x, gamma, beta -> out
static constexpr IoTypes kIO_TYPES{"3 inputs (x, gamma, beta) and 1 output", 3, 1,
    {TypeRule::kFLOATING, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0}};

std::vector<FieldSpec> LayerNormPlugin::fieldSpecs()
{
    return {{"eps", PluginFieldType::kFLOAT32, true}};
}

std::string LayerNormPlugin::validate(FieldValues const& fields)
{
    float const eps = fields.getFloat("eps");
    if (!std::isfinite(eps) || eps < 0.F)
    {
        return "field 'eps' must be finite and >= 0, got " + std::to_string(eps);
    }
    return {};
}

LayerNormPlugin::LayerNormPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mEps(mFields.getFloat("eps"))
{
}

TRTH_PLUGIN_CLONE_BY_COPY(LayerNormPlugin)

IoTypes const& LayerNormPlugin::io() const noexcept
{
    return kIO_TYPES;
}

int32_t LayerNormPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (nbInputs != 3 || nbOutputs != 1 || inputs[0].nbDims < 1)
    {
        return fail("expects x of rank >= 1, gamma, beta");
    }
    outputs[0] = inputs[0];
    return 0;
}

int32_t LayerNormPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (int32_t const status = checkCounts(nbInputs, nbOutputs))
    {
        return status;
    }
    int64_t const dim = in[0].desc.dims.d[in[0].desc.dims.nbDims - 1];
    for (int i = 1; i < 3; ++i)
    {
        int64_t const n = volume(in[i].desc.dims);
        if (dim >= 0 && n >= 0 && n != dim)
        {
            return fail(
                "gamma/beta must hold D = " + std::to_string(dim) + " values, got " + dimsToString(in[i].desc.dims));
        }
    }
    return 0;
}

int32_t LayerNormPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*, void const* const* inputs,
    void* const* outputs, void*, cudaStream_t stream) noexcept
{
    nvinfer1::Dims const& xd = inputDesc[0].dims;
    ElemType type;
    if (xd.nbDims < 1 || !toElemType(inputDesc[0].type, type))
    {
        return fail("x must be a floating tensor of rank >= 1");
    }
    int64_t const dim = xd.d[xd.nbDims - 1];
    if (volume(inputDesc[1].dims) != dim || volume(inputDesc[2].dims) != dim || dim > INT32_MAX)
    {
        return fail("gamma/beta must hold D = " + std::to_string(dim) + " values");
    }
    int64_t const rows = dim == 0 ? 0 : volume(xd) / dim;
    TRTH_CUDA_RETURN(launchLayerNorm(
        type, inputs[0], inputs[1], inputs[2], outputs[0], rows, static_cast<int32_t>(dim), mEps, stream));
    return 0;
}
} // namespace trt_helper
