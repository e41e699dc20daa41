#include "llmc/cuda_driver.h"

#include <dlfcn.h>

#include <mutex>

namespace llmc::cuda {

const CudaDriver* CudaDriver::load(std::string* reason) {
  static std::once_flag once;
  static CudaDriver* driver = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    void* library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char* message = ::dlerror();
      failure = std::string("no CUDA driver: ") + (message ? message : "libcuda.so.1 cannot be opened");
      return;
    }
    auto* loaded = new CudaDriver();
    loaded->library_ = library;
#define LLMC_CUDA_DRIVER_RESOLVE_REQUIRED(name, symbol, result, params)                      \
  loaded->name = reinterpret_cast<result(*) params>(::dlsym(library, symbol));               \
  if (!loaded->name) {                                                                       \
    failure = std::string("libcuda.so.1 has no ") + symbol + " (driver too old)";            \
    delete loaded;                                                                           \
    ::dlclose(library);                                                                      \
    return;                                                                                  \
  }
#define LLMC_CUDA_DRIVER_RESOLVE_OPTIONAL(name, symbol, result, params) \
  loaded->name = reinterpret_cast<result(*) params>(::dlsym(library, symbol));
    LLMC_CUDA_DRIVER_REQUIRED(LLMC_CUDA_DRIVER_RESOLVE_REQUIRED)
    LLMC_CUDA_DRIVER_OPTIONAL(LLMC_CUDA_DRIVER_RESOLVE_OPTIONAL)
#undef LLMC_CUDA_DRIVER_RESOLVE_REQUIRED
#undef LLMC_CUDA_DRIVER_RESOLVE_OPTIONAL
    const CUresult init = loaded->cuInit(0);
    if (init != CUDA_SUCCESS) {
      failure = "cuInit failed: " + loaded->error_text(init) + " (no usable NVIDIA GPU)";
      delete loaded;
      ::dlclose(library);
      return;
    }
    driver = loaded;
  });
  if (!driver && reason) *reason = failure;
  return driver;
}

std::string CudaDriver::error_text(CUresult result) const {
  const char* text = nullptr;
  if (cuGetErrorString && cuGetErrorString(result, &text) == CUDA_SUCCESS && text)
    return std::string(text) + " (" + std::to_string(result) + ")";
  return "CUDA error " + std::to_string(result);
}

}  // namespace llmc::cuda
