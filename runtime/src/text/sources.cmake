# Tokenizer sources for llmc_runtime: SentencePiece and byte-level BPE from GGUF metadata, with
# llama.cpp's pre-tokenizers. runtime/CMakeLists.txt include()s this file, adds LLMC_TEXT_SOURCES
# to the library and links ICU::uc (Unicode general categories and White_Space).
set(LLMC_TEXT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/bpe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pretokenizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/split_pattern.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unicode_text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vocab.cpp
)
