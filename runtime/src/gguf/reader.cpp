// GGUF v2/v3 reader. The file is memory-mapped and only the header is ever read here; every count,
// length and offset is checked against the bytes that are really present before it is used, so a
// hostile header cannot make the reader allocate or read in proportion to a claimed size.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "llmc/gguf.h"

namespace llmc {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kDefaultAlignment = 32;
// The smallest encodings, used to bound counts by the bytes that remain.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;          // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 4 + 8;  // name length, 1-byte name, n_dims, type, offset

}  // namespace

struct GgufFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr) ::munmap(addr, size);
  }
};

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

std::string_view gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "?";
}

size_t gguf_value_type_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::Bool: return 1;
    case GgufValueType::U16:
    case GgufValueType::I16: return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32: return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64: return 8;
    case GgufValueType::String:
    case GgufValueType::Array: return 0;
  }
  return 0;
}

std::string_view gguf_data_status_name(GgufDataStatus s) {
  switch (s) {
    case GgufDataStatus::Complete: return "complete";
    case GgufDataStatus::Skeleton: return "skeleton";
    case GgufDataStatus::Truncated: return "truncated";
  }
  return "?";
}

std::string format_gib(uint64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ull << 30)); }

// ---------------------------------------------------------------------------------------------
// GgufValue

namespace {

bool is_int_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::U16:
    case GgufValueType::I16:
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::U64:
    case GgufValueType::I64: return true;
    default: return false;
  }
}

// Sign-extends the little-endian payload of an integer element.
int64_t load_int(GgufValueType t, const uint8_t* p) {
  switch (t) {
    case GgufValueType::U8: return *p;
    case GgufValueType::I8: return static_cast<int8_t>(*p);
    case GgufValueType::U16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case GgufValueType::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case GgufValueType::U32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case GgufValueType::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case GgufValueType::U64:
    case GgufValueType::I64: { int64_t v; std::memcpy(&v, p, 8); return v; }
    case GgufValueType::Bool: return *p != 0;
    default: return 0;
  }
}

double load_float(GgufValueType t, const uint8_t* p) {
  if (t == GgufValueType::F32) { float v; std::memcpy(&v, p, 4); return v; }
  if (t == GgufValueType::F64) { double v; std::memcpy(&v, p, 8); return v; }
  if (t == GgufValueType::U64) { uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
  return static_cast<double>(load_int(t, p));
}

[[noreturn]] void wrong_type(std::string_view what, std::string_view expected, GgufValueType got) {
  throw GgufError(GgufErrorKind::BadKeyType,
                  fmt::format("{}: expected {}, found {}", what, expected, gguf_value_type_name(got)));
}

}  // namespace

bool GgufValue::is_integer() const { return is_int_type(type_); }
bool GgufValue::is_float() const { return type_ == GgufValueType::F32 || type_ == GgufValueType::F64; }

uint64_t GgufValue::as_u64(std::string_view what) const {
  if (!is_int_type(type_)) wrong_type(what, "an unsigned integer", type_);
  if (type_ == GgufValueType::U64) return bits_;
  const int64_t v = static_cast<int64_t>(bits_);
  if (v < 0) throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: expected a non-negative integer, found {}", what, v));
  return static_cast<uint64_t>(v);
}

int64_t GgufValue::as_i64(std::string_view what) const {
  if (!is_int_type(type_)) wrong_type(what, "an integer", type_);
  if (type_ == GgufValueType::U64 && bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: value {} does not fit in i64", what, bits_));
  return static_cast<int64_t>(bits_);
}

double GgufValue::as_f64(std::string_view what) const {
  if (type_ == GgufValueType::F32) { float f; uint32_t b = static_cast<uint32_t>(bits_); std::memcpy(&f, &b, 4); return f; }
  if (type_ == GgufValueType::F64) { double d; std::memcpy(&d, &bits_, 8); return d; }
  if (is_int_type(type_)) return type_ == GgufValueType::U64 ? static_cast<double>(bits_) : static_cast<double>(static_cast<int64_t>(bits_));
  wrong_type(what, "a number", type_);
}

bool GgufValue::as_bool(std::string_view what) const {
  if (type_ != GgufValueType::Bool) wrong_type(what, "bool", type_);
  return bits_ != 0;
}

std::string_view GgufValue::as_string(std::string_view what) const {
  if (type_ != GgufValueType::String) wrong_type(what, "string", type_);
  return str_;
}

int64_t GgufValue::array_int(uint64_t i) const {
  return load_int(array_type_, data_ + i * gguf_value_type_size(array_type_));
}

double GgufValue::array_float(uint64_t i) const {
  return load_float(array_type_, data_ + i * gguf_value_type_size(array_type_));
}

std::string GgufValue::summary() const {
  switch (type_) {
    case GgufValueType::String: {
      std::string s(str_.substr(0, 60));
      for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      return fmt::format("\"{}{}\"", s, str_.size() > 60 ? "..." : "");
    }
    case GgufValueType::Array: return fmt::format("[{} x {}]", gguf_value_type_name(array_type_), count_);
    case GgufValueType::Bool: return bits_ ? "true" : "false";
    case GgufValueType::F32:
    case GgufValueType::F64: return fmt::format("{:g}", as_f64(""));
    case GgufValueType::U64: return fmt::format("{}", bits_);
    default: return fmt::format("{}", static_cast<int64_t>(bits_));
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

class GgufParser {
 public:
  GgufParser(GgufFile& f, std::span<const uint8_t> bytes, const GgufLimits& limits)
      : f_(f), p_(bytes.data()), size_(bytes.size()), limits_(limits) {}

  void run() {
    parse_preamble();
    parse_metadata();
    apply_alignment();
    parse_tensor_infos();
    place_data_section();
  }

 private:
  [[noreturn]] void fail(GgufErrorKind kind, const std::string& msg) const {
    throw GgufError(kind, fmt::format("{}: {}", f_.path_, msg));
  }

  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      fail(GgufErrorKind::Truncated, fmt::format("{} at offset {}: needs {} bytes, only {} left in the file", what,
                                                 pos_, n, remaining()));
  }

  template <class T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string_view read_string(std::string_view what, uint64_t cap) {
    const uint64_t at = pos_;
    const uint64_t len = read<uint64_t>(what);
    if (len > cap)
      fail(GgufErrorKind::LimitExceeded, fmt::format("{} at offset {}: length {} exceeds the limit of {} bytes", what,
                                                     at, len, cap));
    need(len, what);
    std::string_view s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

  void parse_preamble() {
    if (size_ < 4) fail(GgufErrorKind::BadMagic, fmt::format("not a GGUF file: {} bytes, too short for the magic", size_));
    const uint32_t magic = read<uint32_t>("magic");
    if (magic != kMagic) {
      std::string shown;
      for (int i = 0; i < 4; ++i) {
        const unsigned char c = p_[i];
        shown += (c >= 0x20 && c < 0x7f) ? fmt::format("{}", static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
      }
      fail(GgufErrorKind::BadMagic, fmt::format("not a GGUF file: magic is \"{}\", expected \"GGUF\"", shown));
    }
    const uint32_t version = read<uint32_t>("version");
    if (version == 1)
      fail(GgufErrorKind::BadVersion, "GGUF version 1 is not supported (32-bit counts); expected version 2 or 3");
    if (version != 2 && version != 3) {
      if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3)
        fail(GgufErrorKind::BadVersion, "big-endian GGUF files are not supported; expected a little-endian file");
      fail(GgufErrorKind::BadVersion, fmt::format("unsupported GGUF version {}; expected 2 or 3", version));
    }
    f_.version_ = version;
    n_tensors_ = read<uint64_t>("tensor count");
    n_kv_ = read<uint64_t>("metadata count");
    // Each entry occupies at least a few bytes, so a count larger than the rest of the file can
    // hold is a lie; reject it before reserving anything.
    if (n_kv_ > remaining() / kMinKvBytes)
      fail(GgufErrorKind::LimitExceeded, fmt::format("metadata count {} cannot fit in the {} bytes that follow the header",
                                                     n_kv_, remaining()));
    if (n_tensors_ > remaining() / kMinTensorInfoBytes)
      fail(GgufErrorKind::LimitExceeded, fmt::format("tensor count {} cannot fit in the {} bytes that follow the header",
                                                     n_tensors_, remaining()));
  }

  GgufValueType read_value_type(std::string_view key, bool in_array) {
    const uint64_t at = pos_;
    const uint32_t t = read<uint32_t>(in_array ? "array element type" : "value type");
    if (t > static_cast<uint32_t>(GgufValueType::F64))
      fail(GgufErrorKind::BadValueType,
           fmt::format("metadata key '{}': unknown value type {} at offset {}; expected 0..12", key, t, at));
    return static_cast<GgufValueType>(t);
  }

  void read_scalar(GgufValue& v, GgufValueType t, std::string_view key) {
    const size_t n = gguf_value_type_size(t);
    need(n, fmt::format("value of metadata key '{}'", key));
    if (t == GgufValueType::F32 || t == GgufValueType::F64) {
      uint64_t bits = 0;
      std::memcpy(&bits, p_ + pos_, n);
      v.bits_ = bits;
    } else if (t == GgufValueType::Bool) {
      const uint8_t b = p_[pos_];
      if (b > 1)
        fail(GgufErrorKind::BadValueType, fmt::format("metadata key '{}': bool value {} is not 0 or 1", key, b));
      v.bits_ = b;
    } else {
      v.bits_ = static_cast<uint64_t>(load_int(t, p_ + pos_));
    }
    pos_ += n;
  }

  void parse_metadata() {
    f_.kvs_.reserve(static_cast<size_t>(n_kv_));
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t at = pos_;
      const std::string_view key = read_string(fmt::format("key of metadata entry {}", i), limits_.max_key_bytes);
      if (key.empty()) fail(GgufErrorKind::BadKey, fmt::format("metadata entry {} at offset {} has an empty key", i, at));
      if (key.find('\0') != std::string_view::npos)
        fail(GgufErrorKind::BadKey, fmt::format("metadata entry {} at offset {}: key contains a NUL byte", i, at));
      if (f_.kv_index_.contains(key))
        fail(GgufErrorKind::BadKey, fmt::format("duplicate metadata key '{}' (entry {} at offset {})", key, i, at));

      GgufValue v;
      v.type_ = read_value_type(key, false);
      if (v.type_ == GgufValueType::String) {
        v.str_ = read_string(fmt::format("string value of metadata key '{}'", key), limits_.max_string_bytes);
      } else if (v.type_ == GgufValueType::Array) {
        parse_array(v, key);
      } else {
        read_scalar(v, v.type_, key);
      }
      f_.kv_index_.emplace(key, f_.kvs_.size());
      f_.kvs_.push_back(GgufKeyValue{key, std::move(v)});
    }
  }

  void parse_array(GgufValue& v, std::string_view key) {
    v.array_type_ = read_value_type(key, true);
    if (v.array_type_ == GgufValueType::Array)
      fail(GgufErrorKind::BadValueType, fmt::format("metadata key '{}': nested arrays are not supported", key));
    const uint64_t at = pos_;
    v.count_ = read<uint64_t>("array length");
    if (v.count_ > limits_.max_array_elements)
      fail(GgufErrorKind::LimitExceeded, fmt::format("metadata key '{}': array length {} at offset {} exceeds the limit of {}",
                                                     key, v.count_, at, limits_.max_array_elements));
    if (v.array_type_ == GgufValueType::String) {
      // Every string carries an 8-byte length, which bounds the count by the bytes left.
      if (v.count_ > remaining() / 8)
        fail(GgufErrorKind::LimitExceeded, fmt::format("metadata key '{}': {} strings cannot fit in the {} bytes left",
                                                       key, v.count_, remaining()));
      v.strings_.reserve(static_cast<size_t>(v.count_));
      for (uint64_t i = 0; i < v.count_; ++i)
        v.strings_.push_back(read_string(fmt::format("element {} of metadata key '{}'", i, key), limits_.max_string_bytes));
      return;
    }
    const uint64_t elem = gguf_value_type_size(v.array_type_);
    if (v.count_ > remaining() / elem)
      fail(GgufErrorKind::Truncated, fmt::format("metadata key '{}': array of {} x {} needs {} bytes, only {} left", key,
                                                 v.count_, gguf_value_type_name(v.array_type_), v.count_ * elem, remaining()));
    v.data_ = p_ + pos_;
    if (v.array_type_ == GgufValueType::Bool)
      for (uint64_t i = 0; i < v.count_; ++i)
        if (v.data_[i] > 1)
          fail(GgufErrorKind::BadValueType, fmt::format("metadata key '{}': element {} is bool {} (not 0 or 1)", key, i, v.data_[i]));
    pos_ += v.count_ * elem;
  }

  void apply_alignment() {
    f_.alignment_ = kDefaultAlignment;
    const GgufValue* a = f_.find("general.alignment");
    if (!a) return;
    if (a->type() != GgufValueType::U32)
      fail(GgufErrorKind::BadKeyType,
           fmt::format("metadata key 'general.alignment' has type {}; expected u32", gguf_value_type_name(a->type())));
    const uint64_t al = a->as_u64("general.alignment");
    if (al == 0 || !std::has_single_bit(al) || al > limits_.max_alignment)
      fail(GgufErrorKind::BadAlignment,
           fmt::format("general.alignment is {}; expected a power of two between 1 and {}", al, limits_.max_alignment));
    f_.alignment_ = static_cast<uint32_t>(al);
  }

  void parse_tensor_infos() {
    f_.tensors_.reserve(static_cast<size_t>(n_tensors_));
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      const uint64_t at = pos_;
      GgufTensorInfo t;
      t.name = read_string(fmt::format("name of tensor {}", i), 1ull << 16);
      if (t.name.empty()) fail(GgufErrorKind::BadTensor, fmt::format("tensor {} at offset {} has an empty name", i, at));
      if (t.name.size() > limits_.max_tensor_name_bytes)
        fail(GgufErrorKind::BadTensor, fmt::format("tensor {} at offset {}: name of {} bytes exceeds the limit of {}", i,
                                                   at, t.name.size(), limits_.max_tensor_name_bytes));
      if (t.name.find('\0') != std::string_view::npos)
        fail(GgufErrorKind::BadTensor, fmt::format("tensor {} at offset {}: name contains a NUL byte", i, at));
      if (f_.tensor_index_.contains(t.name))
        fail(GgufErrorKind::BadTensor, fmt::format("duplicate tensor name '{}' (tensor {} at offset {})", t.name, i, at));

      t.n_dims = read<uint32_t>(fmt::format("n_dims of tensor '{}'", t.name));
      if (t.n_dims < 1 || t.n_dims > 4)
        fail(GgufErrorKind::BadTensor, fmt::format("tensor '{}': n_dims is {}; expected 1 to 4", t.name, t.n_dims));
      uint64_t n_elements = 1;
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        const uint64_t ne = read<uint64_t>(fmt::format("dimension {} of tensor '{}'", d, t.name));
        if (ne == 0) fail(GgufErrorKind::BadTensor, fmt::format("tensor '{}': dimension {} is 0; expected >= 1", t.name, d));
        // ggml stores dimensions as int64_t.
        if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)
          fail(GgufErrorKind::Overflow, fmt::format("tensor '{}': element count overflows at dimension {} ({})", t.name, d, ne));
        n_elements *= ne;
        t.ne[d] = ne;
      }
      t.n_elements = n_elements;

      const uint32_t type_id = read<uint32_t>(fmt::format("type of tensor '{}'", t.name));
      const GgmlTypeTraits* tt = ggml_type_traits(type_id);
      if (!tt) fail(GgufErrorKind::BadTensor, fmt::format("tensor '{}': unknown ggml type id {}", t.name, type_id));
      if (tt->retired)
        fail(GgufErrorKind::Unsupported, fmt::format("tensor '{}': type {} (id {}) was retired from ggml; re-quantize the model",
                                                     t.name, tt->name, type_id));
      t.type = tt->type;
      if (t.ne[0] % tt->block_size != 0)
        fail(GgufErrorKind::BadTensor, fmt::format("tensor '{}': row length {} is not a multiple of the {} block size {}",
                                                   t.name, t.ne[0], tt->name, tt->block_size));
      const uint64_t blocks = n_elements / tt->block_size;
      if (blocks > std::numeric_limits<uint64_t>::max() / tt->type_size)
        fail(GgufErrorKind::Overflow, fmt::format("tensor '{}': byte size overflows", t.name));
      t.n_bytes = blocks * tt->type_size;

      t.offset = read<uint64_t>(fmt::format("offset of tensor '{}'", t.name));
      if (t.offset % f_.alignment_ != 0)
        fail(GgufErrorKind::BadOffset, fmt::format("tensor '{}': offset {} is not a multiple of the alignment {}", t.name,
                                                   t.offset, f_.alignment_));
      if (t.n_bytes > std::numeric_limits<uint64_t>::max() - t.offset)
        fail(GgufErrorKind::Overflow, fmt::format("tensor '{}': offset {} + size {} overflows", t.name, t.offset, t.n_bytes));

      f_.tensor_index_.emplace(t.name, f_.tensors_.size());
      f_.tensors_.push_back(t);
    }
    f_.header_bytes_ = pos_;
  }

  void place_data_section() {
    const uint64_t al = f_.alignment_;
    const uint64_t data_offset = (pos_ + al - 1) / al * al;
    f_.data_offset_ = data_offset;

    // Offsets must increase in declaration order without overlap, as every GGUF writer lays them
    // out; this also makes the check linear and allocation-free.
    uint64_t end = 0;
    const GgufTensorInfo* prev = nullptr;
    for (const GgufTensorInfo& t : f_.tensors_) {
      if (prev && t.offset < end)
        fail(GgufErrorKind::BadOffset,
             fmt::format("tensor '{}' (offset {}, {} bytes) overlaps or precedes tensor '{}' (offset {}, {} bytes); "
                         "expected increasing, non-overlapping offsets",
                         t.name, t.offset, t.n_bytes, prev->name, prev->offset, prev->n_bytes));
      end = t.offset + t.n_bytes;
      prev = &t;
    }
    if (end > std::numeric_limits<uint64_t>::max() - data_offset)
      fail(GgufErrorKind::Overflow, fmt::format("data section end {} + {} overflows", data_offset, end));
    f_.data_bytes_ = end;

    // The file may end before the data section does (a skeleton or a truncated download): that is
    // a status for the caller, not a format error.
    const uint64_t fsize = f_.file_size_;
    if (end == 0 || fsize >= data_offset + end)
      f_.status_ = GgufDataStatus::Complete;
    else if (fsize <= data_offset)
      f_.status_ = GgufDataStatus::Skeleton;
    else
      f_.status_ = GgufDataStatus::Truncated;
  }

  GgufFile& f_;
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  GgufLimits limits_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

// ---------------------------------------------------------------------------------------------
// GgufFile

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name, const GgufLimits& limits) {
  GgufFile f;
  f.path_ = std::move(name);
  f.base_ = bytes.data();
  f.file_size_ = bytes.size();
  GgufParser(f, bytes, limits).run();
  return f;
}

GgufFile GgufFile::open(const std::string& path, const GgufLimits& limits) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw GgufError(GgufErrorKind::Io, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw GgufError(GgufErrorKind::Io, fmt::format("{}: cannot stat: {}", path, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw GgufError(GgufErrorKind::Io, fmt::format("{}: not a regular file", path));
  }
  auto mapping = std::make_unique<Mapping>();
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > 0) {
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw GgufError(GgufErrorKind::Io, fmt::format("{}: cannot map {} bytes: {}", path, size, std::strerror(e)));
    }
    mapping->addr = addr;
    mapping->size = size;
  }
  ::close(fd);

  GgufFile f;
  f.path_ = path;
  f.base_ = static_cast<const uint8_t*>(mapping->addr);
  f.file_size_ = size;
  f.mapping_ = std::move(mapping);
  GgufParser(f, {f.base_, static_cast<size_t>(size)}, limits).run();
  return f;
}

uint64_t GgufFile::data_bytes_present() const {
  if (file_size_ <= data_offset_) return 0;
  return std::min(file_size_ - data_offset_, data_bytes_);
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  return v->as_string(fmt::format("{}: metadata key '{}'", path_, key));
}

std::optional<uint64_t> GgufFile::get_u64(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  return v->as_u64(fmt::format("{}: metadata key '{}'", path_, key));
}

std::optional<double> GgufFile::get_f64(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  return v->as_f64(fmt::format("{}: metadata key '{}'", path_, key));
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  return v->as_bool(fmt::format("{}: metadata key '{}'", path_, key));
}

void GgufFile::require_complete() const {
  switch (status_) {
    case GgufDataStatus::Complete: return;
    case GgufDataStatus::Skeleton:
      throw GgufError(GgufErrorKind::NotRunnable,
                      fmt::format("{}: skeleton file (header only, no tensor data: {} bytes expected); it can be inspected "
                                  "and planned but not run", path_, data_bytes_));
    case GgufDataStatus::Truncated:
      throw GgufError(GgufErrorKind::NotRunnable,
                      fmt::format("{}: data section truncated: {} of {} bytes present", path_, data_bytes_present(), data_bytes_));
  }
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensorInfo& t) const {
  require_complete();
  return {base_ + data_offset_ + t.offset, static_cast<size_t>(t.n_bytes)};
}

}  // namespace llmc
