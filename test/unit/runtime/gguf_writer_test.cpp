#include <cmath>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "gguf_test_util.h"
#include "llmc/gguf.h"
#include "llmc/gguf_writer.h"

namespace llmc {
namespace {

float half_to_float(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const float s = (h & 0x8000) ? -1.0f : 1.0f;
  if (e == 0) return s * std::ldexp(static_cast<float>(m), -24);
  if (e == 31) return m ? NAN : s * INFINITY;
  return s * std::ldexp(1.0f + m / 1024.0f, e - 15);
}

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return half_to_float(h);
}

// Offsets of f16 scale fields in each block, from ggml-common.h.
TEST(RandomBlocks, ScalesAreFiniteAndSmall) {
  struct Case {
    GgmlType t;
    std::vector<int> half_offsets;
  };
  const Case cases[] = {
      {GgmlType::Q4_0, {0}},      {GgmlType::Q4_1, {0, 2}},  {GgmlType::Q5_0, {0}},    {GgmlType::Q5_1, {0, 2}},
      {GgmlType::Q8_0, {0}},      {GgmlType::Q2_K, {80, 82}}, {GgmlType::Q3_K, {108}}, {GgmlType::Q4_K, {0, 2}},
      {GgmlType::Q5_K, {0, 2}},   {GgmlType::Q6_K, {208}},   {GgmlType::IQ4_NL, {0}},  {GgmlType::IQ4_XS, {0}},
      {GgmlType::IQ2_XXS, {0}},   {GgmlType::IQ3_S, {0}},    {GgmlType::TQ2_0, {64}},  {GgmlType::F16, {0}},
  };
  for (const auto& c : cases) {
    const auto& tt = ggml_type_traits(c.t);
    std::vector<uint8_t> buf(tt.type_size * 500);
    fill_random_blocks(c.t, buf, 42);
    for (size_t b = 0; b < 500; ++b)
      for (int off : c.half_offsets) {
        const float v = half_at(buf.data() + b * tt.type_size + off);
        ASSERT_TRUE(std::isfinite(v)) << tt.name << " block " << b;
        ASSERT_LT(std::fabs(v), 1.0f) << tt.name;
      }
  }
}

TEST(RandomBlocks, SpecialScaleEncodings) {
  std::vector<uint8_t> mx(17 * 300);
  fill_random_blocks(GgmlType::MXFP4, mx, 1);
  for (size_t b = 0; b < 300; ++b) {
    EXPECT_GE(mx[b * 17], 118);
    EXPECT_LE(mx[b * 17], 122);
  }
  std::vector<uint8_t> nv(36 * 300);
  fill_random_blocks(GgmlType::NVFP4, nv, 1);
  for (size_t b = 0; b < 300; ++b)
    for (int i = 0; i < 4; ++i) EXPECT_NE(nv[b * 36 + i] & 0x7f, 0x7f);
  // IQ1_M assembles its f16 scale from the top nibbles of four u16 words.
  std::vector<uint8_t> iq(56 * 300);
  fill_random_blocks(GgmlType::IQ1_M, iq, 1);
  for (size_t b = 0; b < 300; ++b) {
    uint16_t w[4];
    std::memcpy(w, iq.data() + b * 56 + 48, 8);
    const uint16_t h = static_cast<uint16_t>((w[0] >> 12) | ((w[1] >> 8) & 0xf0) | ((w[2] >> 4) & 0xf00) | (w[3] & 0xf000));
    EXPECT_TRUE(std::isfinite(half_to_float(h)));
    EXPECT_GT(half_to_float(h), 0.0f);
  }
  std::vector<uint8_t> f32(4 * 1000);
  fill_random_blocks(GgmlType::F32, f32, 5);
  for (size_t i = 0; i < 1000; ++i) {
    float v;
    std::memcpy(&v, f32.data() + 4 * i, 4);
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_LE(std::fabs(v), 0.05f);
  }
}

TEST(RandomBlocks, SeedsAreReproducibleAndDistinct) {
  std::vector<uint8_t> a(18 * 64), b(18 * 64), c(18 * 64);
  fill_random_blocks(GgmlType::Q4_0, a, 9);
  fill_random_blocks(GgmlType::Q4_0, b, 9);
  fill_random_blocks(GgmlType::Q4_0, c, 10);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(GgufWriter, WriteIsAtomicOnFailure) {
  test::ScratchDir dir;
  auto w = test::tiny_llama_writer();
  const std::string target = dir.file("missing-dir/x.gguf");
  EXPECT_THROW(w.write(target, GgufWriter::Fill::Zeros), GgufError);
  EXPECT_FALSE(std::filesystem::exists(target));
  // A source that throws midway leaves nothing behind either.
  const std::string path = dir.file("partial.gguf");
  EXPECT_THROW(w.write(path, [](size_t i, std::span<uint8_t>) {
    if (i == 3) throw std::runtime_error("source failed");
  }), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    ADD_FAILURE() << "left behind: " << e.path();
}

TEST(GgufWriter, SkeletonIsHeaderOnly) {
  test::ScratchDir dir;
  auto w = test::tiny_llama_writer();
  w.write(dir.file("s.gguf"), GgufWriter::Fill::None);
  EXPECT_EQ(std::filesystem::file_size(dir.file("s.gguf")), w.header().size());
}

}  // namespace
}  // namespace llmc
