//===- LLMCDialect.td - the llmc dialect ------------------------*- tablegen -*-===//
//
// The llmc dialect: one op per kernel of a GGUF decoder's forward pass, on memrefs.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IR_LLMCDIALECT_TD
#define LLMC_IR_LLMCDIALECT_TD

include "mlir/IR/OpBase.td"

def LLMC_Dialect : Dialect {
  let name = "llmc";
  let cppNamespace = "::mlir::llmc";
  let summary = "Kernels of a GGUF language model's forward pass, on buffers";
  let description = [{
    Each op is one kernel of a llama-family decoder: quantized matrix-vector and matrix-matrix
    products over raw ggml weight blocks, normalization, rotary embedding, activations, the
    KV cache and attention. Ops take memrefs and write their results into output memrefs
    (buffer semantics): the runtime executes a plan whose arenas are allocated ahead of time,
    so every kernel writes into memory it is given.

    Activations are f32 and row-major with one row per token; quantized weights are raw bytes
    (`memref<?xi8>`) holding row-major rows of ggml blocks, with the ggml type given by a
    `#llmc.quant` attribute. The lowering to gpu/scf/vector reads tuning values from a
    `#llmc.tuning` attribute chosen per chip by the planner.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Attribute storage is defined in LLMCAttrs.cpp, so attributes are registered there.
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class LLMC_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLMC_Dialect, mnemonic, traits>;

#endif // LLMC_IR_LLMCDIALECT_TD
