// The CPU forward pass of llama-family decoders (llama, mistral, qwen2, qwen3) over a GGUF file's
// weights, used in place from its memory map: embedding lookup, RMSNorm, RoPE, grouped-query
// attention over a KV cache, SwiGLU feed-forward and the output projection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/gguf.h"
#include "llmc/model.h"

namespace llmc {

// Element type of the KV cache. F16 halves its size (as llama.cpp's default); F32 keeps keys and
// values exactly as computed.
enum class KvCacheType { F32, F16 };
std::string_view kv_cache_type_name(KvCacheType t);  // "f32", "f16"
std::optional<KvCacheType> kv_cache_type_from_name(std::string_view name);

// Architectures the CPU decoder runs.
const std::vector<std::string>& cpu_decoder_architectures();

struct DecoderOptions {
  uint32_t n_ctx = 0;  // positions the KV cache holds; 0: the training context, at most 4096
  int threads = 0;     // 0: std::thread::hardware_concurrency()
  KvCacheType kv_type = KvCacheType::F16;
};

class CpuDecoder {
 public:
  // Checks, in this order and before allocating anything, that `file` holds a supported
  // architecture, that every tensor the graph needs is present with the expected shape and a type
  // the CPU kernels handle, and that the data section is complete; then allocates the KV cache and
  // the activations for options.n_ctx positions. Throws GgufError naming the file and the key or
  // tensor (with expected and found shape or type). `file` must outlive the decoder.
  CpuDecoder(const GgufFile& file, const DecoderOptions& options);
  ~CpuDecoder();
  CpuDecoder(CpuDecoder&&) noexcept;
  CpuDecoder& operator=(CpuDecoder&&) noexcept;

  const HParams& hparams() const;
  uint32_t n_ctx() const;
  uint32_t n_vocab() const;  // rows of the output matrix: the length of the logits
  uint32_t n_past() const;   // positions filled in the KV cache
  int threads() const;
  KvCacheType kv_type() const;

  // Runs `tokens` at positions n_past() .. n_past() + size - 1 and returns the logits that follow
  // the last of them; the span stays valid until the next call. Throws std::invalid_argument for
  // no tokens, an id outside [0, n_vocab()) or more tokens than the context has room for (nothing
  // is evaluated then). Results do not depend on how a sequence is split across calls.
  std::span<const float> eval(std::span<const int32_t> tokens);

  // Forgets every position (the KV cache is reused from position 0).
  void reset();

  // Bytes of weights one decode step reads: every matrix and norm of the blocks, the output
  // matrix and one row of the token embedding.
  uint64_t weight_bytes_per_token() const;
  // Bytes held for the KV cache and for activations and scratch.
  uint64_t kv_cache_bytes() const;
  uint64_t activation_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmc
