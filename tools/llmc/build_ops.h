// The kernels `llmc build` adds besides the quantized products: the element-wise, row-wise, rope,
// KV cache, embedding and attention kernels of a model's decode step, the check suite's shapes of every such
// op, and the `--kernel` / `--print-asm` spelling of one of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmc/compiler/Bundle.h"
#include "llmc/gguf.h"

namespace llmc::cli {

// The decode step's other kernels for `tokens` rows per step: rms_norm at n_embd (and at head_dim
// for per-head q/k norms), the residual add, bias adds, swiglu at each n_ff, softmax and argmax at
// n_vocab, rope for q and k, the token embedding gather, and, when `plan` (llmc.plan/1) gives the
// context and KV cache types, the K and V cache stores and (f16 caches) decode attention. None for
// an architecture llmc cannot run.
std::vector<compiler::KernelRequest> model_op_kernels(const GgufFile& file, int64_t tokens,
                                                      const nlohmann::ordered_json& plan);

// The check suite's op kernels: several shapes of every op (odd widths, several token rows, both
// rope modes, every KV cache type, the embedding types, grouped and causal attention). With `quants`, only the embed
// kernels of those types.
std::vector<compiler::KernelRequest> suite_op_kernels(const std::vector<GgmlType>& quants);

// "OP:TxW" (rms_norm, add, add_row, mul, mul_row, swiglu, softmax, argmax: T rows of W values),
// "embed:TYPE:ROWSxCOLS" or "qmatmul:TYPE:ROWSxCOLS" (the prefill product), for --kernel and
// --print-asm; nullopt when `text` names no op (it may be
// a qmatvec kernel). Throws CLI::ValidationError for a malformed op kernel.
std::optional<compiler::KernelRequest> parse_op_kernel(const std::string& text);

}  // namespace llmc::cli
