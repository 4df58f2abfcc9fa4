#include "fmoeExpertPlugin.h"
#include "checkCuda.h"

namespace trt_helper
{
std::vector<FieldSpec> FMoEExpertPlugin::fieldSpecs()
{
    return {{"num_experts", PluginFieldType::kINT32, true}, {"hidden", PluginFieldType::kINT32, true},
        {"act", PluginFieldType::kINT32, true}, {"has_score", PluginFieldType::kINT32, false},
        {"has_lengths", PluginFieldType::kINT32, false}};
}

std::string FMoEExpertPlugin::validate(FieldValues const& fields)
{
    if (fields.getInt("num_experts") <= 0)
    {
        return "field 'num_experts' must be > 0, got " + std::to_string(fields.getInt("num_experts"));
    }
    if (fields.getInt("hidden") <= 0)
    {
        return "field 'hidden' must be > 0, got " + std::to_string(fields.getInt("hidden"));
    }
    int32_t const act = fields.getInt("act");
    if (act < 0 || act > 2)
    {
        return "field 'act' must be 0 (swish), 1 (relu) or 2 (gelu), got " + std::to_string(act);
    }
    for (char const* flag : {"has_score", "has_lengths"})
    {
        int32_t const v = fields.getInt(flag);
        if (v != 0 && v != 1)
        {
            return std::string("field '") + flag + "' must be 0 or 1, got " + std::to_string(v);
        }
    }
    return {};
}

FMoEExpertPlugin::FMoEExpertPlugin(std::string layerName, FieldValues fields)
    : PluginBase(kNAME, std::move(layerName), std::move(fields))
    , mExperts(mFields.getInt("num_experts"))
    , mHidden(mFields.getInt("hidden"))
    , mAct(mFields.getInt("act"))
    , mHasScore(mFields.getInt("has_score") != 0)
    , mHasLengths(mFields.getInt("has_lengths") != 0)
{
}

TRTH_PLUGIN_CLONE_BY_COPY(FMoEExpertPlugin)

int32_t FMoEExpertPlugin::position(Input input) const
{
    switch (input)
    {
    case kX: return 0;
    case kIDX: return 1;
    case kSCORE: return mHasScore ? 2 : -1;
    case kLENGTHS: return mHasLengths ? 2 + (mHasScore ? 1 : 0) : -1;
    default: return 2 + (mHasScore ? 1 : 0) + (mHasLengths ? 1 : 0) + (input - kW1);
    }
}

int32_t FMoEExpertPlugin::nbInputs() const
{
    return position(kB2) + 1;
}

int32_t FMoEExpertPlugin::getNbOutputs() const noexcept
{
    return 1;
}

int32_t FMoEExpertPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbInputs != this->nbInputs() || nbOutputs != 1)
    {
        return fail("expects " + std::to_string(this->nbInputs()) + " inputs and 1 output");
    }
    outputTypes[0] = inputTypes[0];
    return 0;
}

int32_t FMoEExpertPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const*, int32_t, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
    nvinfer1::IExprBuilder&) noexcept
{
    if (nbInputs != this->nbInputs() || nbOutputs != 1 || inputs[0].nbDims != 3)
    {
        return fail("expects x (B, T, D) and " + std::to_string(this->nbInputs() - 1) + " more inputs");
    }
    outputs[0] = inputs[0];
    return 0;
}

bool FMoEExpertPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (nbInputs != this->nbInputs() || nbOutputs != 1 || pos < 0 || pos > nbInputs)
    {
        return false;
    }
    TypeRule const rule = pos == 0                           ? TypeRule::kFLOATING
        : pos == position(kIDX) || pos == position(kLENGTHS) ? TypeRule::kINT32
                                                             : TypeRule::kAS_INPUT0;
    return supportsType(pos, inOut, rule);
}

std::string FMoEExpertPlugin::checkShapes(PluginTensorDesc const* in) const
{
    nvinfer1::Dims const& x = in[kX].dims;
    if (x.nbDims != 3)
    {
        return "x must be (B, T, D), got " + dimsToString(x);
    }
    int64_t const b = x.d[0];
    int64_t const t = x.d[1];
    int64_t const d = x.d[2];
    int64_t const e = mExperts;
    int64_t const h = mHidden;
    auto known = [](int64_t v) { return v >= 0; };
    auto expect = [&](Input input, int64_t want, char const* what) -> std::string
    {
        int32_t const p = position(input);
        if (p < 0 || !known(want))
        {
            return {};
        }
        int64_t const got = volume(in[p].dims);
        if (known(got) && got != want)
        {
            return std::string(what) + " must hold " + std::to_string(want) + " values, got "
                + dimsToString(in[p].dims);
        }
        return {};
    };
    auto expectDims = [&](Input input, int64_t d0, int64_t d1, int64_t d2, char const* what) -> std::string
    {
        nvinfer1::Dims const& w = in[position(input)].dims;
        auto differs = [&](int64_t got, int64_t want) { return known(got) && known(want) && got != want; };
        if (w.nbDims != 3 || differs(w.d[0], d0) || differs(w.d[1], d1) || differs(w.d[2], d2))
        {
            return std::string(what) + " must be " + dimsToString(nvinfer1::Dims{3, {d0, d1, d2}}) + ", got "
                + dimsToString(w);
        }
        return {};
    };
    std::string r = expect(kIDX, known(b) && known(t) ? b * t : -1, "expert_idx");
    if (r.empty())
        r = expect(kSCORE, known(b) && known(t) ? b * t : -1, "score");
    if (r.empty())
        r = expect(kLENGTHS, b, "lengths");
    if (r.empty())
        r = expectDims(kW1, e, h, d, "w1");
    if (r.empty())
        r = expect(kB1, e * h, "b1");
    if (r.empty())
        r = expectDims(kW2, e, d, h, "w2");
    if (r.empty())
        r = expect(kB2, known(d) ? e * d : -1, "b2");
    return r;
}

int32_t FMoEExpertPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t nbOutputs) noexcept
{
    if (nbInputs != this->nbInputs() || nbOutputs != 1)
    {
        return fail("expects " + std::to_string(this->nbInputs()) + " inputs and 1 output");
    }
    std::vector<PluginTensorDesc> descs;
    for (int32_t i = 0; i < nbInputs; ++i)
    {
        descs.push_back(in[i].desc);
    }
    std::string reason = checkShapes(descs.data());
    ElemType type;
    if (reason.empty() && toElemType(in[kX].desc.type, type) && in[kX].desc.dims.nbDims == 3)
    {
        reason = fmoeCheckSizes(type, in[kX].desc.dims.d[2], mHidden, mExperts);
    }
    return failOn(reason);
}

size_t FMoEExpertPlugin::getWorkspaceSize(
    DynamicPluginTensorDesc const* inputs, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t) const noexcept
{
    ElemType type;
    if (nbInputs != this->nbInputs() || inputs[0].max.nbDims != 3 || !toElemType(inputs[0].desc.type, type))
    {
        return 0;
    }
    nvinfer1::Dims const& x = inputs[0].max;
    return fmoeWorkspaceSize(type, x.d[0] * x.d[1], static_cast<int32_t>(x.d[2]), mHidden, mExperts);
}

int32_t FMoEExpertPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*, void const* const* inputs,
    void* const* outputs, void* workspace, cudaStream_t stream) noexcept
{
    try
    {
        ElemType type;
        if (!toElemType(inputDesc[kX].type, type))
        {
            return fail("x must be floating");
        }
        if (int32_t const status = failOn(checkShapes(inputDesc)))
        {
            return status;
        }
        nvinfer1::Dims const& x = inputDesc[kX].dims;
        if (x.d[0] * x.d[1] > INT32_MAX || x.d[2] > INT32_MAX)
        {
            return fail("too many tokens for int32 routing: " + dimsToString(x));
        }
        FMoEProblem p{};
        p.type = type;
        p.act = static_cast<MoeActivation>(mAct);
        p.batch = x.d[0];
        p.time = x.d[1];
        p.dim = static_cast<int32_t>(x.d[2]);
        p.hidden = mHidden;
        p.experts = mExperts;
        p.x = inputs[kX];
        p.expertIdx = static_cast<int32_t const*>(inputs[kIDX]);
        p.score = mHasScore ? inputs[position(kSCORE)] : nullptr;
        p.lengths = mHasLengths ? static_cast<int32_t const*>(inputs[position(kLENGTHS)]) : nullptr;
        p.w1 = inputs[position(kW1)];
        p.b1 = inputs[position(kB1)];
        p.w2 = inputs[position(kW2)];
        p.b2 = inputs[position(kB2)];
        p.y = outputs[0];

        if (int32_t const status = failOn(fmoeCheckSizes(type, p.dim, p.hidden, p.experts)))
        {
            return status;
        }
        size_t const needed = fmoeWorkspaceSize(type, p.batch * p.time, p.dim, p.hidden, p.experts);
        cudaError_t const status = fmoeForward(p, workspace, needed, stream);
        if (status == cudaErrorInvalidValue)
        {
            return fail("null workspace or weights not 16-byte aligned");
        }
        TRTH_CUDA_RETURN(status);
        return 0;
    }
    catch (std::exception const& e)
    {
        return fail(std::string("enqueue failed: ") + e.what());
    }
}
} // namespace trt_helper
