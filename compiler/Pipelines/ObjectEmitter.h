// LLVM IR to machine code in-process: the O3 pipeline, then the target's code generator, for
// relocatable objects (x86-64, AMDGPU) and their assembly listings.
#pragma once

#include <optional>
#include <string>

namespace llvm {
class Module;
}

namespace llmc::compiler {

struct MachineTarget {
  std::string triple;    // "x86_64-unknown-linux-gnu", "amdgcn-amd-amdhsa"
  std::string cpu;       // "x86-64-v3", "gfx906"
  std::string features;  // "" or "+wavefrontsize64", ...
};

// Optimizes `module` (O3) and returns a relocatable object, plus its assembly in `assembly` when
// that is not null. nullopt with `error` set on failure.
std::optional<std::string> emitObject(llvm::Module& module, const MachineTarget& target, std::string* assembly,
                                      std::string* error);

}  // namespace llmc::compiler
