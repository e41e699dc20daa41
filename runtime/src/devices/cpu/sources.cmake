# CPU device sources for llmc_runtime: reference quantization kernels, dot products, matvec and the
# thread pool. runtime/CMakeLists.txt include()s this file and adds LLMC_CPU_SOURCES to the library.
set(LLMC_CPU_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dequantize.cpp
  ${CMAKE_CURRENT_LIST_DIR}/matvec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/quantize.cpp
  ${CMAKE_CURRENT_LIST_DIR}/thread_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vec_dot.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vec_dot_avx2.cpp
)

# The kernels are an oracle that must reproduce ggml's float results bit for bit (and their
# scalar and AVX2 forms each other): a multiply-add fused by the compiler would round differently.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set_source_files_properties(${LLMC_CPU_SOURCES} PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
endif()
