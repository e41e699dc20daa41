// Float functions for kernels, built from arith operations and the two LLVM intrinsics that every
// target lowers to instructions (llvm.fma, llvm.sqrt): no libm, libdevice or ocml call is ever
// emitted, so PTX, AMDGPU code objects and x86 objects need nothing linked. Every function takes
// and returns f32 scalars or vectors of f32 (constants follow the argument's shape).
//
// Accuracy (the kernels' float operations replayed against long double; docs/compiler.md):
//   exp       Cody-Waite reduction by ln 2 and a degree-7 polynomial: at most 1.01 ulp on
//             [-86.6, 88.72]; 0 below -86.6 (where e^x < 2.5e-38), +inf above 88.72; NaN stays NaN.
//   sinCos    of a two-float angle hi + lo with |hi| < 2^22: reduction by pi/2 in three parts
//             with fused multiply-adds, then degree-7/8 polynomials on [-pi/4, pi/4]: absolute
//             error at most 1.2e-7 for rotary angles of positions up to 2^20.
#pragma once

#include "mlir/IR/Value.h"

#include "KernelIRBuilder.h"

namespace llmc::compiler {

// `c` shaped like `like` (an f32 scalar or vector).
mlir::Value floatLike(KernelIRBuilder& kb, mlir::Value like, double c);
// a * b + c with one rounding.
mlir::Value fusedMulAdd(KernelIRBuilder& kb, mlir::Value a, mlir::Value b, mlir::Value c);
// The correctly rounded square root.
mlir::Value squareRoot(KernelIRBuilder& kb, mlir::Value v);
// |v|, by clearing the sign bit (exact for every value, NaN included).
mlir::Value absF(KernelIRBuilder& kb, mlir::Value v);
// `v` rounded to the nearest integer (ties to even), as a float; exact for |v| < 2^22.
mlir::Value roundToIntegral(KernelIRBuilder& kb, mlir::Value v);
// C's roundf (half away from zero) as i32, for |v| < 2^23: the rounding of ggml's quantizers.
mlir::Value roundHalfAwayToI32(KernelIRBuilder& kb, mlir::Value v);

// e^v.
mlir::Value exp(KernelIRBuilder& kb, mlir::Value v);

// A block of 32 values (vector<32xf32>) quantized as ggml's quantize_row_q8_1: d = amax / 127,
// codes round(x / d) half away from zero (0 when d is 0), in integer arithmetic; also d times
// the sum of the codes. The int8 dot products read activations in this form.
struct QuantizedBlock32 {
  mlir::Value codes;      // vector<32xi8>
  mlir::Value scale;      // d, f32
  mlir::Value scaledSum;  // d * sum(codes), f32
};
QuantizedBlock32 quantizeBlock32(KernelIRBuilder& kb, mlir::Value values);

struct SinCos {
  mlir::Value sin;
  mlir::Value cos;
};
// sin and cos of the angle hi + lo (lo a small correction of hi, e.g. the rounding error of a
// product); positions times rotary frequencies reach 10^5 radians and more, where the angle's
// own f32 rounding (and a single-float reduction) would cost three decimal digits.
SinCos sinCos(KernelIRBuilder& kb, mlir::Value hi, mlir::Value lo);

}  // namespace llmc::compiler
