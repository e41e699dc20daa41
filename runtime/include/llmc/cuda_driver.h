// The CUDA driver API as llmc uses it, opened at run time with dlopen("libcuda.so.1"), so one
// binary runs on machines with or without an NVIDIA driver and never links the CUDA toolkit.
//
// The few types and constants are declared here with the driver's ABI values (cuda.h), so the
// runtime builds without CUDA headers. Entry points come from one X-macro table: required ones
// must all resolve for the driver to load; optional ones may be null.
#pragma once

#include <cstddef>
#include <string>

namespace llmc::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
using CUcontext = CUctx_st*;
using CUmodule = CUmod_st*;
using CUfunction = CUfunc_st*;
using CUstream = CUstream_st*;
using CUevent = CUevent_st*;
using CUgraph = CUgraph_st*;
using CUgraphExec = CUgraphExec_st*;

inline constexpr CUresult CUDA_SUCCESS = 0;

// CUdevice_attribute values.
inline constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
inline constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
inline constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

// CUjit_option values for cuModuleLoadDataEx.
inline constexpr int CU_JIT_INFO_LOG_BUFFER = 3;
inline constexpr int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
inline constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
inline constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

// CUfunction_attribute values.
inline constexpr int CU_FUNC_ATTRIBUTE_NUM_REGS = 4;

// cuStreamCreate flags and CUstreamCaptureMode values.
inline constexpr unsigned int CU_STREAM_NON_BLOCKING = 1;
inline constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

// cuLaunchKernelEx's configuration, laid out as cuda.h declares CUlaunchAttribute (an id, then a
// 64-byte union at offset 8) and CUlaunchConfig (driver API 11.8 and later).
inline constexpr int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
struct CUlaunchAttribute {
  int id = 0;
  union Value {
    char bytes[64];
    int programmatic_stream_serialization_allowed;
    void* alignment;
  };
  alignas(8) Value value{};
};
static_assert(sizeof(CUlaunchAttribute) == 72 && offsetof(CUlaunchAttribute, value) == 8);
struct CUlaunchConfig {
  unsigned int grid_x = 1, grid_y = 1, grid_z = 1;
  unsigned int block_x = 1, block_y = 1, block_z = 1;
  unsigned int shared_bytes = 0;
  CUstream stream = nullptr;
  CUlaunchAttribute* attrs = nullptr;
  unsigned int num_attrs = 0;
};
static_assert(sizeof(CUlaunchConfig) == 56 && offsetof(CUlaunchConfig, stream) == 32 &&
              offsetof(CUlaunchConfig, attrs) == 40 && offsetof(CUlaunchConfig, num_attrs) == 48);

// (name, exported symbol, return type, parameters). The exported names carry the ABI version
// suffixes cuda.h maps the plain names to.
#define LLMC_CUDA_DRIVER_REQUIRED(X)                                                                      \
  X(cuInit, "cuInit", CUresult, (unsigned int flags))                                                     \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult, (int* version))                                   \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult, (int* count))                                         \
  X(cuDeviceGet, "cuDeviceGet", CUresult, (CUdevice* device, int ordinal))                                \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult, (char* name, int length, CUdevice device))              \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult, (int* value, int attribute, CUdevice device)) \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", CUresult, (size_t* bytes, CUdevice device))                  \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult, (CUcontext* context, CUdevice device)) \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", CUresult, (CUdevice device))               \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult, (CUcontext context))                                    \
  X(cuCtxSynchronize, "cuCtxSynchronize", CUresult, ())                                                   \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", CUresult,                                                   \
    (CUmodule * module, const void* image, unsigned int n_options, int* options, void** values))          \
  X(cuModuleUnload, "cuModuleUnload", CUresult, (CUmodule module))                                        \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult, (CUfunction * function, CUmodule module, const char* name)) \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult, (CUdeviceptr * pointer, size_t bytes))                         \
  X(cuMemFree, "cuMemFree_v2", CUresult, (CUdeviceptr pointer))                                           \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", CUresult, (CUdeviceptr dst, const void* src, size_t bytes))          \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", CUresult, (void* dst, CUdeviceptr src, size_t bytes))                \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", CUresult,                                                   \
    (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))                                    \
  X(cuMemsetD32, "cuMemsetD32_v2", CUresult, (CUdeviceptr dst, unsigned int value, size_t count))         \
  X(cuLaunchKernel, "cuLaunchKernel", CUresult,                                                           \
    (CUfunction function, unsigned int grid_x, unsigned int grid_y, unsigned int grid_z,                  \
     unsigned int block_x, unsigned int block_y, unsigned int block_z, unsigned int shared_bytes,         \
     CUstream stream, void** params, void** extra))                                                       \
  X(cuEventCreate, "cuEventCreate", CUresult, (CUevent * event, unsigned int flags))                      \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult, (CUevent event))                                       \
  X(cuEventRecord, "cuEventRecord", CUresult, (CUevent event, CUstream stream))                           \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult, (CUevent event))                                  \
  X(cuEventElapsedTime, "cuEventElapsedTime", CUresult, (float* milliseconds, CUevent start, CUevent end))

// Streams, graphs and launches with attributes: optional, so that an old driver still runs kernels
// one launch at a time.
#define LLMC_CUDA_DRIVER_OPTIONAL(X)                                                                       \
  X(cuGetErrorString, "cuGetErrorString", CUresult, (CUresult error, const char** text))                  \
  X(cuStreamCreate, "cuStreamCreate", CUresult, (CUstream * stream, unsigned int flags))                  \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUresult, (CUstream stream))                                   \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult, (CUstream stream))                              \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", CUresult, (CUstream stream, int mode))               \
  X(cuStreamEndCapture, "cuStreamEndCapture", CUresult, (CUstream stream, CUgraph * graph))               \
  X(cuGraphInstantiate, "cuGraphInstantiateWithFlags", CUresult,                                           \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))                                        \
  X(cuGraphLaunch, "cuGraphLaunch", CUresult, (CUgraphExec exec, CUstream stream))                        \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", CUresult, (CUgraphExec exec))                               \
  X(cuGraphDestroy, "cuGraphDestroy", CUresult, (CUgraph graph))                                         \
  X(cuFuncGetAttribute, "cuFuncGetAttribute", CUresult, (int* value, int attribute, CUfunction function))  \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor", CUresult, \
    (int* blocks, CUfunction function, int block_size, size_t dynamic_shared_bytes))                      \
  X(cuLaunchKernelEx, "cuLaunchKernelEx", CUresult,                                                        \
    (const CUlaunchConfig* config, CUfunction function, void** params, void** extra))

class CudaDriver {
 public:
  // The driver, opened and resolved once per process; nullptr with `reason` saying why when
  // libcuda.so.1 is missing, lacks a required entry point, or cuInit fails (no GPU).
  static const CudaDriver* load(std::string* reason);

#define LLMC_CUDA_DRIVER_MEMBER(name, symbol, result, params) result(*name) params = nullptr;
  LLMC_CUDA_DRIVER_REQUIRED(LLMC_CUDA_DRIVER_MEMBER)
  LLMC_CUDA_DRIVER_OPTIONAL(LLMC_CUDA_DRIVER_MEMBER)
#undef LLMC_CUDA_DRIVER_MEMBER

  // "CUDA_ERROR_OUT_OF_MEMORY (2)" when the driver can say, else "CUDA error 2".
  std::string error_text(CUresult result) const;

 private:
  CudaDriver() = default;
  void* library_ = nullptr;
};

}  // namespace llmc::cuda
