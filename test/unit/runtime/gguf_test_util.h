// Shared helpers for the GGUF tests: a scratch directory and a small valid model description.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/gguf_writer.h"

namespace llmc::test {

class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("llmc-test-" + std::to_string(::getpid()) + "-" + (info ? std::string(info->name()) : "x"));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A two-layer llama with a few metadata types; small enough to truncate at every offset.
inline GgufWriter tiny_llama_writer(uint32_t version = 3) {
  GgufWriter w(version);
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "tiny");
  w.set_u32("llama.block_count", 2);
  w.set_u32("llama.context_length", 256);
  w.set_u32("llama.embedding_length", 64);
  w.set_u32("llama.feed_forward_length", 128);
  w.set_u32("llama.attention.head_count", 4);
  w.set_u32("llama.attention.head_count_kv", 2);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_array_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"});
  w.set_array_f32("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3, -4, -5});
  w.set_array_i32("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1});
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.add_tensor("token_embd.weight", {64, 8}, GgmlType::Q8_0);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.add_tensor(p + "attn_norm.weight", {64}, GgmlType::F32);
    w.add_tensor(p + "attn_q.weight", {64, 64}, GgmlType::Q4_0);
    w.add_tensor(p + "attn_k.weight", {64, 32}, GgmlType::Q4_0);
    w.add_tensor(p + "attn_v.weight", {64, 32}, GgmlType::Q8_0);
    w.add_tensor(p + "attn_output.weight", {64, 64}, GgmlType::Q4_0);
    w.add_tensor(p + "ffn_norm.weight", {64}, GgmlType::F32);
    w.add_tensor(p + "ffn_gate.weight", {64, 128}, GgmlType::Q4_0);
    w.add_tensor(p + "ffn_up.weight", {64, 128}, GgmlType::Q4_0);
    w.add_tensor(p + "ffn_down.weight", {128, 64}, GgmlType::Q4_0);
  }
  w.add_tensor("output_norm.weight", {64}, GgmlType::F32);
  w.add_tensor("output.weight", {64, 8}, GgmlType::F16);
  return w;
}

}  // namespace llmc::test
