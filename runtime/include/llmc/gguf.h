// GGUF reader: memory-maps a file, validates its header completely and exposes metadata and
// tensor descriptions without touching tensor data. Every malformed input raises GgufError.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmc/ggml_types.h"

namespace llmc {

enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType t);
// Bytes of one element of a fixed-size type; 0 for String and Array.
size_t gguf_value_type_size(GgufValueType t);

// What went wrong, for callers (and tests) that branch on it; the message says it for people.
enum class GgufErrorKind {
  Io,               // cannot open/stat/map the file
  BadMagic,         // not a GGUF file
  BadVersion,       // unsupported version (v1, big-endian, future)
  Truncated,        // the header ends before a field it announces
  LimitExceeded,    // a count or length beyond what the file can hold or a sane cap
  BadValueType,     // unknown metadata value type, nested array
  BadKey,           // empty/oversized/duplicate key
  BadKeyType,       // a well-known key with the wrong type (general.alignment must be u32)
  BadAlignment,     // alignment zero, not a power of two or > 1 MiB
  BadTensor,        // name, n_dims, dims, type, row size
  Overflow,         // element or byte counts overflow 64 bits
  BadOffset,        // misaligned, overlapping, or outside the data section
  NotRunnable,      // tensor data requested from a skeleton or truncated file
  MissingKey,       // a required metadata key is absent (model description)
  Unsupported,      // a valid file that this build does not handle
};

class GgufError : public std::runtime_error {
 public:
  GgufError(GgufErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  GgufErrorKind kind() const { return kind_; }

 private:
  GgufErrorKind kind_;
};

// A metadata value. Strings and array payloads are views into the mapped file; they stay valid as
// long as the GgufFile that produced them.
class GgufValue {
 public:
  GgufValueType type() const { return type_; }
  // For arrays: element type and count.
  GgufValueType array_type() const { return array_type_; }
  uint64_t array_size() const { return count_; }

  bool is_integer() const;
  bool is_float() const;

  // Typed access. Each throws GgufError(BadKeyType) naming `what` when the stored type does not
  // convert without loss (any integer type to a wider or same-signed range; f32/f64 to double).
  uint64_t as_u64(std::string_view what) const;
  int64_t as_i64(std::string_view what) const;
  double as_f64(std::string_view what) const;
  bool as_bool(std::string_view what) const;
  std::string_view as_string(std::string_view what) const;

  // Array element access (bounds-checked by the caller against array_size()).
  std::string_view array_string(uint64_t i) const { return strings_[i]; }
  const std::vector<std::string_view>& array_strings() const { return strings_; }
  int64_t array_int(uint64_t i) const;
  double array_float(uint64_t i) const;
  // Raw little-endian element bytes of a fixed-size array.
  std::span<const uint8_t> array_bytes() const { return {data_, static_cast<size_t>(count_ * gguf_value_type_size(array_type_))}; }

  // Short human form: "42", "\"llama\"", "[u32 x 80]".
  std::string summary() const;

 private:
  friend class GgufParser;
  GgufValueType type_ = GgufValueType::U8;
  GgufValueType array_type_ = GgufValueType::U8;
  uint64_t count_ = 0;            // array length
  uint64_t bits_ = 0;             // scalar payload (integers, bool, float bit patterns)
  std::string_view str_;          // String payload
  const uint8_t* data_ = nullptr; // fixed-size array payload
  std::vector<std::string_view> strings_;  // String array payload
};

struct GgufKeyValue {
  std::string_view key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string_view name;
  uint32_t n_dims = 0;
  std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the row length (innermost)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;      // relative to the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t n_rows() const { return n_elements / ne[0]; }
};

// Whether the data section is all there. Skeletons (header only) are fine for inspection and
// planning; neither a skeleton nor a truncated file can be run.
enum class GgufDataStatus { Complete, Skeleton, Truncated };
std::string_view gguf_data_status_name(GgufDataStatus s);

struct GgufLimits {
  uint64_t max_key_bytes = 65535;          // GGUF spec limit
  uint64_t max_string_bytes = 64ull << 20; // one metadata string
  uint64_t max_array_elements = 1ull << 26;
  uint32_t max_tensor_name_bytes = 63;     // ggml's GGML_MAX_NAME (64) less the terminator
  uint32_t max_alignment = 1u << 20;
};

class GgufFile {
 public:
  // Maps and validates `path`. Throws GgufError.
  static GgufFile open(const std::string& path, const GgufLimits& limits = {});
  // Validates an in-memory image (not copied; must outlive the GgufFile). `name` is used in errors.
  static GgufFile parse(std::span<const uint8_t> bytes, std::string name, const GgufLimits& limits = {});

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return file_size_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t header_bytes() const { return header_bytes_; }  // up to the end of the tensor infos
  uint64_t data_offset() const { return data_offset_; }    // start of the (aligned) data section
  uint64_t data_bytes() const { return data_bytes_; }      // bytes the tensors need, from data_offset
  uint64_t data_bytes_present() const;                     // how many of those the file holds
  GgufDataStatus data_status() const { return status_; }

  const std::vector<GgufKeyValue>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // Typed metadata lookups; nullopt when absent, GgufError(BadKeyType) naming the file and key when
  // present with an incompatible type.
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<uint64_t> get_u64(std::string_view key) const;
  std::optional<double> get_f64(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;

  // Tensor bytes (mapped on first use by the OS). Throws GgufError(NotRunnable) for skeletons and
  // truncated files.
  std::span<const uint8_t> tensor_data(const GgufTensorInfo& t) const;
  // Throws GgufError(NotRunnable) with bytes present vs expected unless the data section is complete.
  void require_complete() const;

 private:
  friend class GgufParser;
  GgufFile() = default;
  struct Mapping;
  std::unique_ptr<Mapping> mapping_;
  const uint8_t* base_ = nullptr;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t file_size_ = 0;
  uint32_t alignment_ = 32;
  uint64_t header_bytes_ = 0;
  uint64_t data_offset_ = 0;
  uint64_t data_bytes_ = 0;
  GgufDataStatus status_ = GgufDataStatus::Complete;
  std::vector<GgufKeyValue> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

// Human-readable sizes the way llama.cpp prints them.
std::string format_gib(uint64_t bytes);  // "4.58 GiB"

}  // namespace llmc
