// Library entry points that TensorRT (trtexec --plugins / --dynamicPlugins, IPluginRegistry::loadLibrary) looks up.
// They are the only exported symbols (see exports.map).
#include "pluginCommon.h"

#include "attMaskedSoftmaxPlugin.h"
#include "fmoeExpertPlugin.h"
#include "layerNormPlugin.h"
#include "maskConv2dSubsamplePlugin.h"
#include "maskedFillPlugin.h"
#include "relPositionalEncodingPlugin.h"
#include "softmaxTopKPlugin.h"
#include "weightOnlyGemmPlugin.h"

namespace trt_helper
{
void releaseAutoRegistration() noexcept; // pluginAutoRegister.cpp
} // namespace trt_helper

// The library is built with hidden visibility; the version script keeps exactly these two.
#define TRTH_EXPORT __attribute__((visibility("default")))

extern "C" TRTH_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    trt_helper::setPluginLoggerFinder(finder);
}

extern "C" TRTH_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    using namespace trt_helper;
    releaseAutoRegistration(); // the caller registers them itself
    static PluginCreator<LayerNormPlugin> sLayerNorm;
    static PluginCreator<AttMaskedSoftmaxPlugin> sAttMaskedSoftmax;
    static PluginCreator<MaskedFillPlugin> sMaskedFill;
    static PluginCreator<MaskConv2dSubsamplePlugin> sMaskConv2dSubsample;
    static PluginCreator<RelPositionalEncodingPlugin> sRelPositionalEncoding;
    static PluginCreator<FMoEExpertPlugin> sFMoEExpert;
    static PluginCreator<SoftmaxTopKPlugin> sSoftmaxTopK;
    static PluginCreator<WeightOnlyGemmPlugin> sWeightOnlyGemm;
    static nvinfer1::IPluginCreatorInterface* const kCreators[] = {&sLayerNorm, &sAttMaskedSoftmax, &sMaskedFill,
        &sMaskConv2dSubsample, &sRelPositionalEncoding, &sFMoEExpert, &sSoftmaxTopK, &sWeightOnlyGemm};
    nbCreators = static_cast<int32_t>(sizeof(kCreators) / sizeof(kCreators[0]));
    return kCreators;
}
