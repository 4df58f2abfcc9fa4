// Shared IPluginV3 glue: logging through the logger finder, field parsing/serialising, the plugin base class and
// the creator template. Plugins derive from PluginBase and describe their fields with a FieldSpec table.
#pragma once

#include "NvInferRuntime.h"
#include "kernelTypes.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trt_helper
{
using nvinfer1::DataType;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldCollection;
using nvinfer1::PluginFieldType;
using nvinfer1::PluginTensorDesc;

constexpr char const* kPLUGIN_NAMESPACE = "trt_helper";
constexpr char const* kPLUGIN_VERSION = "1";

//! Sets the logger finder handed over by TensorRT (or the harness) through setLoggerFinder.
void setPluginLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept;
//! Logs through the finder's logger; silently drops the message when no logger is known.
void logMessage(nvinfer1::ILogger::Severity severity, std::string const& message) noexcept;
void logError(std::string const& message) noexcept;

//! Maps a TensorRT data type to the kernels' element type; returns false for non-floating types.
bool toElemType(DataType type, ElemType& out) noexcept;
bool isFloatType(DataType type) noexcept;
int64_t volume(nvinfer1::Dims const& dims) noexcept;
std::string dimsToString(nvinfer1::Dims const& dims);

//! Checks that lengths holds one value per batch row of x (x.d[0]) where both sizes are known (>= 0); returns
//! "lengths must hold B = <b> values, got <dims>" or "" (for configurePlugin).
std::string checkLengths(nvinfer1::Dims const& x, nvinfer1::Dims const& lengths);

//! The type one tensor position accepts (always in linear format).
enum class TypeRule
{
    kFLOATING,  //!< fp32, fp16 or bf16
    kHALF,      //!< fp16 or bf16
    kINT32,     //!< int32
    kINT8,      //!< int8 (packed quantized weights)
    kAS_INPUT0, //!< the type of input 0
};

//! True when inOut[pos] is linear and of the type its rule asks for (supportsFormatCombination of one position).
bool supportsType(int32_t pos, DynamicPluginTensorDesc const* inOut, TypeRule rule) noexcept;

//! The I/O of a plugin with fixed counts: what it expects (for the error message), the counts, and one type rule per
//! position, the inputs' then the outputs'. Outputs use kINT32 or kAS_INPUT0 (their types follow from the rules).
struct IoTypes
{
    static constexpr int32_t kMAX_IO = 8;
    char const* expects; //!< e.g. "2 inputs (x, lengths) and 1 output"
    int32_t nbInputs;
    int32_t nbOutputs;
    TypeRule rules[kMAX_IO];

    bool countsMatch(int32_t nbIn, int32_t nbOut) const noexcept
    {
        return nbIn == nbInputs && nbOut == nbOutputs;
    }
    //! supportsFormatCombination: false for other counts or a position outside them, else supportsType.
    bool supports(int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbIn, int32_t nbOut) const noexcept
    {
        return countsMatch(nbIn, nbOut) && pos >= 0 && pos < nbInputs + nbOutputs
            && supportsType(pos, inOut, rules[pos]);
    }
    //! getOutputDataTypes once the counts match: kINT32 outputs are int32, the others take input 0's type.
    void setOutputTypes(DataType* outputTypes, DataType const* inputTypes) const noexcept
    {
        for (int32_t i = 0; i < nbOutputs; ++i)
        {
            outputTypes[i] = rules[nbInputs + i] == TypeRule::kINT32 ? DataType::kINT32 : inputTypes[0];
        }
    }
};

//! One field a creator accepts. Scalars only: length 1, of type kINT32 or kFLOAT32.
struct FieldSpec
{
    char const* name;
    PluginFieldType type;
    bool required;
};

//! Values of a plugin's fields, in FieldSpec order. Holds both int and float storage so that the same object
//! backs getFieldNames (no data), createPlugin parsing and getFieldsToSerialize (pointers into the values).
class FieldValues
{
public:
    explicit FieldValues(std::vector<FieldSpec> specs);

    //! Reads a collection; returns an empty string on success, else the reason (unknown, duplicate, missing field,
    //! wrong type or length). Unset optional fields keep their defaults.
    std::string parse(PluginFieldCollection const* fc);

    int32_t getInt(char const* name) const;
    float getFloat(char const* name) const;
    void setInt(char const* name, int32_t v);
    void setFloat(char const* name, float v);

    //! A collection pointing into this object (valid while it lives and is not modified).
    PluginFieldCollection const* collection();
    //! The field names and types with no data, for getFieldNames.
    PluginFieldCollection const* specCollection();

private:
    size_t index(char const* name) const;

    std::vector<FieldSpec> mSpecs;
    std::vector<int32_t> mInts;
    std::vector<float> mFloats;
    std::vector<PluginField> mFields;
    PluginFieldCollection mCollection{};
};

//! "field '<name>' must be finite" when the float field is NaN or infinite, else "" (for a creator's validate).
std::string checkFinite(FieldValues const& fields, char const* name);

//! Base of every plugin: the IPluginV3 capability plumbing, names, clone-by-copy and field serialisation.
//! Derived classes implement the shape/type logic and enqueue.
class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime
{
public:
    PluginBase(char const* pluginName, std::string layerName, FieldValues fields);
    ~PluginBase() override = default;

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // IPluginV3OneBuild defaults
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override;

    // IPluginV3OneRuntime defaults
    int32_t onShapeChange(
        PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    PluginFieldCollection const* getFieldsToSerialize() noexcept override;

protected:
    //! Logs "<plugin> '<layer>': <message>" as an error and returns -1 (the enqueue/configure failure status).
    int32_t fail(std::string const& message) const noexcept;
    //! 0 when reason is empty, else fail(reason).
    int32_t failOn(std::string const& reason) const noexcept;

    char const* mPluginName;
    std::string mLayerName;
    FieldValues mFields;
};

//! Base of the plugins whose inputs and outputs follow one IoTypes table (all but FMoEExpert, whose input count
//! depends on its fields): output count, output types and supported formats come from io().
class FixedIoPlugin : public PluginBase
{
public:
    using PluginBase::PluginBase;

    int32_t getNbOutputs() const noexcept override;
    int32_t getOutputDataTypes(
        DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    bool supportsFormatCombination(
        int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override;

protected:
    //! This plugin's I/O table.
    virtual IoTypes const& io() const noexcept = 0;
    //! 0 when the counts are io()'s, else fail("expects <io().expects>").
    int32_t checkCounts(int32_t nbInputs, int32_t nbOutputs) const noexcept;
};

//! Declares the members every FixedIoPlugin overrides (kept in one place so the plugin headers stay short).
#define TRTH_PLUGIN_OVERRIDES                                                                                          \
    nvinfer1::IPluginV3* clone() noexcept override;                                                                    \
    IoTypes const& io() const noexcept override;                                                                       \
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,                                       \
        nvinfer1::DimsExprs const* shapeInputs, int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs,                   \
        int32_t nbOutputs, nvinfer1::IExprBuilder& exprBuilder) noexcept override;                                     \
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out,   \
        int32_t nbOutputs) noexcept override;                                                                          \
    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* outputDesc, void const* const* inputs,  \
        void* const* outputs, void* workspace, cudaStream_t stream) noexcept override

//! Defines clone() as a copy (plugins hold only fields and shared_ptrs, so copying allocates no device memory).
#define TRTH_PLUGIN_CLONE_BY_COPY(Class)                                                                               \
    nvinfer1::IPluginV3* Class::clone() noexcept                                                                       \
    {                                                                                                                  \
        try                                                                                                            \
        {                                                                                                              \
            return new Class(*this);                                                                                   \
        }                                                                                                              \
        catch (...)                                                                                                    \
        {                                                                                                              \
            return nullptr;                                                                                            \
        }                                                                                                              \
    }

//! Creator for plugin P. P provides: static constexpr char const* kNAME; static std::vector<FieldSpec> fieldSpecs();
//! static std::string validate(FieldValues const&) (empty when valid); a constructor P(std::string, FieldValues).
template<typename P>
class PluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    PluginCreator()
        : mSpecs(P::fieldSpecs())
    {
    }

    nvinfer1::IPluginV3* createPlugin(
        char const* name, PluginFieldCollection const* fc, nvinfer1::TensorRTPhase /*phase*/) noexcept override
    {
        try
        {
            FieldValues values(P::fieldSpecs());
            std::string reason = values.parse(fc);
            if (reason.empty())
            {
                reason = P::validate(values);
            }
            if (!reason.empty())
            {
                logError(std::string(P::kNAME) + " '" + (name ? name : "") + "': " + reason);
                return nullptr;
            }
            return new P(name ? name : "", std::move(values));
        }
        catch (std::exception const& e)
        {
            logError(std::string(P::kNAME) + ": createPlugin failed: " + e.what());
            return nullptr;
        }
    }

    PluginFieldCollection const* getFieldNames() noexcept override
    {
        return mSpecs.specCollection();
    }
    char const* getPluginName() const noexcept override
    {
        return P::kNAME;
    }
    char const* getPluginVersion() const noexcept override
    {
        return kPLUGIN_VERSION;
    }
    char const* getPluginNamespace() const noexcept override
    {
        return kPLUGIN_NAMESPACE;
    }

private:
    FieldValues mSpecs;
};
} // namespace trt_helper
