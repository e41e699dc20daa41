#include <gtest/gtest.h>

#include "gguf_test_util.h"
#include "llmc/model.h"
#include "llmc/model_layout.h"

namespace llmc {
namespace {

HParams llama3_8b() {
  HParams hp;
  hp.arch = "llama";
  hp.n_layer = 32;
  hp.n_embd = 4096;
  hp.n_vocab = 128256;
  hp.n_ctx_train = 8192;
  hp.n_head.assign(32, 32);
  hp.n_head_kv.assign(32, 8);
  hp.n_ff.assign(32, 14336);
  hp.head_dim_k = hp.head_dim_v = hp.rope_dim = 128;
  hp.rope_freq_base = 500000.0f;
  return hp;
}

GgufFile write_skeleton(const test::ScratchDir& dir, const HParams& hp, FileType ft, const std::string& name) {
  GgufWriter w;
  write_model_metadata(w, hp, ft, name);
  for (const auto& t : tensor_layout(hp, ft)) w.add_tensor(t.name, t.ne, t.type);
  w.write(dir.file(name + ".gguf"), GgufWriter::Fill::None);
  return GgufFile::open(dir.file(name + ".gguf"));
}

TEST(ModelDesc, TinyLlamaHyperparameters) {
  test::ScratchDir dir;
  test::tiny_llama_writer().write(dir.file("m.gguf"), GgufWriter::Fill::Zeros);
  const GgufFile f = GgufFile::open(dir.file("m.gguf"));
  const ModelDesc m = ModelDesc::from_gguf(f);
  const HParams& hp = m.hparams();
  EXPECT_EQ(hp.arch, "llama");
  EXPECT_EQ(m.name(), "tiny");
  EXPECT_EQ(hp.n_layer, 2u);
  EXPECT_EQ(hp.n_embd, 64u);
  EXPECT_EQ(hp.n_ff[1], 128u);
  EXPECT_EQ(hp.n_head[0], 4u);
  EXPECT_EQ(hp.n_head_kv[0], 2u);
  EXPECT_EQ(hp.head_dim_k, 16u);
  EXPECT_EQ(hp.n_vocab, 8u);  // from the token list
  EXPECT_EQ(hp.rope_type, RopeType::Norm);
  EXPECT_FALSE(hp.tied_output);
  EXPECT_EQ(m.tokenizer_model(), "llama");
  ASSERT_EQ(m.layers().size(), 2u);
  // Per-layer bytes, by hand: norms 2*64*4; q,o 64*64/32*18; k 64*32/32*18; v 64*32/32*34;
  // gate, up, down 3 * 64*128/32*18.
  const uint64_t layer = 2 * 256 + 2 * 2304 + 1152 + 2176 + 3 * 4608;
  EXPECT_EQ(m.layers()[0].bytes, layer);
  EXPECT_EQ(m.layers()[0].tensors.size(), 9u);
  EXPECT_EQ(m.global_tensors().size(), 3u);
  // Params: embeddings 512 + output 512 + norm 64 + 2 layers.
  const uint64_t per_layer = 64 + 4096 + 2048 + 2048 + 4096 + 64 + 3 * 8192;
  EXPECT_EQ(m.n_params(), 512u + 512u + 64u + 2 * per_layer);
  EXPECT_EQ(m.main_type(), GgmlType::Q4_0);
  // KV per token: 2 kv heads x 16 dims = 32 elements (one 32-block) for K and for V, 2 layers.
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::F16, GgmlType::F16), 2u * 2 * 32 * 2);
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::Q8_0, GgmlType::Q8_0), 2u * 2 * 34);
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::Q4_0, GgmlType::Q4_0), 2u * 2 * 18);
}

TEST(ModelDesc, Llama3KvBytesPerTokenByHand) {
  test::ScratchDir dir;
  const GgufFile f = write_skeleton(dir, llama3_8b(), FileType::Q4_K_M, "l3");
  const ModelDesc m = ModelDesc::from_gguf(f);
  // 32 layers x 8 KV heads x 128 = 1024 elements per K (and V) row per layer.
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::F16, GgmlType::F16), 32u * 2 * 1024 * 2);          // 128 KiB
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::Q8_0, GgmlType::Q8_0), 32u * 2 * (1024 / 32 * 34));  // 68 KiB
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::Q4_0, GgmlType::Q4_0), 32u * 2 * (1024 / 32 * 18));  // 36 KiB
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::Q8_0, GgmlType::F16), 32u * (1088 + 2048));
  EXPECT_EQ(m.hparams().n_vocab, 128256u);  // from llama.vocab_size in the skeleton
  EXPECT_EQ(f.data_status(), GgufDataStatus::Skeleton);
}

TEST(ModelDesc, SlidingWindowLayersOfGemma3) {
  HParams hp = llama3_8b();
  hp.arch = "gemma3";
  hp.n_layer = 12;
  hp.n_head.assign(12, 8);
  hp.n_head_kv.assign(12, 4);
  hp.n_ff.assign(12, 1024);
  hp.n_embd = 512;
  hp.n_vocab = 1000;
  hp.head_dim_k = hp.head_dim_v = hp.rope_dim = 256;
  hp.sliding_window = 1024;
  hp.tied_output = true;
  test::ScratchDir dir;
  const GgufFile f = write_skeleton(dir, hp, FileType::Q8_0, "g3");
  const ModelDesc m = ModelDesc::from_gguf(f);
  ASSERT_EQ(m.hparams().layer_is_swa.size(), 12u);
  // Layers 5 and 11 (every sixth) are global.
  for (uint32_t i = 0; i < 12; ++i) EXPECT_EQ(m.hparams().layer_is_swa[i], i != 5 && i != 11) << i;
  EXPECT_TRUE(m.hparams().tied_output);
  EXPECT_EQ(m.kv_bytes_per_token_full_layers(GgmlType::F16, GgmlType::F16), 2u * 2 * 4 * 256 * 2);
  EXPECT_NE(f.find_tensor("blk.0.post_ffw_norm.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
}

TEST(ModelDesc, PerLayerHeadCounts) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 3);
  w.set_u32("llama.embedding_length", 64);
  w.set_u32("llama.feed_forward_length", 128);
  w.set_array_u32("llama.attention.head_count", {4, 4, 4});
  w.set_array_i32("llama.attention.head_count_kv", {1, 2, 4});
  const GgufFile f = GgufFile::parse(w.header(), "perlayer.gguf");
  const ModelDesc m = ModelDesc::from_gguf(f);
  EXPECT_EQ(m.hparams().n_head_kv, (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(m.kv_bytes_per_token(GgmlType::F16, GgmlType::F16), (1u + 2 + 4) * 16 * 2 * 2);
}

void expect_model_error(GgufWriter& w, GgufErrorKind kind, const std::string& needle) {
  const GgufFile f = GgufFile::parse(w.header(), "m.gguf");
  try {
    (void)ModelDesc::from_gguf(f);
    FAIL() << "expected: " << needle;
  } catch (const GgufError& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ModelDesc, ClearErrors) {
  GgufWriter none;
  expect_model_error(none, GgufErrorKind::MissingKey, "m.gguf: missing metadata key 'general.architecture'");
  GgufWriter unknown;
  unknown.set_string("general.architecture", "rwkv7");
  expect_model_error(unknown, GgufErrorKind::Unsupported, "general.architecture 'rwkv7' is not supported");
  GgufWriter missing;
  missing.set_string("general.architecture", "qwen2");
  missing.set_u32("qwen2.block_count", 2);
  expect_model_error(missing, GgufErrorKind::MissingKey, "missing metadata key 'qwen2.embedding_length'");
  GgufWriter wrong;
  wrong.set_string("general.architecture", "llama");
  wrong.set_string("llama.block_count", "2");
  expect_model_error(wrong, GgufErrorKind::BadKeyType, "'llama.block_count': expected an unsigned integer, found string");
  GgufWriter bad_layers;
  bad_layers.set_string("general.architecture", "llama");
  bad_layers.set_u32("llama.block_count", 2);
  bad_layers.set_u32("llama.embedding_length", 64);
  bad_layers.set_u32("llama.feed_forward_length", 64);
  bad_layers.set_array_u32("llama.attention.head_count", {4, 4, 4});
  expect_model_error(bad_layers, GgufErrorKind::BadKeyType, "has 3 entries; expected one per layer (2)");
  GgufWriter stray;
  stray.set_string("general.architecture", "llama");
  stray.set_u32("llama.block_count", 1);
  stray.set_u32("llama.embedding_length", 64);
  stray.set_u32("llama.feed_forward_length", 64);
  stray.set_u32("llama.attention.head_count", 4);
  stray.add_tensor("blk.7.attn_q.weight", {64, 64}, GgmlType::F16);
  expect_model_error(stray, GgufErrorKind::BadTensor, "tensor 'blk.7.attn_q.weight' belongs to layer 7");
}

}  // namespace
}  // namespace llmc

#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>

namespace llmc {
namespace {

// A 70B-sized model whose data section is a sparse hole: describing it must not fault in a single
// page of tensor data (mincore shows none resident), whatever the file size.
TEST(ModelDesc, DescribingALargeModelNeverTouchesTensorData) {
  test::ScratchDir dir;
  HParams hp = llama3_8b();
  hp.n_layer = 80;
  hp.n_embd = 8192;
  hp.n_head.assign(80, 64);
  hp.n_head_kv.assign(80, 8);
  hp.n_ff.assign(80, 28672);
  GgufWriter w;
  write_model_metadata(w, hp, FileType::Q4_K_S, "big");
  for (const auto& t : tensor_layout(hp, FileType::Q4_K_S)) w.add_tensor(t.name, t.ne, t.type);
  const std::string path = dir.file("big.gguf");
  w.write(path, GgufWriter::Fill::None);
  std::filesystem::resize_file(path, w.data_offset() + w.data_bytes());  // sparse: no blocks allocated

  const GgufFile f = GgufFile::open(path);
  ASSERT_EQ(f.data_status(), GgufDataStatus::Complete);
  EXPECT_GT(f.file_size(), 37ull << 30);
  const ModelDesc m = ModelDesc::from_gguf(f);
  EXPECT_EQ(m.layers().size(), 80u);

  const long page = ::sysconf(_SC_PAGESIZE);
  const auto first = f.tensor_data(f.tensors().front());
  const auto last = f.tensor_data(f.tensors().back());
  const auto begin = reinterpret_cast<uintptr_t>(first.data()) / page * page + page;  // skip the header's page
  const auto end = reinterpret_cast<uintptr_t>(last.data() + last.size());
  // Sample 1 MiB windows across the data section.
  std::vector<unsigned char> resident(256);
  size_t touched = 0;
  for (uintptr_t at = begin; at + 256 * page < end; at += (end - begin) / 64 / page * page) {
    ASSERT_EQ(::mincore(reinterpret_cast<void*>(at), 256 * page, resident.data()), 0);
    for (unsigned char r : resident) touched += r & 1;
  }
  EXPECT_EQ(touched, 0u);
}

}  // namespace
}  // namespace llmc
