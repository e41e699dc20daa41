// NumPy .npy files (format version 1.0) of little-endian float32 rows, written atomically: rows go
// to a temporary file next to the target, which is renamed into place by commit(); without
// commit() (an error, an exception) nothing is left behind.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace llmc {

class NpyRowWriter {
 public:
  // Starts a [rows, row_length] float32 array at `path`. Throws std::runtime_error naming the file
  // when it cannot be created.
  NpyRowWriter(std::string path, uint64_t row_length);
  ~NpyRowWriter();
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;

  // Appends one row of row_length values (std::invalid_argument for another length).
  void append_row(std::span<const float> row);
  uint64_t rows() const { return rows_; }

  // Writes the final shape into the header and renames the file into place.
  void commit();

 private:
  void write_header();
  void write_bytes(const void* data, size_t size);

  std::string path_;
  std::string temp_path_;
  uint64_t row_length_;
  uint64_t rows_ = 0;
  int fd_ = -1;
};

// The .npy header (magic, version, length, dict, padding) for a float32 array of `shape`, padded
// so that the data starts at a multiple of 64 bytes.
std::string npy_f32_header(std::span<const uint64_t> shape);

}  // namespace llmc
