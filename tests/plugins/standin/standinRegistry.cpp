// A stand-in for TensorRT's plugin registry, for testing libtrtplugin++.so's registration at load time without a
// TensorRT library: it exports getPluginRegistry like libnvinfer does and records what gets registered.
#include "NvInferRuntime.h"

#include <cstring>
#include <string>
#include <vector>

namespace
{
using namespace nvinfer1;

class StandinRegistry : public IPluginRegistry
{
public:
    struct Entry
    {
        IPluginCreatorV3One* creator;
        std::string pluginNamespace;
    };
    std::vector<Entry> entries;
    int32_t registerCalls{0};

    bool registerCreator(IPluginCreatorInterface& creator, AsciiChar const* const pluginNamespace) noexcept override
    {
        ++registerCalls;
        auto& v3 = static_cast<IPluginCreatorV3One&>(creator);
        if (getCreator(v3.getPluginName(), v3.getPluginVersion(), pluginNamespace) != nullptr)
        {
            return false;
        }
        entries.push_back({&v3, pluginNamespace});
        return true;
    }
    IPluginCreatorInterface* getCreator(AsciiChar const* const name, AsciiChar const* const version,
        AsciiChar const* const pluginNamespace) noexcept override
    {
        for (auto const& e : entries)
        {
            if (!std::strcmp(e.creator->getPluginName(), name) && !std::strcmp(e.creator->getPluginVersion(), version)
                && e.pluginNamespace == pluginNamespace)
            {
                return e.creator;
            }
        }
        return nullptr;
    }
    bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept override
    {
        for (auto it = entries.begin(); it != entries.end(); ++it)
        {
            if (it->creator == &creator)
            {
                entries.erase(it);
                return true;
            }
        }
        return false;
    }
    IPluginCreatorInterface* const* getAllCreators(int32_t* const numCreators) const noexcept override
    {
        *numCreators = 0;
        return nullptr;
    }
    IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const numCreators) noexcept override
    {
        return getAllCreators(numCreators);
    }
    void setErrorRecorder(IErrorRecorder* const) noexcept override {}
    IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
    bool isParentSearchEnabled() const override
    {
        return false;
    }
    void setParentSearchEnabled(bool const) override {}
    PluginLibraryHandle loadLibrary(AsciiChar const*) noexcept override
    {
        return nullptr;
    }
    void deregisterLibrary(PluginLibraryHandle) noexcept override {}
    IPluginResource* acquirePluginResource(AsciiChar const*, IPluginResource*) noexcept override
    {
        return nullptr;
    }
    int32_t releasePluginResource(AsciiChar const*) noexcept override
    {
        return 0;
    }
};

StandinRegistry gRegistry;
} // namespace

extern "C" nvinfer1::IPluginRegistry* getPluginRegistry() noexcept
{
    return &gRegistry;
}

//! "namespace::name/version" of every registered creator, ';'-separated, into buf; returns registerCreator calls.
extern "C" int32_t standinRegistered(char* buf, int32_t size)
{
    std::string all;
    for (auto const& e : gRegistry.entries)
    {
        all += e.pluginNamespace + "::" + e.creator->getPluginName() + "/" + e.creator->getPluginVersion() + ";";
    }
    std::strncpy(buf, all.c_str(), size - 1);
    buf[size - 1] = '\0';
    return gRegistry.registerCalls;
}
