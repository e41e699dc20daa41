// The KV cache of a decoder and attention over it. Keys and values of each layer are stored per KV
// head, position-major ([kv_head][position][head_dim]), so that one query head reads contiguous
// rows. Internal to the executor.
#pragma once

#include <cstdint>
#include <vector>

#include "decoder_weights.h"
#include "llmc/forward.h"

namespace llmc::exec {

class KvCache {
 public:
  KvCache(const DecoderWeights& weights, uint32_t n_ctx, KvCacheType type);

  // Stores the keys (n_head_kv * head_dim_k values) and values (n_head_kv * head_dim_v) of one
  // position of `layer`.
  void store(uint32_t layer, uint32_t pos, const float* k, const float* v);

  // One query head's attention over positions [0, n_pos) of `kv_head` in `layer`:
  // out = softmax(scale * q K^T) V. `scores` holds n_pos floats of scratch.
  void attend(uint32_t layer, uint32_t kv_head, const float* q, uint32_t n_pos, float scale, float* scores,
              float* out) const;

  uint64_t bytes() const { return static_cast<uint64_t>(storage_.size()); }
  KvCacheType type() const { return type_; }

 private:
  struct LayerSlots {
    uint64_t k_offset;  // bytes into storage_
    uint64_t v_offset;
    uint32_t n_head_kv;
  };
  // Byte offsets into storage_ of one position's key and value rows.
  uint64_t key_offset(uint32_t layer, uint32_t kv_head, uint32_t pos) const;
  uint64_t value_offset(uint32_t layer, uint32_t kv_head, uint32_t pos) const;

  KvCacheType type_;
  uint32_t n_ctx_;
  uint32_t head_dim_k_;
  uint32_t head_dim_v_;
  uint64_t elem_bytes_;
  std::vector<LayerSlots> layers_;
  std::vector<uint8_t> storage_;
};

}  // namespace llmc::exec
