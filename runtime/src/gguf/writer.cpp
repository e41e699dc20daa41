#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "llmc/gguf_writer.h"

namespace llmc {
namespace {

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  if (n == 0) return;
  const size_t old = out.size();
  out.resize(old + n);
  std::memcpy(out.data() + old, p, n);
}
template <class T>
void put(std::vector<uint8_t>& out, T v) {
  put_bytes(out, &v, sizeof(T));
}
void put_string(std::vector<uint8_t>& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  put_bytes(out, s.data(), s.size());
}
template <class T>
std::vector<uint8_t> scalar_payload(T v) {
  std::vector<uint8_t> p;
  put(p, v);
  return p;
}
template <class T>
std::vector<uint8_t> array_payload(GgufValueType t, const std::vector<T>& v) {
  std::vector<uint8_t> p;
  put<uint32_t>(p, static_cast<uint32_t>(t));
  put<uint64_t>(p, v.size());
  put_bytes(p, v.data(), v.size() * sizeof(T));
  return p;
}

// Round-to-nearest f32 -> IEEE half for the scale values written here (normal and subnormal range).
uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const float a = std::fabs(f);
  if (a >= 65504.0f) return sign | 0x7bff;
  if (a < 6.103515625e-05f) return sign | static_cast<uint16_t>(std::lround(a / 5.9604644775390625e-08f));
  int e;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  uint32_t mant = static_cast<uint32_t>(std::lround((m * 2.0f - 1.0f) * 1024.0f));
  int exp = e - 1 + 15;
  if (mant == 1024) { mant = 0; ++exp; }
  return sign | static_cast<uint16_t>(exp << 10) | static_cast<uint16_t>(mant);
}

uint16_t to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

// xoshiro256**: fast enough to fill blocks at disk speed, and reproducible from a seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  void fill(uint8_t* p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = next();
      std::memcpy(p + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = next();
      std::memcpy(p + i, &v, n - i);
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

void store_half(uint8_t* p, float v) {
  const uint16_t h = to_half(v);
  std::memcpy(p, &h, 2);
}

// Where a block keeps its scales, and how large they should be so that weights come out at the
// magnitude of a trained model's (|w| ~ 0.01-0.1). Offsets follow the block structs of ggml-common.h.
struct ScaleField {
  uint16_t offset;
  float lo, hi;
};
struct BlockScales {
  ScaleField f[2];
  int count;
};

BlockScales half_scales(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0: return {{{0, 0.002f, 0.008f}}, 1};
    case GgmlType::Q4_1: return {{{0, 0.002f, 0.008f}, {2, -0.06f, -0.02f}}, 2};
    case GgmlType::Q5_0: return {{{0, 0.001f, 0.004f}}, 1};
    case GgmlType::Q5_1: return {{{0, 0.001f, 0.004f}, {2, -0.06f, -0.02f}}, 2};
    case GgmlType::Q8_0: return {{{0, 0.0001f, 0.0004f}}, 1};
    case GgmlType::Q8_1: return {{{0, 0.0001f, 0.0004f}, {2, -0.5f, 0.5f}}, 2};
    case GgmlType::Q2_K: return {{{80, 0.001f, 0.003f}, {82, 0.001f, 0.003f}}, 2};
    case GgmlType::Q3_K: return {{{108, 0.0002f, 0.0006f}}, 1};
    case GgmlType::Q4_K: return {{{0, 0.00005f, 0.0002f}, {2, 0.0002f, 0.0008f}}, 2};
    case GgmlType::Q5_K: return {{{0, 0.00002f, 0.0001f}, {2, 0.0002f, 0.0008f}}, 2};
    case GgmlType::Q6_K: return {{{208, 0.000005f, 0.00002f}}, 1};
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ1_S: return {{{0, 0.0005f, 0.002f}}, 1};
    case GgmlType::IQ4_NL: return {{{0, 0.0001f, 0.0004f}}, 1};
    case GgmlType::IQ4_XS: return {{{0, 0.000005f, 0.00002f}}, 1};
    case GgmlType::TQ1_0: return {{{52, 0.01f, 0.04f}}, 1};
    case GgmlType::TQ2_0: return {{{64, 0.01f, 0.04f}}, 1};
    case GgmlType::Q1_0: return {{{0, 0.01f, 0.04f}}, 1};
    default: return {{}, 0};
  }
}

void randomize_block(GgmlType t, uint8_t* b, Rng& rng) {
  switch (t) {
    case GgmlType::F32: {
      const float v = rng.uniform(-0.05f, 0.05f);
      std::memcpy(b, &v, 4);
      return;
    }
    case GgmlType::F64: {
      const double v = rng.uniform(-0.05f, 0.05f);
      std::memcpy(b, &v, 8);
      return;
    }
    case GgmlType::F16: store_half(b, rng.uniform(-0.05f, 0.05f)); return;
    case GgmlType::BF16: {
      const uint16_t h = to_bf16(rng.uniform(-0.05f, 0.05f));
      std::memcpy(b, &h, 2);
      return;
    }
    case GgmlType::Q8_K: {
      // f32 d, 256 int8 quants, 16 int16 sums of 16 quants each (kept consistent).
      const float d = rng.uniform(0.0001f, 0.0004f);
      std::memcpy(b, &d, 4);
      const auto* q = reinterpret_cast<const int8_t*>(b + 4);
      for (int g = 0; g < 16; ++g) {
        int16_t s = 0;
        for (int i = 0; i < 16; ++i) s = static_cast<int16_t>(s + q[g * 16 + i]);
        std::memcpy(b + 260 + 2 * g, &s, 2);
      }
      return;
    }
    case GgmlType::IQ1_M: {
      // The f16 super-scale is spread over the top nibbles of the four u16 sub-scale words.
      const uint16_t h = to_half(rng.uniform(0.0005f, 0.002f));
      for (int i = 0; i < 4; ++i) {
        uint16_t w;
        std::memcpy(&w, b + 48 + 2 * i, 2);
        w = static_cast<uint16_t>((w & 0x0fff) | (((h >> (4 * i)) & 0xf) << 12));
        std::memcpy(b + 48 + 2 * i, &w, 2);
      }
      return;
    }
    case GgmlType::MXFP4:
      b[0] = static_cast<uint8_t>(118 + rng.next() % 5);  // E8M0 exponent: 2^-9 .. 2^-5, never 0xff (NaN)
      return;
    case GgmlType::NVFP4:
      for (int i = 0; i < 4; ++i)  // UE4M3 sub-scales with small exponents; never 0x7f (NaN)
        b[i] = static_cast<uint8_t>(((1 + rng.next() % 6) << 3) | (rng.next() & 7));
      return;
    default: {
      const BlockScales s = half_scales(t);
      for (int i = 0; i < s.count; ++i) store_half(b + s.f[i].offset, rng.uniform(s.f[i].lo, s.f[i].hi));
      return;
    }
  }
}

class OutputFile {
 public:
  explicit OutputFile(const std::string& path) : path_(path), tmp_(path + ".tmp-" + std::to_string(::getpid())) {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw GgufError(GgufErrorKind::Io, fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
  }
  ~OutputFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  void write(const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw GgufError(GgufErrorKind::Io, fmt::format("{}: write failed: {}", path_, std::strerror(errno)));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void commit() {
    if (::close(fd_) != 0) {
      fd_ = -1;
      ::unlink(tmp_.c_str());
      throw GgufError(GgufErrorKind::Io, fmt::format("{}: close failed: {}", path_, std::strerror(errno)));
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      ::unlink(tmp_.c_str());
      throw GgufError(GgufErrorKind::Io, fmt::format("{}: cannot rename into place: {}", path_, std::strerror(e)));
    }
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace

void fill_random_blocks(GgmlType type, std::span<uint8_t> dst, uint64_t seed) {
  const auto& tt = ggml_type_traits(type);
  Rng rng(seed);
  rng.fill(dst.data(), dst.size());
  for (size_t off = 0; off + tt.type_size <= dst.size(); off += tt.type_size) randomize_block(type, dst.data() + off, rng);
}

void GgufWriter::set_u8(std::string_view k, uint8_t v) { entries_.push_back({std::string(k), 0, scalar_payload(v)}); }
void GgufWriter::set_i8(std::string_view k, int8_t v) { entries_.push_back({std::string(k), 1, scalar_payload(v)}); }
void GgufWriter::set_u16(std::string_view k, uint16_t v) { entries_.push_back({std::string(k), 2, scalar_payload(v)}); }
void GgufWriter::set_i16(std::string_view k, int16_t v) { entries_.push_back({std::string(k), 3, scalar_payload(v)}); }
void GgufWriter::set_u32(std::string_view k, uint32_t v) { entries_.push_back({std::string(k), 4, scalar_payload(v)}); }
void GgufWriter::set_i32(std::string_view k, int32_t v) { entries_.push_back({std::string(k), 5, scalar_payload(v)}); }
void GgufWriter::set_f32(std::string_view k, float v) { entries_.push_back({std::string(k), 6, scalar_payload(v)}); }
void GgufWriter::set_bool(std::string_view k, bool v) {
  entries_.push_back({std::string(k), 7, scalar_payload<uint8_t>(v ? 1 : 0)});
}
void GgufWriter::set_u64(std::string_view k, uint64_t v) { entries_.push_back({std::string(k), 10, scalar_payload(v)}); }
void GgufWriter::set_i64(std::string_view k, int64_t v) { entries_.push_back({std::string(k), 11, scalar_payload(v)}); }
void GgufWriter::set_f64(std::string_view k, double v) { entries_.push_back({std::string(k), 12, scalar_payload(v)}); }
void GgufWriter::set_string(std::string_view k, std::string_view v) {
  std::vector<uint8_t> p;
  put_string(p, v);
  entries_.push_back({std::string(k), 8, std::move(p)});
}
void GgufWriter::set_array_strings(std::string_view k, const std::vector<std::string>& v) {
  std::vector<uint8_t> p;
  put<uint32_t>(p, 8);
  put<uint64_t>(p, v.size());
  for (const auto& s : v) put_string(p, s);
  entries_.push_back({std::string(k), 9, std::move(p)});
}
void GgufWriter::set_array_i32(std::string_view k, const std::vector<int32_t>& v) {
  entries_.push_back({std::string(k), 9, array_payload(GgufValueType::I32, v)});
}
void GgufWriter::set_array_u32(std::string_view k, const std::vector<uint32_t>& v) {
  entries_.push_back({std::string(k), 9, array_payload(GgufValueType::U32, v)});
}
void GgufWriter::set_array_f32(std::string_view k, const std::vector<float>& v) {
  entries_.push_back({std::string(k), 9, array_payload(GgufValueType::F32, v)});
}
void GgufWriter::set_raw(std::string_view k, uint32_t type_tag, std::vector<uint8_t> payload) {
  entries_.push_back({std::string(k), type_tag, std::move(payload)});
}

size_t GgufWriter::add_tensor(std::string_view name, std::vector<uint64_t> ne, GgmlType type) {
  const auto& tt = ggml_type_traits(type);
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  const uint64_t bytes = n / tt.block_size * tt.type_size;
  uint64_t offset = 0;
  if (!tensors_.empty()) {
    const auto& last = tensors_.back();
    offset = (last.offset + last.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  tensors_.push_back({std::string(name), std::move(ne), static_cast<uint32_t>(type), offset, bytes});
  return tensors_.size() - 1;
}

std::vector<uint8_t> GgufWriter::header() const {
  std::vector<uint8_t> out;
  put<uint32_t>(out, 0x46554747);
  put<uint32_t>(out, version_);
  put<uint64_t>(out, count_override_ ? n_tensors_ : tensors_.size());
  put<uint64_t>(out, count_override_ ? n_kv_ : entries_.size());
  for (const auto& e : entries_) {
    put_string(out, e.key);
    put<uint32_t>(out, e.type_tag);
    put_bytes(out, e.payload.data(), e.payload.size());
  }
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) put<uint64_t>(out, d);
    put<uint32_t>(out, t.type_id);
    put<uint64_t>(out, t.offset);
  }
  return out;
}

uint64_t GgufWriter::data_offset() const {
  const uint64_t h = header().size();
  return (h + alignment_ - 1) / alignment_ * alignment_;
}

uint64_t GgufWriter::data_bytes() const {
  uint64_t end = 0;
  for (const auto& t : tensors_) end = std::max(end, t.offset + t.n_bytes);
  return end;
}

void GgufWriter::write(const std::string& path, Fill fill, uint64_t seed) const { write_impl(path, fill, seed, nullptr); }

void GgufWriter::write(const std::string& path, const std::function<void(size_t, std::span<uint8_t>)>& source) const {
  write_impl(path, Fill::Zeros, 0, &source);
}

void GgufWriter::write_impl(const std::string& path, Fill fill, uint64_t seed,
                            const std::function<void(size_t, std::span<uint8_t>)>* source) const {
  OutputFile out(path);
  std::vector<uint8_t> head = header();
  const uint64_t data_start = (head.size() + alignment_ - 1) / alignment_ * alignment_;
  if (fill == Fill::None) {
    out.write(head.data(), head.size());
    out.commit();
    return;
  }
  head.resize(data_start, 0);
  out.write(head.data(), head.size());

  // Tensors are produced in chunks of whole blocks so memory stays bounded for any model size.
  constexpr size_t kChunk = 8u << 20;
  std::vector<uint8_t> buf;
  uint64_t pos = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& t = tensors_[i];
    if (t.offset > pos) {
      std::vector<uint8_t> pad(static_cast<size_t>(t.offset - pos), 0);
      out.write(pad.data(), pad.size());
      pos = t.offset;
    }
    if (source) {
      buf.assign(static_cast<size_t>(t.n_bytes), 0);
      (*source)(i, buf);
      out.write(buf.data(), buf.size());
    } else {
      const auto* tt = ggml_type_traits(t.type_id);
      const size_t block = tt ? tt->type_size : 1;
      const size_t chunk = kChunk / block * block;
      uint64_t left = t.n_bytes;
      uint64_t part = 0;
      while (left > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk));
        buf.assign(n, 0);
        if (fill == Fill::Random && tt) fill_random_blocks(tt->type, buf, seed ^ (i * 0x100000001b3ull) ^ (part++ << 40));
        out.write(buf.data(), n);
        left -= n;
        if (progress_) progress_(t.offset + t.n_bytes - left, data_bytes());
      }
    }
    pos = t.offset + t.n_bytes;
  }
  out.commit();
}

}  // namespace llmc
