#include "weightOnlyGemmPlugin.h"
#include "checkCuda.h"
#include "weightOnlyGemmKernel.h"

namespace trt_helper
{
//! x, weights, scales[, bias] -> y
static constexpr IoTypes kIO_TYPES{"3 inputs (x, weights, scales) and 1 output", 3, 1,
    {TypeRule::kHALF, TypeRule::kINT8, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0}};
static constexpr IoTypes kIO_TYPES_BIAS{"4 inputs (x, weights, scales, bias) and 1 output", 4, 1,
    {TypeRule::kHALF, TypeRule::kINT8, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0, TypeRule::kAS_INPUT0}};

std::vector<FieldSpec> WeightOnlyGemmPlugin::fieldSpecs()
{
    return {{"bits", PluginFieldType::kINT32, true}, {"group_size", PluginFieldType::kINT32, true},
        {"has_bias", PluginFieldType::kINT32, false}};
}

std::string WeightOnlyGemmPlugin::validate(FieldValues const& fields)
{
    int32_t const bits = fields.getInt("bits");
    if (bits != 4 && bits != 8)
    {
        return "field 'bits' must be 4 or 8, got " + std::to_string(bits);
    }
    int32_t const group = fields.getInt("group_size");
    if (group != 0 && group != 64 && group != 128)
    {
        return "field 'group_size' must be 0 (per channel), 64 or 128, got " + std::to_string(group);
    }
    int32_t const hasBias = fields.getInt("has_bias");
    if (hasBias != 0 && hasBias != 1)
    {
        return "field 'has_bias' must be 0 or 1, got " + std::to_string(hasBias);
    }
    return {};
}

WeightOnlyGemmPlugin::WeightOnlyGemmPlugin(std::string layerName, FieldValues fields)
    : FixedIoPlugin(kNAME, std::move(layerName), std::move(fields))
    , mBits(mFields.getInt("bits"))
    , mGroupSize(mFields.getInt("group_size"))
    , mHasBias(mFields.getInt("has_bias") != 0)
{
}

TRTH_PLUGIN_CLONE_BY_COPY(WeightOnlyGemmPlugin)

IoTypes const& WeightOnlyGemmPlugin::io() const noexcept
{
    return mHasBias ? kIO_TYPES_BIAS : kIO_TYPES;
}

int32_t WeightOnlyGemmPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (!io().countsMatch(nbInputs, nbOutputs) || inputs[0].nbDims < 1 || inputs[2].nbDims < 1)
    {
        return fail(std::string("expects x of rank >= 1 and ") + io().expects);
    }
    outputs[0] = inputs[0];
    outputs[0].d[inputs[0].nbDims - 1] = inputs[2].d[inputs[2].nbDims - 1]; // N, from the scales
    return 0;
}

std::string WeightOnlyGemmPlugin::checkShapes(
    nvinfer1::Dims const& x, nvinfer1::Dims const& w, nvinfer1::Dims const& scales, nvinfer1::Dims const* bias) const
{
    if (x.nbDims < 1)
    {
        return "x must have rank >= 1, got " + dimsToString(x);
    }
    int64_t const k = x.d[x.nbDims - 1];
    int32_t const wantRank = mGroupSize == 0 ? 1 : 2;
    if (scales.nbDims != wantRank)
    {
        return std::string("scales must be ") + (mGroupSize == 0 ? "(N)" : "(K / group_size, N)") + ", got "
            + dimsToString(scales);
    }
    int64_t const n = scales.d[scales.nbDims - 1];
    if (k >= 0)
    {
        if (k % 16 != 0)
        {
            return "K = " + std::to_string(k) + " (the last dimension of x) must be a multiple of 16";
        }
        if (mGroupSize != 0 && k % mGroupSize != 0)
        {
            return "K = " + std::to_string(k) + " is not a multiple of group_size " + std::to_string(mGroupSize);
        }
        if (mGroupSize != 0 && scales.d[0] >= 0 && scales.d[0] != k / mGroupSize)
        {
            return "scales must be (K / group_size = " + std::to_string(k / mGroupSize) + ", N), got "
                + dimsToString(scales);
        }
    }
    if (n >= 0 && k >= 0)
    {
        int64_t const rows = (n + 15) / 16 * 16;
        int64_t const cols = (k + 63) / 64 * 64 * mBits / 8;
        if (w.nbDims != 2 || (w.d[0] >= 0 && w.d[0] != rows) || (w.d[1] >= 0 && w.d[1] != cols))
        {
            return "weights (packed by trt_helper.woq_layout, bits = " + std::to_string(mBits) + ") must be ("
                + std::to_string(rows) + ", " + std::to_string(cols) + ") for N = " + std::to_string(n)
                + ", K = " + std::to_string(k) + ", got " + dimsToString(w);
        }
    }
    if (bias != nullptr && n >= 0 && volume(*bias) >= 0 && volume(*bias) != n)
    {
        return "bias must hold N = " + std::to_string(n) + " values, got " + dimsToString(*bias);
    }
    return {};
}

int32_t WeightOnlyGemmPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (int32_t const status = checkCounts(nbInputs, nbOutputs))
    {
        return status;
    }
    try
    {
        return failOn(
            checkShapes(in[0].desc.dims, in[1].desc.dims, in[2].desc.dims, mHasBias ? &in[3].desc.dims : nullptr));
    }
    catch (...)
    {
        return -1;
    }
}

int32_t WeightOnlyGemmPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    ElemType type;
    if (!toElemType(inputDesc[0].type, type) || type == ElemType::kFLOAT32)
    {
        return fail("x must be fp16 or bf16");
    }
    try
    {
        std::string const reason = checkShapes(
            inputDesc[0].dims, inputDesc[1].dims, inputDesc[2].dims, mHasBias ? &inputDesc[3].dims : nullptr);
        if (!reason.empty())
        {
            return fail(reason);
        }
    }
    catch (...)
    {
        return -1;
    }
    nvinfer1::Dims const& xd = inputDesc[0].dims;
    int64_t const k = xd.d[xd.nbDims - 1];
    int64_t const n = inputDesc[2].dims.d[inputDesc[2].dims.nbDims - 1];
    if (k > INT32_MAX || n > INT32_MAX)
    {
        return fail("N and K must fit in int32");
    }
    int64_t const m = k == 0 ? 0 : volume(xd) / k;
    TRTH_CUDA_RETURN(launchWeightOnlyGemm(type, mBits, mGroupSize, inputs[0], inputs[1], inputs[2],
        mHasBias ? inputs[3] : nullptr, outputs[0], m, static_cast<int32_t>(n), static_cast<int32_t>(k), stream));
    return 0;
}
} // namespace trt_helper
