// prefetch = 1: each workgroup first asks for its weight rows in L2. Two rows of 272 bytes
// (q8_0, 256 columns) are 544 bytes: 5 lines of 128 bytes, plus one because the rows need not
// start on a line, so threads 0..5 of the 64 each issue one prefetch.global.L2 before the first
// weight load; the address is clamped to the workgroup's last byte. The kernel's name says
// p1, so it never shares a name with the kernel without. AMD chips have no L2 prefetch: the value
// is dropped there, and the kernel is the one without. On sm_90 the prefetching kernel then waits
// for the prior grid (griddepcontrol, for launches that overlap it) before it reads the int8
// activations the quantizer wrote: those loads are ordinary ld.global below the wait, while the
// weights keep the read-only path (ld.global.nc); the kernel without keeps ld.global.nc for both.
// The quantizer lets such a product start at once (launch_dependents before its first load).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_90" --canonicalize --cse | FileCheck %s --check-prefix=LOWER
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s --check-prefix=PTX --implicit-check-not=griddepcontrol
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=amdgpu chip=gfx906" | FileCheck %s --check-prefix=AMD
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_90 | FileCheck %s --check-prefix=SM90

// LOWER-LABEL: func.func @decode
// LOWER: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1p1 blocks in (%c32, %c1, %c1) threads in (%c64, %c1, %c1)
// LOWER: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1 blocks in (%c32, %c1, %c1) threads in (%c64, %c1, %c1)
// LOWER: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1p1(
// LOWER: scf.for %{{.*}} = %{{.*}} to %c6 step %c64 {
// LOWER: memref.extract_aligned_pointer_as_index
// LOWER: llvm.inline_asm has_side_effects "prefetch.global.L2 [$0];", "l"
// LOWER: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1(
// LOWER-NOT: prefetch

// PTX: .target sm_61
// PTX: .visible .entry llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1p1(
// PTX-NOT: ld.global.nc
// PTX: prefetch.global.L2 [
// PTX: ld.global.nc
// PTX: .visible .entry llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1(
// PTX-NOT: prefetch

// SM90: .target sm_90
// SM90: .visible .entry llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1p1(
// SM90-NOT: ld.global
// SM90: prefetch.global.L2 [
// SM90-NOT: ld.global
// SM90: griddepcontrol.wait;
// SM90-SAME: griddepcontrol.launch_dependents;
// SM90: ld.global.v4.b32
// SM90: ld.global.nc.b32
// SM90: .visible .entry llmc_quantize_q8_256_b1(
// SM90-NOT: ld.global
// SM90: griddepcontrol.launch_dependents;
// SM90: .visible .entry llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1(
// SM90-NOT: griddepcontrol
// SM90-NOT: ld.global.v4.b32
// SM90: ld.global.nc.v4.b32
// SM90-NOT: griddepcontrol

// AMD: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1(
// AMD-NOT: prefetch
// AMD-NOT: p1(
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1, prefetch = 1>
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1>
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  return
}
