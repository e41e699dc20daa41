// Constructors of the per-vendor TargetInfo implementations, for makeTargetInfo.
#pragma once

#include <memory>

#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

std::unique_ptr<TargetInfo> makeNvptxTargetInfo(const targets::ChipInfo& chip);
std::unique_ptr<TargetInfo> makeAmdgpuTargetInfo(const targets::ChipInfo& chip);
std::unique_ptr<TargetInfo> makeX86TargetInfo(const targets::ChipInfo& chip);

}  // namespace llmc::compiler
