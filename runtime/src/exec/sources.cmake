# Executor sources for llmc_runtime: the CPU forward pass of llama-family decoders (weight binding
# and checks, KV cache and attention, threaded matmul, x86 row dots) and the .npy logits writer.
# runtime/CMakeLists.txt include()s this file and adds LLMC_EXEC_SOURCES and LLMC_SAMPLER_SOURCES
# to the library.
set(LLMC_EXEC_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cpu_decoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cpu_features.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decoder_weights.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kv_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/matmul.cpp
  ${CMAKE_CURRENT_LIST_DIR}/npy_writer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/row_dot.cpp
  ${CMAKE_CURRENT_LIST_DIR}/row_dot_x86.cpp
)

# The sampler lives with the tokenizers (runtime/src/text) but is listed here.
set(LLMC_SAMPLER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/../text/sampler.cpp
)

# The x86 row dots reproduce vec_dot_q8's float results bit for bit: a multiply-add fused by the
# compiler would round differently.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/row_dot_x86.cpp PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
endif()
