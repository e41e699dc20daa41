// min_blocks = M: the kernel asks its code generator to keep M workgroups resident per
// multiprocessor. NVIDIA: .minnctapersm M next to the .maxntid of the known block size, so that
// ptxas (or the driver's JIT) caps each lane at what M workgroups of that many threads leave: 32
// workgroups of 64 threads hold 2048 threads, 32 registers a lane. On AMD, waves per SIMD: here 16
// workgroups (32 are past the 2048 threads: the value is cut to 16 and the name says so) of two
// wave64s over the compute unit's four SIMDs: 8, so at most 32 VGPRs. The name says m32 / m16;
// the kernel without keeps neither. CPUs drop the value and its name.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s --check-prefix=SM61
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=amdgpu chip=gfx906" | FileCheck %s --check-prefix=AMD
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s --check-prefix=GFX906
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=x86" | FileCheck %s --check-prefix=CPU

// SM90: .target sm_90
// SM90: .visible .entry llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2m32_rp(
// SM90: .maxntid 64, 1, 1{{\\0A}}.minnctapersm 32{{\\0A}}
// SM90: .visible .entry llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2_rp(
// SM90: .maxntid 64, 1, 1{{\\0A}}{
// SM90-NOT: .minnctapersm

// SM61: .target sm_61
// SM61: .visible .entry llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2m32_rp(
// SM61: .maxntid 64, 1, 1{{\\0A}}.minnctapersm 32{{\\0A}}

// AMD: gpu.func @llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2m16_rp(
// AMD-SAME: rocdl.waves_per_eu = 8 : i32
// AMD: gpu.func @llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2_rp(
// AMD-NOT: waves_per_eu

// GFX906: amdhsa.kernels:
// GFX906: .name: llmc_qmatvec_q6_K_64x4096_b1_int8_r2w2v4u2m16_rp
// GFX906: .vgpr_count: {{ *([0-9]|[12][0-9]|3[0-2])\\0A}}
// GFX906: .wavefront_size: 64

// CPU: func.func @llmc_qmatvec_q6_K_64x4096_b1_f32_r2w1v4u2_rp(
// CPU-NOT: m32
func.func @decode(%w: memref<?xi8>, %x: memref<1x4096xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 64 cols = 4096
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 2, min_blocks = 32> layout<row_planar>
      : memref<?xi8>, memref<1x4096xf32>, memref<1x64xf32>
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 64 cols = 4096
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 2> layout<row_planar>
      : memref<?xi8>, memref<1x4096xf32>, memref<1x64xf32>
  return
}
