// Registration at load time: when libtrtplugin++.so is loaded into a process that already holds a TensorRT library
// (Triton's TensorRT backend: --backend-config=tensorrt,plugins=..., which dlopens the file and never calls
// getCreators), register every creator with that TensorRT's plugin registry. The library still links no TensorRT:
// getPluginRegistry is looked up with dlsym, first in the global scope, then in each loaded object (the backend
// loads TensorRT with RTLD_LOCAL, where RTLD_DEFAULT does not see it). Without a TensorRT in the process this is a
// no-op. A caller of getCreators (IPluginRegistry::loadLibrary, trtexec --dynamicPlugins) registers the creators
// itself: getCreators first hands back what was registered here (releaseAutoRegistration), else loadLibrary would
// find them taken, fail, and unload the library under the registry's feet.
#include "pluginCommon.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <vector>

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);

namespace
{
using GetPluginRegistry = nvinfer1::IPluginRegistry* (*)() noexcept;
constexpr char const* kSYMBOL = "getPluginRegistry";

//! dl_iterate_phdr callback: the first loaded object (other than this library) that defines getPluginRegistry.
int findInLoadedObject(dl_phdr_info* info, size_t /*size*/, void* data)
{
    auto* found = static_cast<GetPluginRegistry*>(data);
    if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0')
    {
        return 0;
    }
    void* handle = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD); // only objects already loaded
    if (handle == nullptr)
    {
        return 0;
    }
    *found = reinterpret_cast<GetPluginRegistry>(dlsym(handle, kSYMBOL));
    dlclose(handle); // drops the reference RTLD_NOLOAD took; the object stays loaded
    return *found != nullptr ? 1 : 0;
}

GetPluginRegistry findGetPluginRegistry()
{
    auto found = reinterpret_cast<GetPluginRegistry>(dlsym(RTLD_DEFAULT, kSYMBOL));
    if (found == nullptr)
    {
        dl_iterate_phdr(findInLoadedObject, &found);
    }
    return found;
}

//! What this library registered by itself, to hand back (releaseAutoRegistration) or to take back when unloaded.
struct AutoRegistration
{
    nvinfer1::IPluginRegistry* registry{nullptr};
    std::vector<nvinfer1::IPluginCreatorInterface*> creators;

    //! Registers each creator that the registry does not already know (by name, version and namespace), so loading
    //! the library twice registers nothing twice.
    AutoRegistration()
    {
        int32_t count = 0;
        nvinfer1::IPluginCreatorInterface* const* all = getCreators(count);
        GetPluginRegistry getRegistry = findGetPluginRegistry();
        registry = getRegistry != nullptr ? getRegistry() : nullptr;
        for (int32_t i = 0; registry != nullptr && i < count; ++i)
        {
            auto* creator = static_cast<nvinfer1::IPluginCreatorV3One*>(all[i]);
            char const* name = creator->getPluginName();
            char const* version = creator->getPluginVersion();
            char const* pluginNamespace = creator->getPluginNamespace();
            if (registry->getCreator(name, version, pluginNamespace) != nullptr)
            {
                continue;
            }
            if (registry->registerCreator(*creator, pluginNamespace))
            {
                creators.push_back(creator);
            }
            else
            {
                std::fprintf(stderr, "libtrtplugin++.so: the TensorRT plugin registry refused %s::%s version %s\n",
                    pluginNamespace, name, version);
            }
        }
    }

    void release() noexcept
    {
        for (auto* creator : creators)
        {
            registry->deregisterCreator(*creator);
        }
        creators.clear();
    }

    //! Runs at dlclose or exit, before the registry's own destructor (registered earlier, so run later).
    ~AutoRegistration()
    {
        release();
    }
};

//! Set while the load-time registration exists; null during its own construction (its getCreators call must not
//! release anything) and after unloading.
AutoRegistration* gRegistration = nullptr;

struct RegisterAtLoad
{
    AutoRegistration registration;

    RegisterAtLoad()
    {
        gRegistration = &registration;
    }

    ~RegisterAtLoad()
    {
        gRegistration = nullptr;
    }
} kREGISTER_AT_LOAD;
} // namespace

namespace trt_helper
{
void releaseAutoRegistration() noexcept
{
    if (gRegistration != nullptr)
    {
        gRegistration->release();
    }
}
} // namespace trt_helper
