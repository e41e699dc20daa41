// Every validation rule of the reader, each with a file that breaks exactly that rule. Each must
// fail with a typed error whose one-line message names the field and what was expected.
#include <chrono>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gguf_test_util.h"
#include <filesystem>

#include "llmc/gguf.h"
#include "llmc/model.h"

namespace llmc {
namespace {

struct Outcome {
  bool threw = false;
  GgufErrorKind kind = GgufErrorKind::Io;
  std::string message;
};

Outcome parse(const std::vector<uint8_t>& bytes, const GgufLimits& limits = {}) {
  Outcome o;
  try {
    (void)GgufFile::parse(bytes, "bad.gguf", limits);
  } catch (const GgufError& e) {
    o.threw = true;
    o.kind = e.kind();
    o.message = e.what();
  }
  return o;
}

void expect_error(const std::vector<uint8_t>& bytes, GgufErrorKind kind, const std::string& needle,
                  const GgufLimits& limits = {}) {
  const auto start = std::chrono::steady_clock::now();
  const Outcome o = parse(bytes, limits);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(o.threw) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(static_cast<int>(o.kind), static_cast<int>(kind)) << o.message;
  EXPECT_NE(o.message.find(needle), std::string::npos) << o.message;
  EXPECT_EQ(o.message.rfind("bad.gguf: ", 0), 0u) << "message must start with the file name: " << o.message;
  EXPECT_EQ(o.message.find('\n'), std::string::npos) << "message must be one line: " << o.message;
  EXPECT_LT(secs, 1.0);
}

template <class T>
void put(std::vector<uint8_t>& b, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof(T));
}
void put_str(std::vector<uint8_t>& b, std::string_view s) {
  put<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}
std::vector<uint8_t> preamble(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  std::vector<uint8_t> b;
  put<uint32_t>(b, 0x46554747);
  put<uint32_t>(b, version);
  put<uint64_t>(b, n_tensors);
  put<uint64_t>(b, n_kv);
  return b;
}
// Pads a hand-built header with enough bytes that count checks do not fire first.
void pad(std::vector<uint8_t>& b, size_t n = 256) { b.insert(b.end(), n, 0); }

GgufWriter one_tensor(std::vector<uint64_t> ne, GgmlType t) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("t", std::move(ne), t);
  return w;
}

TEST(GgufMalformed, Magic) {
  expect_error({}, GgufErrorKind::BadMagic, "too short");
  expect_error({'G', 'G'}, GgufErrorKind::BadMagic, "too short");
  std::vector<uint8_t> b = preamble(3, 0, 0);
  b[0] = 'g';
  expect_error(b, GgufErrorKind::BadMagic, "expected \"GGUF\"");
  b = {0x7f, 'E', 'L', 'F', 0, 0, 0, 0};
  expect_error(b, GgufErrorKind::BadMagic, "\\x7fELF");
}

TEST(GgufMalformed, Version) {
  expect_error(preamble(1, 0, 0), GgufErrorKind::BadVersion, "version 1");
  expect_error(preamble(4, 0, 0), GgufErrorKind::BadVersion, "unsupported GGUF version 4");
  expect_error(preamble(0x03000000, 0, 0), GgufErrorKind::BadVersion, "big-endian");
  std::vector<uint8_t> b = preamble(3, 0, 0);
  b.resize(6);
  expect_error(b, GgufErrorKind::Truncated, "version");
}

TEST(GgufMalformed, HugeCounts) {
  expect_error(preamble(3, 0, std::numeric_limits<uint64_t>::max()), GgufErrorKind::LimitExceeded, "metadata count");
  expect_error(preamble(3, 1ull << 40, 0), GgufErrorKind::LimitExceeded, "tensor count");
  auto b = preamble(3, 0, 1000);  // 1000 entries claimed, 16 bytes present
  pad(b, 16);
  expect_error(b, GgufErrorKind::LimitExceeded, "metadata count 1000");
}

TEST(GgufMalformed, KeyLengths) {
  auto b = preamble(3, 0, 1);
  put<uint64_t>(b, std::numeric_limits<uint64_t>::max());
  pad(b);
  expect_error(b, GgufErrorKind::LimitExceeded, "key of metadata entry 0");
  b = preamble(3, 0, 1);
  put<uint64_t>(b, 1000);  // within the cap, beyond the file
  pad(b, 20);
  expect_error(b, GgufErrorKind::Truncated, "needs 1000 bytes");
  b = preamble(3, 0, 1);
  put_str(b, "");
  pad(b);
  expect_error(b, GgufErrorKind::BadKey, "empty key");
  b = preamble(3, 0, 1);
  put_str(b, std::string_view("a\0b", 3));
  pad(b);
  expect_error(b, GgufErrorKind::BadKey, "NUL");
}

TEST(GgufMalformed, DuplicateKey) {
  GgufWriter w;
  w.set_u32("llama.block_count", 1);
  w.set_u32("llama.block_count", 2);
  expect_error(w.header(), GgufErrorKind::BadKey, "duplicate metadata key 'llama.block_count'");
}

TEST(GgufMalformed, ValueTypes) {
  GgufWriter w;
  w.set_raw("k", 13, {0, 0, 0, 0});
  expect_error(w.header(), GgufErrorKind::BadValueType, "unknown value type 13");
  GgufWriter nested;
  std::vector<uint8_t> p;
  put<uint32_t>(p, 9);  // array of arrays
  put<uint64_t>(p, 1);
  nested.set_raw("k", 9, p);
  expect_error(nested.header(), GgufErrorKind::BadValueType, "nested arrays");
  GgufWriter boolw;
  boolw.set_raw("flag", 7, {2});
  expect_error(boolw.header(), GgufErrorKind::BadValueType, "bool value 2");
}

TEST(GgufMalformed, StringLengths) {
  GgufWriter w;
  std::vector<uint8_t> p;
  put<uint64_t>(p, 1ull << 40);
  w.set_raw("general.name", 8, p);
  expect_error(w.header(), GgufErrorKind::LimitExceeded, "string value of metadata key 'general.name'");
  GgufWriter w2;
  p.clear();
  put<uint64_t>(p, 100);
  p.insert(p.end(), 10, 'x');
  w2.set_raw("general.name", 8, p);
  expect_error(w2.header(), GgufErrorKind::Truncated, "needs 100 bytes");
  GgufLimits tight;
  tight.max_string_bytes = 4;
  GgufWriter w3;
  w3.set_string("general.name", "much too long");
  expect_error(w3.header(), GgufErrorKind::LimitExceeded, "exceeds the limit of 4 bytes", tight);
}

TEST(GgufMalformed, ArrayLengths) {
  GgufWriter w;
  std::vector<uint8_t> p;
  put<uint32_t>(p, 4);  // u32 elements
  put<uint64_t>(p, 1ull << 25);
  w.set_raw("a", 9, p);
  expect_error(w.header(), GgufErrorKind::Truncated, "array of 33554432 x u32");
  GgufWriter huge;
  p.clear();
  put<uint32_t>(p, 8);  // strings
  put<uint64_t>(p, std::numeric_limits<uint64_t>::max());
  huge.set_raw("tokenizer.ggml.tokens", 9, p);
  expect_error(huge.header(), GgufErrorKind::LimitExceeded, "array length");
  GgufWriter strings;
  p.clear();
  put<uint32_t>(p, 8);
  put<uint64_t>(p, 1000000);  // a million strings claimed, none present
  strings.set_raw("tokenizer.ggml.tokens", 9, p);
  expect_error(strings.header(), GgufErrorKind::LimitExceeded, "1000000 strings cannot fit");
  GgufWriter badtype;
  p.clear();
  put<uint32_t>(p, 77);
  put<uint64_t>(p, 1);
  badtype.set_raw("a", 9, p);
  expect_error(badtype.header(), GgufErrorKind::BadValueType, "unknown value type 77");
}

TEST(GgufMalformed, Alignment) {
  GgufWriter w;
  w.set_u64("general.alignment", 32);
  expect_error(w.header(), GgufErrorKind::BadKeyType, "'general.alignment' has type u64; expected u32");
  for (uint32_t bad : {0u, 3u, 48u, 2u << 20}) {
    GgufWriter a;
    a.set_u32("general.alignment", bad);
    expect_error(a.header(), GgufErrorKind::BadAlignment, fmt::format("general.alignment is {}", bad));
  }
}

TEST(GgufMalformed, TensorNames) {
  GgufWriter dup;
  dup.add_tensor("x", {32}, GgmlType::F32);
  dup.add_tensor("x", {32}, GgmlType::F32);
  expect_error(dup.header(), GgufErrorKind::BadTensor, "duplicate tensor name 'x'");
  GgufWriter empty;
  empty.add_tensor("", {32}, GgmlType::F32);
  expect_error(empty.header(), GgufErrorKind::BadTensor, "empty name");
  GgufWriter longname;
  longname.add_tensor(std::string(64, 'n'), {32}, GgmlType::F32);
  expect_error(longname.header(), GgufErrorKind::BadTensor, "name of 64 bytes exceeds the limit of 63");
}

TEST(GgufMalformed, Dimensions) {
  GgufWriter zero_dims;
  zero_dims.add_tensor("t", {}, GgmlType::F32);
  expect_error(zero_dims.header(), GgufErrorKind::BadTensor, "n_dims is 0; expected 1 to 4");
  GgufWriter five;
  five.add_tensor("t", {1, 1, 1, 1, 1}, GgmlType::F32);
  expect_error(five.header(), GgufErrorKind::BadTensor, "n_dims is 5");
  expect_error(one_tensor({32, 0}, GgmlType::F32).header(), GgufErrorKind::BadTensor, "dimension 1 is 0");
  expect_error(one_tensor({1ull << 40, 1ull << 40}, GgmlType::F32).header(), GgufErrorKind::Overflow,
               "element count overflows");
  expect_error(one_tensor({1ull << 63, 1}, GgmlType::F32).header(), GgufErrorKind::Overflow, "element count overflows");
  expect_error(one_tensor({1ull << 31, 1ull << 31}, GgmlType::F32).header(), GgufErrorKind::Overflow, "byte size overflows");
}

TEST(GgufMalformed, TensorTypes) {
  expect_error(one_tensor({33}, GgmlType::Q4_0).header(), GgufErrorKind::BadTensor,
               "row length 33 is not a multiple of the q4_0 block size 32");
  expect_error(one_tensor({4096 + 32}, GgmlType::Q4_K).header(), GgufErrorKind::BadTensor, "q4_K block size 256");
  auto w = one_tensor({32}, GgmlType::F32);
  w.set_tensor_type_id(0, 99);
  expect_error(w.header(), GgufErrorKind::BadTensor, "unknown ggml type id 99");
  w.set_tensor_type_id(0, 31);
  expect_error(w.header(), GgufErrorKind::Unsupported, "retired");
}

TEST(GgufMalformed, Offsets) {
  GgufWriter mis;
  mis.add_tensor("a", {32}, GgmlType::F32);
  mis.set_tensor_offset(0, 16);
  expect_error(mis.header(), GgufErrorKind::BadOffset, "offset 16 is not a multiple of the alignment 32");
  GgufWriter overlap;
  overlap.add_tensor("a", {64}, GgmlType::F32);
  overlap.add_tensor("b", {64}, GgmlType::F32);
  overlap.set_tensor_offset(1, 128);  // a spans [0, 256)
  expect_error(overlap.header(), GgufErrorKind::BadOffset, "tensor 'b' (offset 128, 256 bytes) overlaps");
  GgufWriter decreasing;
  decreasing.add_tensor("a", {8}, GgmlType::F32);
  decreasing.add_tensor("b", {8}, GgmlType::F32);
  decreasing.set_tensor_offset(0, 64);
  decreasing.set_tensor_offset(1, 0);
  expect_error(decreasing.header(), GgufErrorKind::BadOffset, "overlaps or precedes");
  GgufWriter wrap;
  wrap.add_tensor("a", {64}, GgmlType::F32);
  wrap.set_tensor_offset(0, std::numeric_limits<uint64_t>::max() - 31);
  expect_error(wrap.header(), GgufErrorKind::Overflow, "overflows");
}

TEST(GgufMalformed, WellKnownKeyTypesAreCheckedOnUse) {
  GgufWriter w;
  w.set_string("llama.block_count", "eighty");
  const GgufFile f = GgufFile::parse(w.header(), "bad.gguf");
  try {
    (void)f.get_u64("llama.block_count");
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_EQ(std::string(e.what()), "bad.gguf: metadata key 'llama.block_count': expected an unsigned integer, found string");
  }
}

// Cutting a valid file anywhere must give either a clean error (inside the header) or a
// skeleton/truncated status (inside the data), never a crash or a wrong success.
TEST(GgufMalformed, TruncationAtEveryOffset) {
  test::ScratchDir dir;
  auto w = test::tiny_llama_writer();
  const std::string path = dir.file("t.gguf");
  w.write(path, GgufWriter::Fill::Random, 11);
  const auto bytes = test::read_bytes(path);
  const GgufFile full = GgufFile::parse(bytes, "full");
  const uint64_t header_end = full.header_bytes();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    const Outcome o = parse(part);
    if (cut < header_end) {
      ASSERT_TRUE(o.threw) << "cut at " << cut;
      ASSERT_TRUE(o.kind == GgufErrorKind::Truncated || o.kind == GgufErrorKind::BadMagic ||
                  o.kind == GgufErrorKind::LimitExceeded)
          << "cut at " << cut << ": " << o.message;
    } else {
      ASSERT_FALSE(o.threw) << "cut at " << cut << ": " << o.message;
      const GgufFile f = GgufFile::parse(part, "part");
      ASSERT_EQ(f.data_status(), cut <= full.data_offset() ? GgufDataStatus::Skeleton : GgufDataStatus::Truncated) << cut;
    }
  }
}

// Flipping bytes in the header must never crash and never read outside the buffer (run under
// ASan in the fuzz build).
TEST(GgufMalformed, ByteFlipsNeverCrash) {
  auto w = test::tiny_llama_writer();
  const auto header = w.header();
  size_t errors = 0;
  for (size_t i = 0; i < header.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x80}}) {
      auto b = header;
      b[i] = v;
      errors += parse(b).threw;
    }
  }
  EXPECT_GT(errors, header.size() / 2);
}

}  // namespace
}  // namespace llmc

namespace llmc {
namespace {

// Every seed and every input that once broke the reader must parse or fail cleanly.
TEST(FuzzRegressions, CorpusAndRegressionsParseOrFailCleanly) {
  size_t files = 0;
  for (const char* sub : {"corpus", "regressions"}) {
    const std::filesystem::path dir = std::filesystem::path(LLMC_FUZZ_DIR) / sub;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename().string().starts_with(".")) continue;
      const auto bytes = test::read_bytes(e.path().string());
      try {
        const GgufFile f = GgufFile::parse(bytes, e.path().filename().string());
        (void)ModelDesc::from_gguf(f, /*lenient=*/true);
      } catch (const GgufError&) {
      }
      ++files;
    }
  }
  EXPECT_GE(files, 10u);
}

}  // namespace
}  // namespace llmc
