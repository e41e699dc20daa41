// The x86 instruction-set extensions the executor's kernels use, read once with CPUID (including
// the operating system's consent to save AVX registers). Internal to the executor.
#pragma once

namespace llmc::exec {

struct CpuFeatures {
  bool avx2_fma_f16c = false;  // AVX2 with FMA and F16C: the AVX2 row dots and attention loops
  bool avx_vnni = false;       // VEX-encoded VNNI (vpdpbusd/vpdpwssd on 256-bit registers)
};

// All false on other architectures.
const CpuFeatures& cpu_features();

}  // namespace llmc::exec
