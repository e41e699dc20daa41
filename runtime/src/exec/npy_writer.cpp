#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "llmc/npy.h"

namespace llmc {
namespace {

static_assert(std::endian::native == std::endian::little, ".npy data is written as '<f4'");

// The header is written before the number of rows is known and rewritten at commit(), so it is
// given room for the longest shape string.
constexpr size_t kHeaderBytes = 128;

std::runtime_error io_error(const std::string& path, const char* what) {
  return std::runtime_error(fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

}  // namespace

std::string npy_f32_header(std::span<const uint64_t> shape) {
  std::string dims;
  for (uint64_t d : shape) dims += fmt::format("{}, ", d);
  if (shape.size() > 1)
    dims.resize(dims.size() - 2);  // "(2, 3)"; a 1-d shape keeps its comma: "(5,)"
  else if (shape.size() == 1)
    dims.pop_back();
  std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  const size_t preamble = 10;  // magic (6), version (2), header length (2)
  const size_t total = std::max(kHeaderBytes, (preamble + dict.size() + 1 + 63) / 64 * 64);
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string header = "\x93NUMPY";
  header.push_back('\x01');
  header.push_back('\x00');
  const size_t len = dict.size();
  header.push_back(static_cast<char>(len & 0xFF));
  header.push_back(static_cast<char>(len >> 8));
  return header + dict;
}

NpyRowWriter::NpyRowWriter(std::string path, uint64_t row_length)
    : path_(std::move(path)), temp_path_(path_ + ".tmp-" + std::to_string(::getpid())), row_length_(row_length) {
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw io_error(path_, "cannot create");
  write_header();
}

NpyRowWriter::~NpyRowWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void NpyRowWriter::write_bytes(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path_, "write failed");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void NpyRowWriter::write_header() {
  const uint64_t shape[] = {rows_, row_length_};
  const std::string header = npy_f32_header(shape);
  if (header.size() != kHeaderBytes)
    throw std::runtime_error(fmt::format("{}: shape too long for the .npy header", path_));
  if (::lseek(fd_, 0, SEEK_SET) < 0) throw io_error(path_, "seek failed");
  write_bytes(header.data(), header.size());
  if (::lseek(fd_, 0, SEEK_END) < 0) throw io_error(path_, "seek failed");
}

void NpyRowWriter::append_row(std::span<const float> row) {
  if (fd_ < 0) throw std::logic_error(path_ + ": append_row after commit");
  if (row.size() != row_length_)
    throw std::invalid_argument(fmt::format("{}: row of {} values; expected {}", path_, row.size(), row_length_));
  write_bytes(row.data(), row.size_bytes());
  ++rows_;
}

void NpyRowWriter::commit() {
  if (fd_ < 0) throw std::logic_error(path_ + ": committed twice");
  write_header();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(temp_path_.c_str());
    errno = e;
    throw io_error(path_, "close failed");
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp_path_.c_str());
    errno = e;
    throw io_error(path_, "cannot rename into place");
  }
}

}  // namespace llmc
