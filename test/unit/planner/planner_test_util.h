// Models for planner tests: skeleton headers of real shapes, parsed from memory.
#pragma once

#include <memory>
#include <vector>

#include "llmc/gguf_writer.h"
#include "llmc/model.h"
#include "llmc/model_layout.h"
#include "llmc/model_presets.h"

namespace llmc::test {

struct InMemoryModel {
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<ModelDesc> model;
};

inline std::unique_ptr<InMemoryModel> preset_model(const std::string& preset, FileType ft) {
  auto m = std::make_unique<InMemoryModel>();
  const ModelPreset* p = find_model_preset(preset);
  GgufWriter w;
  write_model_metadata(w, p->hp, ft, p->display_name);
  for (const auto& t : tensor_layout(p->hp, ft)) w.add_tensor(t.name, t.ne, t.type);
  m->bytes = w.header();
  m->file = std::make_unique<GgufFile>(GgufFile::parse(m->bytes, preset + ".gguf"));
  m->model = std::make_unique<ModelDesc>(ModelDesc::from_gguf(*m->file));
  return m;
}

}  // namespace llmc::test
