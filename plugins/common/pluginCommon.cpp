#include "pluginCommon.h"
#include "checkCuda.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace trt_helper
{
namespace
{
std::atomic<nvinfer1::ILoggerFinder*> gLoggerFinder{nullptr};
} // namespace

void setPluginLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept
{
    gLoggerFinder.store(finder);
}

void logMessage(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept
{
    nvinfer1::ILoggerFinder* finder = gLoggerFinder.load();
    if (finder == nullptr)
    {
        return;
    }
    try
    {
        if (nvinfer1::ILogger* logger = finder->findLogger())
        {
            logger->log(severity, message.c_str());
        }
    }
    catch (...)
    {
    }
}

void logError(std::string const& message) noexcept
{
    logMessage(nvinfer1::ILogger::Severity::kERROR, message);
}

bool reportCudaError(cudaError_t status, char const* what, char const* file, int line) noexcept
{
    if (status == cudaSuccess)
    {
        return false;
    }
    try
    {
        std::ostringstream os;
        os << "trt_helper plugins: " << what << " failed at " << file << ":" << line << ": " << cudaGetErrorName(status)
           << " (" << cudaGetErrorString(status) << ")";
        logError(os.str());
    }
    catch (...)
    {
    }
    return true;
}

bool toElemType(DataType type, ElemType& out) noexcept
{
    switch (type)
    {
    case DataType::kFLOAT: out = ElemType::kFLOAT32; return true;
    case DataType::kHALF: out = ElemType::kFLOAT16; return true;
    case DataType::kBF16: out = ElemType::kBFLOAT16; return true;
    default: return false;
    }
}

bool isFloatType(DataType type) noexcept
{
    ElemType unused;
    return toElemType(type, unused);
}

int64_t volume(nvinfer1::Dims const& dims) noexcept
{
    int64_t v = 1;
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        v *= dims.d[i];
    }
    return v;
}

std::string dimsToString(nvinfer1::Dims const& dims)
{
    std::ostringstream os;
    os << "(";
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        os << (i ? ", " : "") << dims.d[i];
    }
    os << ")";
    return os.str();
}

std::string checkLengths(nvinfer1::Dims const& x, nvinfer1::Dims const& lengths)
{
    int64_t const b = x.d[0];
    int64_t const n = volume(lengths);
    if (b >= 0 && n >= 0 && b != n)
    {
        return "lengths must hold B = " + std::to_string(b) + " values, got " + dimsToString(lengths);
    }
    return {};
}

bool supportsType(int32_t pos, DynamicPluginTensorDesc const* inOut, TypeRule rule) noexcept
{
    PluginTensorDesc const& d = inOut[pos].desc;
    if (d.format != nvinfer1::TensorFormat::kLINEAR)
    {
        return false;
    }
    switch (rule)
    {
    case TypeRule::kFLOATING: return isFloatType(d.type);
    case TypeRule::kHALF: return d.type == DataType::kHALF || d.type == DataType::kBF16;
    case TypeRule::kINT32: return d.type == DataType::kINT32;
    case TypeRule::kINT8: return d.type == DataType::kINT8;
    case TypeRule::kAS_INPUT0: return d.type == inOut[0].desc.type;
    }
    return false;
}

FieldValues::FieldValues(std::vector<FieldSpec> specs)
    : mSpecs(std::move(specs))
    , mInts(mSpecs.size(), 0)
    , mFloats(mSpecs.size(), 0.F)
{
}

size_t FieldValues::index(char const* name) const
{
    for (size_t i = 0; i < mSpecs.size(); ++i)
    {
        if (std::strcmp(mSpecs[i].name, name) == 0)
        {
            return i;
        }
    }
    throw std::invalid_argument(std::string("no field named '") + name + "'");
}

static char const* typeName(PluginFieldType t)
{
    switch (t)
    {
    case PluginFieldType::kINT32: return "INT32";
    case PluginFieldType::kFLOAT32: return "FLOAT32";
    case PluginFieldType::kFLOAT16: return "FLOAT16";
    case PluginFieldType::kFLOAT64: return "FLOAT64";
    case PluginFieldType::kINT8: return "INT8";
    case PluginFieldType::kINT16: return "INT16";
    case PluginFieldType::kINT64: return "INT64";
    case PluginFieldType::kCHAR: return "CHAR";
    default: return "another type";
    }
}

std::string FieldValues::parse(PluginFieldCollection const* fc)
{
    std::vector<bool> seen(mSpecs.size(), false);
    int32_t const nb = fc == nullptr ? 0 : fc->nbFields;
    if (nb < 0 || (nb > 0 && fc->fields == nullptr))
    {
        return "malformed PluginFieldCollection";
    }
    for (int32_t f = 0; f < nb; ++f)
    {
        PluginField const& field = fc->fields[f];
        if (field.name == nullptr)
        {
            return "a field has no name";
        }
        size_t i = 0;
        while (i < mSpecs.size() && std::strcmp(mSpecs[i].name, field.name) != 0)
        {
            ++i;
        }
        if (i == mSpecs.size())
        {
            return std::string("unknown field '") + field.name + "'";
        }
        if (seen[i])
        {
            return std::string("field '") + field.name + "' given twice";
        }
        if (field.type != mSpecs[i].type)
        {
            return std::string("field '") + field.name + "' must be " + typeName(mSpecs[i].type) + ", got "
                + typeName(field.type);
        }
        if (field.length != 1 || field.data == nullptr)
        {
            return std::string("field '") + field.name + "' must hold exactly one value, got length "
                + std::to_string(field.length);
        }
        if (field.type == PluginFieldType::kINT32)
        {
            std::memcpy(&mInts[i], field.data, sizeof(int32_t));
        }
        else
        {
            std::memcpy(&mFloats[i], field.data, sizeof(float));
        }
        seen[i] = true;
    }
    for (size_t i = 0; i < mSpecs.size(); ++i)
    {
        if (mSpecs[i].required && !seen[i])
        {
            return std::string("missing required field '") + mSpecs[i].name + "'";
        }
    }
    return {};
}

int32_t FieldValues::getInt(char const* name) const
{
    return mInts[index(name)];
}
float FieldValues::getFloat(char const* name) const
{
    return mFloats[index(name)];
}
void FieldValues::setInt(char const* name, int32_t v)
{
    mInts[index(name)] = v;
}
void FieldValues::setFloat(char const* name, float v)
{
    mFloats[index(name)] = v;
}

PluginFieldCollection const* FieldValues::collection()
{
    mFields.clear();
    for (size_t i = 0; i < mSpecs.size(); ++i)
    {
        void const* data = mSpecs[i].type == PluginFieldType::kINT32 ? static_cast<void const*>(&mInts[i])
                                                                     : static_cast<void const*>(&mFloats[i]);
        mFields.emplace_back(mSpecs[i].name, data, mSpecs[i].type, 1);
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
    return &mCollection;
}

PluginFieldCollection const* FieldValues::specCollection()
{
    mFields.clear();
    for (auto const& spec : mSpecs)
    {
        mFields.emplace_back(spec.name, nullptr, spec.type, 1);
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
    return &mCollection;
}

std::string checkFinite(FieldValues const& fields, char const* name)
{
    if (!std::isfinite(fields.getFloat(name)))
    {
        return std::string("field '") + name + "' must be finite";
    }
    return {};
}

PluginBase::PluginBase(char const* pluginName, std::string layerName, FieldValues fields)
    : mPluginName(pluginName)
    , mLayerName(std::move(layerName))
    , mFields(std::move(fields))
{
}

nvinfer1::IPluginCapability* PluginBase::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
    }
    return nullptr;
}

char const* PluginBase::getPluginName() const noexcept
{
    return mPluginName;
}
char const* PluginBase::getPluginVersion() const noexcept
{
    return kPLUGIN_VERSION;
}
char const* PluginBase::getPluginNamespace() const noexcept
{
    return kPLUGIN_NAMESPACE;
}

int32_t PluginBase::configurePlugin(
    DynamicPluginTensorDesc const*, int32_t, DynamicPluginTensorDesc const*, int32_t) noexcept
{
    return 0;
}

int32_t PluginBase::onShapeChange(PluginTensorDesc const*, int32_t, PluginTensorDesc const*, int32_t) noexcept
{
    return 0;
}

nvinfer1::IPluginV3* PluginBase::attachToContext(nvinfer1::IPluginResourceContext*) noexcept
{
    return clone();
}

PluginFieldCollection const* PluginBase::getFieldsToSerialize() noexcept
{
    return mFields.collection();
}

int32_t PluginBase::fail(std::string const& message) const noexcept
{
    try
    {
        logError(std::string(mPluginName) + " '" + mLayerName + "': " + message);
    }
    catch (...)
    {
    }
    return -1;
}

int32_t PluginBase::failOn(std::string const& reason) const noexcept
{
    return reason.empty() ? 0 : fail(reason);
}

int32_t FixedIoPlugin::checkCounts(int32_t nbInputs, int32_t nbOutputs) const noexcept
{
    if (io().countsMatch(nbInputs, nbOutputs))
    {
        return 0;
    }
    try
    {
        return fail(std::string("expects ") + io().expects);
    }
    catch (...)
    {
        return -1;
    }
}

int32_t FixedIoPlugin::getNbOutputs() const noexcept
{
    return io().nbOutputs;
}

int32_t FixedIoPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (int32_t const status = checkCounts(nbInputs, nbOutputs))
    {
        return status;
    }
    io().setOutputTypes(outputTypes, inputTypes);
    return 0;
}

bool FixedIoPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    return io().supports(pos, inOut, nbInputs, nbOutputs);
}
} // namespace trt_helper
