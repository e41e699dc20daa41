#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gguf_test_util.h"
#include "llmc/gguf.h"

namespace llmc {
namespace {

using test::ScratchDir;

TEST(GgmlTypes, TableMatchesBlockStructs) {
  struct Expect {
    GgmlType t;
    uint32_t block, bytes;
  };
  // Sizes of ggml-common.h's block structs, computed by hand from their fields.
  const Expect expect[] = {
      {GgmlType::F32, 1, 4},        {GgmlType::F16, 1, 2},          {GgmlType::BF16, 1, 2},
      {GgmlType::Q4_0, 32, 2 + 16}, {GgmlType::Q4_1, 32, 4 + 16},   {GgmlType::Q5_0, 32, 2 + 4 + 16},
      {GgmlType::Q5_1, 32, 4 + 4 + 16}, {GgmlType::Q8_0, 32, 2 + 32}, {GgmlType::Q8_1, 32, 4 + 32},
      {GgmlType::Q2_K, 256, 16 + 64 + 4}, {GgmlType::Q3_K, 256, 32 + 64 + 12 + 2},
      {GgmlType::Q4_K, 256, 4 + 12 + 128}, {GgmlType::Q5_K, 256, 4 + 12 + 32 + 128},
      {GgmlType::Q6_K, 256, 128 + 64 + 16 + 2}, {GgmlType::Q8_K, 256, 4 + 256 + 32},
      {GgmlType::IQ2_XXS, 256, 2 + 64}, {GgmlType::IQ2_XS, 256, 2 + 64 + 8}, {GgmlType::IQ2_S, 256, 2 + 64 + 8 + 8},
      {GgmlType::IQ3_XXS, 256, 2 + 96}, {GgmlType::IQ3_S, 256, 2 + 64 + 8 + 32 + 4}, {GgmlType::IQ1_S, 256, 2 + 32 + 16},
      {GgmlType::IQ1_M, 256, 32 + 16 + 8}, {GgmlType::IQ4_NL, 32, 2 + 16}, {GgmlType::IQ4_XS, 256, 2 + 2 + 4 + 128},
      {GgmlType::TQ1_0, 256, 48 + 4 + 2}, {GgmlType::TQ2_0, 256, 64 + 2}, {GgmlType::MXFP4, 32, 1 + 16},
      {GgmlType::NVFP4, 64, 4 + 32}, {GgmlType::Q1_0, 128, 2 + 16},
  };
  for (const auto& e : expect) {
    const auto& tt = ggml_type_traits(e.t);
    EXPECT_EQ(tt.block_size, e.block) << tt.name;
    EXPECT_EQ(tt.type_size, e.bytes) << tt.name;
    EXPECT_FALSE(tt.retired) << tt.name;
  }
  EXPECT_EQ(ggml_type_traits(42u), nullptr);
  EXPECT_EQ(ggml_type_from_name("Q4_K"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("iq4_xs"), GgmlType::IQ4_XS);
  EXPECT_FALSE(ggml_type_from_name("q4_k_m").has_value());
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_K, 4096), 16u * 144u);
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_K, 4000).has_value());
}

TEST(GgufReader, ReadsMetadataAndTensorsV3) {
  ScratchDir dir;
  auto w = test::tiny_llama_writer(3);
  const std::string path = dir.file("tiny.gguf");
  w.write(path, GgufWriter::Fill::Random, 7);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_status(), GgufDataStatus::Complete);
  EXPECT_EQ(f.metadata().size(), 14u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_u64("llama.block_count"), 2u);
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_f64("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), true);
  const GgufValue* toks = f.find("tokenizer.ggml.tokens");
  ASSERT_NE(toks, nullptr);
  EXPECT_EQ(toks->array_size(), 8u);
  EXPECT_EQ(toks->array_string(1), "<s>");
  const GgufValue* types = f.find("tokenizer.ggml.token_type");
  EXPECT_EQ(types->array_int(0), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(f.find("tokenizer.ggml.scores")->array_float(4)), -2.0f);
  EXPECT_EQ(f.tensors().size(), 21u);
  const GgufTensorInfo* q = f.find_tensor("blk.1.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q4_0);
  EXPECT_EQ(q->ne[0], 64u);
  EXPECT_EQ(q->ne[1], 64u);
  EXPECT_EQ(q->n_bytes, 64u * 64u / 32u * 18u);
  EXPECT_EQ(q->offset % 32u, 0u);
  EXPECT_EQ(f.data_offset() % 32u, 0u);
  EXPECT_EQ(f.file_size(), f.data_offset() + f.data_bytes());
  EXPECT_EQ(f.tensor_data(*q).size(), q->n_bytes);
  // Wrong-type lookups are errors that name the key.
  try {
    (void)f.get_u64("general.architecture");
    FAIL() << "expected a type error";
  } catch (const GgufError& e) {
    EXPECT_EQ(e.kind(), GgufErrorKind::BadKeyType);
    EXPECT_NE(std::string(e.what()).find("general.architecture"), std::string::npos);
  }
}

TEST(GgufReader, ReadsVersion2) {
  ScratchDir dir;
  auto w = test::tiny_llama_writer(2);
  w.write(dir.file("v2.gguf"), GgufWriter::Fill::Zeros);
  EXPECT_EQ(GgufFile::open(dir.file("v2.gguf")).version(), 2u);
}

TEST(GgufReader, WriterPayloadRoundTrips) {
  ScratchDir dir;
  auto w = test::tiny_llama_writer();
  std::vector<std::vector<uint8_t>> payload;
  const std::string path = dir.file("payload.gguf");
  w.write(path, [&](size_t i, std::span<uint8_t> dst) {
    for (size_t k = 0; k < dst.size(); ++k) dst[k] = static_cast<uint8_t>(i * 31 + k * 7);
    payload.emplace_back(dst.begin(), dst.end());
  });
  const GgufFile f = GgufFile::open(path);
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    auto span = f.tensor_data(f.tensors()[i]);
    ASSERT_TRUE(std::equal(span.begin(), span.end(), payload[i].begin(), payload[i].end())) << f.tensors()[i].name;
  }
}

TEST(GgufReader, CustomAlignment) {
  ScratchDir dir;
  GgufWriter w;
  w.set_u32("general.alignment", 256);
  w.set_alignment(256);
  w.add_tensor("a", {32}, GgmlType::F32);
  w.add_tensor("b", {40}, GgmlType::F16);
  w.write(dir.file("al.gguf"), GgufWriter::Fill::Zeros);
  const GgufFile f = GgufFile::open(dir.file("al.gguf"));
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.data_offset() % 256, 0u);
  EXPECT_EQ(f.find_tensor("b")->offset, 256u);
}

TEST(GgufReader, SkeletonIsFlaggedAndNotRunnable) {
  ScratchDir dir;
  auto w = test::tiny_llama_writer();
  w.write(dir.file("skel.gguf"), GgufWriter::Fill::None);
  const GgufFile f = GgufFile::open(dir.file("skel.gguf"));
  EXPECT_EQ(f.data_status(), GgufDataStatus::Skeleton);
  EXPECT_EQ(f.data_bytes_present(), 0u);
  EXPECT_GT(f.data_bytes(), 0u);
  try {
    (void)f.tensor_data(f.tensors()[0]);
    FAIL() << "skeleton data must not be readable";
  } catch (const GgufError& e) {
    EXPECT_EQ(e.kind(), GgufErrorKind::NotRunnable);
    EXPECT_NE(std::string(e.what()).find("skeleton"), std::string::npos);
  }
}

TEST(GgufReader, TruncatedDataIsReportedWithByteCounts) {
  ScratchDir dir;
  auto w = test::tiny_llama_writer();
  const std::string path = dir.file("full.gguf");
  w.write(path, GgufWriter::Fill::Random, 3);
  auto bytes = test::read_bytes(path);
  const GgufFile full = GgufFile::open(path);
  const uint64_t cut = full.data_offset() + full.data_bytes() / 2;
  bytes.resize(cut);
  test::write_bytes(dir.file("cut.gguf"), bytes);
  const GgufFile f = GgufFile::open(dir.file("cut.gguf"));
  EXPECT_EQ(f.data_status(), GgufDataStatus::Truncated);
  EXPECT_EQ(f.data_bytes_present(), full.data_bytes() / 2);
  try {
    f.require_complete();
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find(fmt::format("{} of {} bytes", full.data_bytes() / 2, full.data_bytes())),
              std::string::npos)
        << e.what();
  }
}

TEST(GgufReader, ParsesFromMemoryWithoutAFile) {
  auto w = test::tiny_llama_writer();
  const auto header = w.header();
  const GgufFile f = GgufFile::parse(header, "memory");
  EXPECT_EQ(f.data_status(), GgufDataStatus::Skeleton);
  EXPECT_EQ(f.tensors().size(), 21u);
}

TEST(GgufReader, MissingFileIsAnIoError) {
  try {
    (void)GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const GgufError& e) {
    EXPECT_EQ(e.kind(), GgufErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(GgufReader, FormatsGibLikeLlamaCpp) {
  EXPECT_EQ(format_gib(4918681600ull), "4.58 GiB");
  EXPECT_EQ(format_gib(0), "0.00 GiB");
}

}  // namespace
}  // namespace llmc
