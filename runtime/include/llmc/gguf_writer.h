// GGUF writer: builds a header from metadata and tensor descriptions and writes it with no data
// (a skeleton), zeros, random blocks with finite scales, or caller-provided bytes. It writes exactly
// what it is told, including invalid headers, so tests can produce malformed files on purpose.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/ggml_types.h"
#include "llmc/gguf.h"

namespace llmc {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}

  // Metadata, in insertion order. Nothing is deduplicated or type-checked here on purpose.
  void set_u8(std::string_view key, uint8_t v);
  void set_i8(std::string_view key, int8_t v);
  void set_u16(std::string_view key, uint16_t v);
  void set_i16(std::string_view key, int16_t v);
  void set_u32(std::string_view key, uint32_t v);
  void set_i32(std::string_view key, int32_t v);
  void set_u64(std::string_view key, uint64_t v);
  void set_i64(std::string_view key, int64_t v);
  void set_f32(std::string_view key, float v);
  void set_f64(std::string_view key, double v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_array_strings(std::string_view key, const std::vector<std::string>& v);
  void set_array_i32(std::string_view key, const std::vector<int32_t>& v);
  void set_array_u32(std::string_view key, const std::vector<uint32_t>& v);
  void set_array_f32(std::string_view key, const std::vector<float>& v);
  // A value with an arbitrary type tag and pre-encoded payload (for malformed-file tests).
  void set_raw(std::string_view key, uint32_t type_tag, std::vector<uint8_t> payload);

  // Tensors are laid out in order, each at the next multiple of the alignment. `alignment` is the
  // one used for layout; write general.alignment yourself when it differs from 32.
  size_t add_tensor(std::string_view name, std::vector<uint64_t> ne, GgmlType type);
  // Overrides for malformed-file tests.
  void set_tensor_offset(size_t index, uint64_t offset) { tensors_[index].offset = offset; }
  void set_tensor_type_id(size_t index, uint32_t type_id) { tensors_[index].type_id = type_id; }
  void set_alignment(uint32_t alignment) { alignment_ = alignment; }
  // Overrides the counts written in the preamble (for malformed-file tests).
  void set_counts(uint64_t n_tensors, uint64_t n_kv) { count_override_ = true; n_tensors_ = n_tensors; n_kv_ = n_kv; }

  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type_id;
    uint64_t offset;
    uint64_t n_bytes;
  };
  const std::vector<Tensor>& tensors() const { return tensors_; }

  // The header bytes up to the end of the tensor infos (no padding).
  std::vector<uint8_t> header() const;
  uint64_t data_offset() const;  // header size rounded up to the alignment
  uint64_t data_bytes() const;   // end of the last tensor, relative to the data section

  // Called while data is written with (bytes written, total bytes), for progress displays.
  void set_progress(std::function<void(uint64_t, uint64_t)> cb) { progress_ = std::move(cb); }

  enum class Fill { None, Zeros, Random };
  // Writes the file atomically (temporary file + rename): either the whole file appears or nothing.
  // Fill::None writes a skeleton: the header alone. Throws GgufError(Io) on failure.
  void write(const std::string& path, Fill fill, uint64_t seed = 0) const;
  // Writes with tensor bytes supplied by `source(index, dst)`, which must fill dst completely.
  void write(const std::string& path, const std::function<void(size_t, std::span<uint8_t>)>& source) const;

 private:
  struct Entry {
    std::string key;
    uint32_t type_tag;
    std::vector<uint8_t> payload;
  };
  void write_impl(const std::string& path, Fill fill, uint64_t seed,
                  const std::function<void(size_t, std::span<uint8_t>)>* source) const;

  uint32_t version_;
  uint32_t alignment_ = 32;
  bool count_override_ = false;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::vector<Entry> entries_;
  std::vector<Tensor> tensors_;
  std::function<void(uint64_t, uint64_t)> progress_;
};

// Fills `dst` (a whole number of blocks of `type`) with random blocks whose scales are finite and
// whose dequantized values are small (|w| of order 0.01-0.1), as in a trained model.
void fill_random_blocks(GgmlType type, std::span<uint8_t> dst, uint64_t seed);

}  // namespace llmc
