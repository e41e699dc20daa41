# CUDA device sources for llmc_runtime: the driver API opened with dlopen (no CUDA toolkit at build
# or link time). runtime/CMakeLists.txt include()s this file and adds LLMC_CUDA_SOURCES to the library.
set(LLMC_CUDA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cuda_driver.cpp
)
