// libFuzzer entry point for the GGUF reader and the model description built on it. Any input must
// either parse or raise GgufError; sanitizers catch everything else.
#include <cstddef>
#include <cstdint>
#include <span>

#include "llmc/gguf.h"
#include "llmc/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const llmc::GgufFile f = llmc::GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
    for (const auto& kv : f.metadata()) (void)kv.value.summary();
    try {
      const llmc::ModelDesc m = llmc::ModelDesc::from_gguf(f, /*lenient=*/true);
      (void)m.kv_bytes_per_token(llmc::GgmlType::Q8_0, llmc::GgmlType::F16);
    } catch (const llmc::GgufError&) {
    }
    try {
      (void)llmc::ModelDesc::from_gguf(f);
    } catch (const llmc::GgufError&) {
    }
    if (f.data_status() == llmc::GgufDataStatus::Complete)
      for (const auto& t : f.tensors()) {
        auto bytes = f.tensor_data(t);
        if (!bytes.empty()) (void)bytes.back();  // touch the last byte: must be in bounds
      }
  } catch (const llmc::GgufError&) {
  }
  return 0;
}
