// Models the CPU decoder must refuse: one GgufError naming the file and what is wrong, raised
// before any memory is allocated for the context, and never a crash.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/forward.h"
#include "llmc/gguf.h"
#include "test_models.h"

namespace llmc::test {
namespace {

// Opens `path`, builds a decoder and expects a GgufError of `kind` whose message holds every one
// of `parts`.
void expect_refused(const std::string& path, GgufErrorKind kind, const std::vector<std::string>& parts) {
  try {
    const GgufFile file = GgufFile::open(path);
    CpuDecoder decoder(file, {16, 1, KvCacheType::F32});
    ADD_FAILURE() << path << ": accepted";
  } catch (const GgufError& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << message << "\n  lacks: " << part;
  }
}

std::vector<TensorSpec> without(std::vector<TensorSpec> layout, const std::string& name) {
  std::erase_if(layout, [&](const TensorSpec& t) { return t.name == name; });
  return layout;
}

TensorSpec& tensor(std::vector<TensorSpec>& layout, const std::string& name) {
  for (TensorSpec& t : layout)
    if (t.name == name) return t;
  throw std::out_of_range(name);
}

// Writes the header of `spec` with `layout` and no data.
void write_skeleton(const std::string& path, const TestModelSpec& spec, const std::vector<TensorSpec>& layout) {
  GgufWriter w;
  write_model_metadata(w, test_hparams(spec), FileType::F32, "skeleton");
  for (const TensorSpec& t : layout) w.add_tensor(t.name, t.ne, t.type);
  w.write(path, GgufWriter::Fill::None);
}

TEST(DecoderErrors, TruncatedFile) {
  TempModelDir dir;
  const std::string path = dir.file("cut.gguf");
  write_test_model(path, TestModelSpec{});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  expect_refused(path, GgufErrorKind::NotRunnable, {"data section truncated"});
}

TEST(DecoderErrors, Skeleton) {
  TempModelDir dir;
  const std::string path = dir.file("skeleton.gguf");
  const TestModelSpec spec;
  write_skeleton(path, spec, test_layout(spec));
  expect_refused(path, GgufErrorKind::NotRunnable, {"skeleton"});
}

TEST(DecoderErrors, ArchitecturesOutsideTheDecoder) {
  TempModelDir dir;
  for (const char* arch : {"gemma3", "bert"}) {
    TestModelSpec spec;
    spec.arch = arch;
    const std::string path = dir.file(std::string(arch) + ".gguf");
    write_test_model(path, spec);
    expect_refused(path, GgufErrorKind::Unsupported,
                   {std::string("architecture '") + arch + "'", "expected one of: llama, mistral, qwen2, qwen3"});
  }
}

TEST(DecoderErrors, MissingTensor) {
  TempModelDir dir;
  const TestModelSpec spec;
  const std::string path = dir.file("missing.gguf");
  write_test_model(path, spec, without(test_layout(spec), "blk.1.ffn_up.weight"));
  expect_refused(path, GgufErrorKind::BadTensor, {"tensor 'blk.1.ffn_up.weight' is missing"});
}

TEST(DecoderErrors, Qwen2WithoutBias) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.arch = "qwen2";
  const std::string path = dir.file("nobias.gguf");
  write_test_model(path, spec, without(test_layout(spec), "blk.0.attn_k.bias"));
  expect_refused(path, GgufErrorKind::BadTensor, {"tensor 'blk.0.attn_k.bias' is missing"});
}

TEST(DecoderErrors, Qwen3WithoutQkNorm) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.arch = "qwen3";
  const std::string path = dir.file("nonorm.gguf");
  write_test_model(path, spec, without(test_layout(spec), "blk.1.attn_q_norm.weight"));
  expect_refused(path, GgufErrorKind::BadTensor, {"tensor 'blk.1.attn_q_norm.weight' is missing"});
}

TEST(DecoderErrors, WrongShape) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "blk.0.attn_q.weight").ne = {256, 192};
  const std::string path = dir.file("shape.gguf");
  write_test_model(path, spec, layout);
  expect_refused(path, GgufErrorKind::BadTensor,
                 {"tensor 'blk.0.attn_q.weight' has shape [256, 192]; expected [256, 256]"});
}

TEST(DecoderErrors, WrongRank) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "output_norm.weight").ne = {128, 2};
  const std::string path = dir.file("rank.gguf");
  write_test_model(path, spec, layout);
  expect_refused(path, GgufErrorKind::BadTensor, {"tensor 'output_norm.weight' has shape [128, 2]; expected [256]"});
}

TEST(DecoderErrors, EmbeddingWidth) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "token_embd.weight").ne = {128, 600};
  const std::string path = dir.file("embd.gguf");
  write_test_model(path, spec, layout);
  expect_refused(path, GgufErrorKind::BadTensor,
                 {"tensor 'token_embd.weight' has shape [128, 600]; expected [256, n_vocab]"});
}

TEST(DecoderErrors, OutputRowsDifferFromEmbedding) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "output.weight").ne = {256, 299};
  const std::string path = dir.file("output.gguf");
  write_test_model(path, spec, layout);
  expect_refused(path, GgufErrorKind::BadTensor, {"tensor 'output.weight' has shape [256, 299]; expected [256, 300]"});
}

// Checked from the header alone: a type without CPU kernels fails even in a skeleton, before the
// missing data would.
TEST(DecoderErrors, TensorTypeWithoutKernels) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "blk.1.ffn_down.weight").type = GgmlType::IQ2_XXS;
  const std::string path = dir.file("iq2.gguf");
  write_skeleton(path, spec, layout);
  expect_refused(path, GgufErrorKind::Unsupported,
                 {"tensor 'blk.1.ffn_down.weight' has type iq2_xxs, which the CPU decoder cannot run", "q4_0"});
}

TEST(DecoderErrors, NormNotF32) {
  TempModelDir dir;
  const TestModelSpec spec;
  std::vector<TensorSpec> layout = test_layout(spec);
  tensor(layout, "blk.0.ffn_norm.weight").type = GgmlType::F16;
  const std::string path = dir.file("norm.gguf");
  write_test_model(path, spec, layout);
  expect_refused(path, GgufErrorKind::Unsupported, {"tensor 'blk.0.ffn_norm.weight' has type f16; expected f32"});
}

TEST(DecoderErrors, HeadCountsThatDoNotGroup) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.n_head_kv = 3;
  const std::string path = dir.file("heads.gguf");
  write_test_model(path, spec);
  expect_refused(path, GgufErrorKind::BadKeyType, {"head_count 4 is not a positive multiple of head_count_kv 3"});
}

TEST(DecoderErrors, RopeScalingOtherThanLinear) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.rope_scaling_factor = 4.0f;
  spec.rope_scaling_type = "yarn";
  const std::string path = dir.file("yarn.gguf");
  write_test_model(path, spec);
  expect_refused(path, GgufErrorKind::Unsupported, {"llama.rope.scaling.type 'yarn' is not supported"});
}

}  // namespace
}  // namespace llmc::test
