// trt_helper._plugin_harness: drives libtrtplugin++.so through TensorRT's plugin interfaces (getCreators,
// IPluginCreatorV3One, IPluginV3 and its capabilities) with no TensorRT runtime, so that the plugins can be tested
// on CPU (creation, fields, serialisation, formats) and on a GPU (enqueue on memory owned by PyTorch).
// Tensors are passed as (data pointer, dims, type name); streams as integers (torch.cuda.Stream.cuda_stream).
#include "NvInferRuntime.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace nvinfer1;

namespace
{
//! Collects what the plugins log, so tests can check the reasons they give.
class CapturingLogger : public ILogger
{
public:
    void log(Severity severity, AsciiChar const* msg) noexcept override
    {
        std::lock_guard<std::mutex> lock(mMutex);
        mMessages.emplace_back(static_cast<int>(severity), msg ? msg : "");
    }
    std::vector<std::pair<int, std::string>> take()
    {
        std::lock_guard<std::mutex> lock(mMutex);
        return std::exchange(mMessages, {});
    }

private:
    std::mutex mMutex;
    std::vector<std::pair<int, std::string>> mMessages;
};

class Finder : public ILoggerFinder
{
public:
    ILogger* findLogger() override
    {
        return &logger;
    }
    CapturingLogger logger;
};

Finder& finder()
{
    static Finder* f = new Finder; // never destroyed: the library may log while the process exits
    return *f;
}

struct TypeName
{
    char const* name;
    DataType type;
};
constexpr TypeName kTypes[] = {{"float32", DataType::kFLOAT}, {"float16", DataType::kHALF},
    {"bfloat16", DataType::kBF16}, {"int32", DataType::kINT32}, {"int64", DataType::kINT64}, {"int8", DataType::kINT8},
    {"bool", DataType::kBOOL}, {"uint8", DataType::kUINT8}};

DataType parseType(std::string const& name)
{
    for (auto const& t : kTypes)
    {
        if (name == t.name)
        {
            return t.type;
        }
    }
    throw std::invalid_argument("unknown data type '" + name + "'");
}

std::string typeToString(DataType type)
{
    for (auto const& t : kTypes)
    {
        if (t.type == type)
        {
            return t.name;
        }
    }
    return "type" + std::to_string(static_cast<int>(type));
}

Dims toDims(std::vector<int64_t> const& shape)
{
    if (shape.size() > static_cast<size_t>(Dims::MAX_DIMS))
    {
        throw std::invalid_argument("too many dimensions");
    }
    Dims d{};
    d.nbDims = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i)
    {
        d.d[i] = shape[i];
    }
    return d;
}

struct FieldTypeName
{
    char const* name;
    PluginFieldType type;
    size_t size;
};
constexpr FieldTypeName kFieldTypes[] = {{"int32", PluginFieldType::kINT32, 4},
    {"float32", PluginFieldType::kFLOAT32, 4}, {"float64", PluginFieldType::kFLOAT64, 8},
    {"int64", PluginFieldType::kINT64, 8}, {"int8", PluginFieldType::kINT8, 1}, {"int16", PluginFieldType::kINT16, 2},
    {"char", PluginFieldType::kCHAR, 1}, {"float16", PluginFieldType::kFLOAT16, 2}};

std::string fieldTypeName(PluginFieldType type)
{
    for (auto const& t : kFieldTypes)
    {
        if (t.type == type)
        {
            return t.name;
        }
    }
    return "fieldtype" + std::to_string(static_cast<int>(type));
}

//! Owns the bytes behind a PluginFieldCollection built from a Python dict.
//! Values: int -> int32, float -> float32, str -> char; (type_name, [values]) for anything else.
class FieldStorage
{
public:
    explicit FieldStorage(py::dict const& fields)
    {
        for (auto const& item : fields)
        {
            mNames.push_back(py::cast<std::string>(item.first));
            py::handle v = item.second;
            std::vector<char> bytes;
            PluginFieldType type;
            int32_t length = 1;
            if (py::isinstance<py::bool_>(v) || py::isinstance<py::int_>(v))
            {
                type = PluginFieldType::kINT32;
                append<int32_t>(bytes, py::cast<int32_t>(v));
            }
            else if (py::isinstance<py::float_>(v))
            {
                type = PluginFieldType::kFLOAT32;
                append<float>(bytes, py::cast<float>(v));
            }
            else if (py::isinstance<py::str>(v))
            {
                type = PluginFieldType::kCHAR;
                auto const s = py::cast<std::string>(v);
                bytes.assign(s.begin(), s.end());
                length = static_cast<int32_t>(s.size());
            }
            else
            {
                auto const pair = py::cast<std::pair<std::string, py::list>>(v);
                FieldTypeName const* ft = nullptr;
                for (auto const& t : kFieldTypes)
                {
                    ft = pair.first == t.name ? &t : ft;
                }
                if (ft == nullptr)
                {
                    throw std::invalid_argument("unknown field type '" + pair.first + "'");
                }
                type = ft->type;
                length = static_cast<int32_t>(pair.second.size());
                for (auto const& x : pair.second)
                {
                    switch (type)
                    {
                    case PluginFieldType::kINT32: append<int32_t>(bytes, py::cast<int32_t>(x)); break;
                    case PluginFieldType::kFLOAT32: append<float>(bytes, py::cast<float>(x)); break;
                    case PluginFieldType::kFLOAT64: append<double>(bytes, py::cast<double>(x)); break;
                    case PluginFieldType::kINT64: append<int64_t>(bytes, py::cast<int64_t>(x)); break;
                    case PluginFieldType::kINT16: append<int16_t>(bytes, py::cast<int16_t>(x)); break;
                    default: append<int8_t>(bytes, py::cast<int8_t>(x)); break;
                    }
                }
            }
            mBytes.push_back(std::move(bytes));
            mTypes.emplace_back(type, length);
        }
        for (size_t i = 0; i < mNames.size(); ++i)
        {
            mFields.emplace_back(
                mNames[i].c_str(), mBytes[i].empty() ? nullptr : mBytes[i].data(), mTypes[i].first, mTypes[i].second);
        }
        mCollection.nbFields = static_cast<int32_t>(mFields.size());
        mCollection.fields = mFields.data();
    }
    PluginFieldCollection const* collection() const
    {
        return &mCollection;
    }

private:
    template<typename T>
    static void append(std::vector<char>& bytes, T v)
    {
        char raw[sizeof(T)];
        std::memcpy(raw, &v, sizeof(T));
        bytes.insert(bytes.end(), raw, raw + sizeof(T));
    }

    std::vector<std::string> mNames;
    std::vector<std::vector<char>> mBytes;
    std::vector<std::pair<PluginFieldType, int32_t>> mTypes;
    std::vector<PluginField> mFields;
    PluginFieldCollection mCollection{};
};

py::object fieldValue(PluginField const& f)
{
    py::list values;
    for (int32_t i = 0; i < f.length && f.data != nullptr; ++i)
    {
        switch (f.type)
        {
        case PluginFieldType::kINT32: values.append(static_cast<int32_t const*>(f.data)[i]); break;
        case PluginFieldType::kFLOAT32: values.append(static_cast<float const*>(f.data)[i]); break;
        case PluginFieldType::kFLOAT64: values.append(static_cast<double const*>(f.data)[i]); break;
        case PluginFieldType::kINT64: values.append(static_cast<int64_t const*>(f.data)[i]); break;
        default: values.append(static_cast<int8_t const*>(f.data)[i]); break;
        }
    }
    return py::make_tuple(fieldTypeName(f.type), values);
}

using TensorSpec = std::pair<std::vector<int64_t>, std::string>;              // (dims, type)
using BoundTensor = std::tuple<uintptr_t, std::vector<int64_t>, std::string>; // (pointer, dims, type)

std::vector<DynamicPluginTensorDesc> dynamicDescs(std::vector<TensorSpec> const& specs)
{
    std::vector<DynamicPluginTensorDesc> out(specs.size());
    for (size_t i = 0; i < specs.size(); ++i)
    {
        Dims const d = toDims(specs[i].first);
        out[i].desc.dims = d;
        out[i].desc.type = parseType(specs[i].second);
        out[i].desc.format = TensorFormat::kLINEAR;
        out[i].desc.scale = 1.F;
        out[i].min = d;
        out[i].opt = d;
        out[i].max = d;
    }
    return out;
}

std::vector<PluginTensorDesc> staticDescs(std::vector<TensorSpec> const& specs)
{
    std::vector<PluginTensorDesc> out;
    for (auto const& d : dynamicDescs(specs))
    {
        out.push_back(d.desc);
    }
    return out;
}

class Library;

//! One IPluginV3 object, owned; keeps its library loaded.
class Plugin
{
public:
    Plugin(IPluginV3* plugin, std::shared_ptr<Library> lib)
        : mPlugin(plugin)
        , mLib(std::move(lib))
    {
        mCore = static_cast<IPluginV3OneCore*>(plugin->getCapabilityInterface(PluginCapabilityType::kCORE));
        mBuild = static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
        mRuntime = static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
        if (!mCore || !mBuild || !mRuntime)
        {
            throw std::runtime_error("plugin lacks a core, build or runtime capability");
        }
    }
    ~Plugin()
    {
        delete mPlugin;
    }
    Plugin(Plugin const&) = delete;
    Plugin& operator=(Plugin const&) = delete;

    std::string name() const
    {
        return mCore->getPluginName();
    }
    std::string version() const
    {
        return mCore->getPluginVersion();
    }
    std::string pluginNamespace() const
    {
        return mCore->getPluginNamespace();
    }
    std::vector<std::string> interfaceKinds() const
    {
        return {mPlugin->getInterfaceInfo().kind, mCore->getInterfaceInfo().kind, mBuild->getInterfaceInfo().kind,
            mRuntime->getInterfaceInfo().kind};
    }
    int32_t nbOutputs() const
    {
        return mBuild->getNbOutputs();
    }
    std::unique_ptr<Plugin> clone() const
    {
        IPluginV3* c = mPlugin->clone();
        if (c == nullptr)
        {
            throw std::runtime_error("clone() returned null");
        }
        return std::make_unique<Plugin>(c, mLib);
    }
    py::dict fieldsToSerialize()
    {
        PluginFieldCollection const* fc = mRuntime->getFieldsToSerialize();
        py::dict out;
        for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
        {
            out[py::str(fc->fields[i].name)] = fieldValue(fc->fields[i]);
        }
        return out;
    }
    bool supportsFormatCombination(
        int32_t pos, std::vector<std::string> const& types, int32_t nbInputs, std::vector<std::string> const& formats)
    {
        std::vector<DynamicPluginTensorDesc> descs(types.size());
        for (size_t i = 0; i < types.size(); ++i)
        {
            descs[i].desc.type = parseType(types[i]);
            descs[i].desc.format
                = formats.empty() || formats[i] == "linear" ? TensorFormat::kLINEAR : TensorFormat::kCHW32;
            descs[i].desc.dims.nbDims = 0;
        }
        return mBuild->supportsFormatCombination(
            pos, descs.data(), nbInputs, static_cast<int32_t>(types.size()) - nbInputs);
    }
    std::pair<int32_t, std::vector<std::string>> outputDataTypes(std::vector<std::string> const& inputTypes)
    {
        std::vector<DataType> in;
        for (auto const& t : inputTypes)
        {
            in.push_back(parseType(t));
        }
        std::vector<DataType> out(mBuild->getNbOutputs(), DataType::kFLOAT);
        int32_t const status = mBuild->getOutputDataTypes(
            out.data(), static_cast<int32_t>(out.size()), in.data(), static_cast<int32_t>(in.size()));
        std::vector<std::string> names;
        for (auto t : out)
        {
            names.push_back(typeToString(t));
        }
        return {status, names};
    }
    int32_t configure(std::vector<TensorSpec> const& in, std::vector<TensorSpec> const& out)
    {
        auto const i = dynamicDescs(in);
        auto const o = dynamicDescs(out);
        return mBuild->configurePlugin(
            i.data(), static_cast<int32_t>(i.size()), o.data(), static_cast<int32_t>(o.size()));
    }
    size_t workspaceSize(std::vector<TensorSpec> const& in, std::vector<TensorSpec> const& out)
    {
        auto const i = dynamicDescs(in);
        auto const o = dynamicDescs(out);
        return mBuild->getWorkspaceSize(
            i.data(), static_cast<int32_t>(i.size()), o.data(), static_cast<int32_t>(o.size()));
    }
    int32_t onShapeChange(std::vector<TensorSpec> const& in, std::vector<TensorSpec> const& out)
    {
        auto const i = staticDescs(in);
        auto const o = staticDescs(out);
        return mRuntime->onShapeChange(
            i.data(), static_cast<int32_t>(i.size()), o.data(), static_cast<int32_t>(o.size()));
    }
    int32_t enqueue(
        std::vector<BoundTensor> const& in, std::vector<BoundTensor> const& out, uintptr_t workspace, uintptr_t stream)
    {
        std::vector<TensorSpec> inSpecs;
        std::vector<TensorSpec> outSpecs;
        std::vector<void const*> inPtrs;
        std::vector<void*> outPtrs;
        for (auto const& t : in)
        {
            inSpecs.emplace_back(std::get<1>(t), std::get<2>(t));
            inPtrs.push_back(reinterpret_cast<void const*>(std::get<0>(t)));
        }
        for (auto const& t : out)
        {
            outSpecs.emplace_back(std::get<1>(t), std::get<2>(t));
            outPtrs.push_back(reinterpret_cast<void*>(std::get<0>(t)));
        }
        auto const i = staticDescs(inSpecs);
        auto const o = staticDescs(outSpecs);
        py::gil_scoped_release release;
        return mRuntime->enqueue(i.data(), o.data(), inPtrs.data(), outPtrs.data(), reinterpret_cast<void*>(workspace),
            reinterpret_cast<cudaStream_t>(stream));
    }
    py::object metadata()
    {
        char const* s = mBuild->getMetadataString();
        return s ? py::object(py::str(s)) : py::none();
    }

private:
    IPluginV3* mPlugin;
    std::shared_ptr<Library> mLib;
    IPluginV3OneCore* mCore;
    IPluginV3OneBuild* mBuild;
    IPluginV3OneRuntime* mRuntime;
};

using GetCreatorsFn = IPluginCreatorInterface* const* (*)(int32_t&);
using SetLoggerFinderFn = void (*)(ILoggerFinder*);

class Library : public std::enable_shared_from_this<Library>
{
public:
    explicit Library(std::string const& path)
        : mPath(path)
    {
        mHandle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (mHandle == nullptr)
        {
            throw std::runtime_error(std::string("dlopen failed: ") + dlerror());
        }
        mGetCreators = reinterpret_cast<GetCreatorsFn>(dlsym(mHandle, "getCreators"));
        mSetLoggerFinder = reinterpret_cast<SetLoggerFinderFn>(dlsym(mHandle, "setLoggerFinder"));
        if (mGetCreators == nullptr || mSetLoggerFinder == nullptr)
        {
            throw std::runtime_error("library does not export getCreators and setLoggerFinder");
        }
        mSetLoggerFinder(&finder());
    }
    ~Library()
    {
        // Plugins keep the library alive; dlclose only once nothing of it is referenced.
        dlclose(mHandle);
    }
    Library(Library const&) = delete;
    Library& operator=(Library const&) = delete;

    IPluginCreatorV3One* creator(std::string const& name)
    {
        for (auto* c : creators())
        {
            if (name == c->getPluginName())
            {
                return c;
            }
        }
        throw std::invalid_argument("no creator named '" + name + "'");
    }

    std::vector<IPluginCreatorV3One*> creators()
    {
        int32_t n = 0;
        IPluginCreatorInterface* const* list = mGetCreators(n);
        std::vector<IPluginCreatorV3One*> out;
        for (int32_t i = 0; i < n; ++i)
        {
            InterfaceInfo const info = list[i]->getInterfaceInfo();
            if (std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") != 0 || info.major != 1)
            {
                throw std::runtime_error(std::string("creator ") + std::to_string(i) + " is a " + info.kind);
            }
            out.push_back(static_cast<IPluginCreatorV3One*>(list[i]));
        }
        return out;
    }

    py::list creatorInfo()
    {
        py::list out;
        for (auto* c : creators())
        {
            py::list fields;
            PluginFieldCollection const* fc = c->getFieldNames();
            for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
            {
                fields.append(py::make_tuple(fc->fields[i].name, fieldTypeName(fc->fields[i].type)));
            }
            py::dict d;
            d["name"] = c->getPluginName();
            d["version"] = c->getPluginVersion();
            d["namespace"] = c->getPluginNamespace();
            d["fields"] = fields;
            out.append(d);
        }
        return out;
    }

    std::unique_ptr<Plugin> create(
        std::string const& name, py::dict const& fields, std::string const& phase, std::string const& layerName)
    {
        FieldStorage storage(fields);
        TensorRTPhase const p = phase == "runtime" ? TensorRTPhase::kRUNTIME : TensorRTPhase::kBUILD;
        IPluginV3* plugin = creator(name)->createPlugin(layerName.c_str(), storage.collection(), p);
        if (plugin == nullptr)
        {
            return nullptr;
        }
        return std::make_unique<Plugin>(plugin, shared_from_this());
    }

    std::string path() const
    {
        return mPath;
    }

private:
    std::string mPath;
    void* mHandle{nullptr};
    GetCreatorsFn mGetCreators{nullptr};
    SetLoggerFinderFn mSetLoggerFinder{nullptr};
};
} // namespace

PYBIND11_MODULE(_plugin_harness, m)
{
    m.doc() = "Drives libtrtplugin++.so through TensorRT's IPluginV3 interfaces without a TensorRT runtime.";
    m.def(
        "take_log", []() { return finder().logger.take(); },
        "Returns and clears the (severity, message) pairs the plugins logged (severity 1 = error).");

    py::class_<Plugin>(m, "Plugin")
        .def_property_readonly("name", &Plugin::name)
        .def_property_readonly("version", &Plugin::version)
        .def_property_readonly("namespace", &Plugin::pluginNamespace)
        .def_property_readonly("nb_outputs", &Plugin::nbOutputs)
        .def("interface_kinds", &Plugin::interfaceKinds)
        .def("clone", &Plugin::clone)
        .def("fields_to_serialize", &Plugin::fieldsToSerialize, "getFieldsToSerialize() as {name: (type, [values])}")
        .def("supports_format_combination", &Plugin::supportsFormatCombination, py::arg("pos"), py::arg("types"),
            py::arg("nb_inputs"), py::arg("formats") = std::vector<std::string>{})
        .def("output_data_types", &Plugin::outputDataTypes, "getOutputDataTypes -> (status, [type names])")
        .def("configure", &Plugin::configure, "configurePlugin with min = opt = max; args: [(dims, type)] x2")
        .def("workspace_size", &Plugin::workspaceSize)
        .def("on_shape_change", &Plugin::onShapeChange)
        .def("enqueue", &Plugin::enqueue, py::arg("inputs"), py::arg("outputs"), py::arg("workspace"),
            py::arg("stream"), "enqueue with [(pointer, dims, type)] inputs and outputs; returns the status")
        .def("metadata", &Plugin::metadata, "getMetadataString()");

    py::class_<Library, std::shared_ptr<Library>>(m, "Library")
        .def(py::init<std::string const&>(), py::arg("path"))
        .def_property_readonly("path", &Library::path)
        .def("creators", &Library::creatorInfo, "[{name, version, namespace, fields: [(name, type)]}]")
        .def("create", &Library::create, py::arg("name"), py::arg("fields"), py::arg("phase") = "build",
            py::arg("layer_name") = "layer",
            "createPlugin from {field: value}; int -> int32, float -> float32, str -> char, (type, [values]) "
            "otherwise. Returns None when the creator rejects the fields (see take_log()).");
}
