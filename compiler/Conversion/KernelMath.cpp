#include "KernelMath.h"

#include <numbers>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace llmc::compiler {

using mlir::Value;

namespace {

mlir::Type withElement(mlir::Type like, mlir::Type element) {
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(like)) return mlir::VectorType::get(vector.getShape(), element);
  return element;
}

mlir::LLVM::FastmathFlagsAttr noFastMath(KernelIRBuilder& kb) {
  return mlir::LLVM::FastmathFlagsAttr::get(kb.b.getContext(), mlir::LLVM::FastmathFlags::none);
}

Value bitsOf(KernelIRBuilder& kb, Value v) {
  return mlir::arith::BitcastOp::create(kb.b, kb.loc, withElement(v.getType(), kb.b.getI32Type()), v);
}

Value floatOf(KernelIRBuilder& kb, Value bits) {
  return mlir::arith::BitcastOp::create(kb.b, kb.loc, withElement(bits.getType(), kb.b.getF32Type()), bits);
}

Value compare(KernelIRBuilder& kb, mlir::arith::CmpFPredicate predicate, Value a, Value c) {
  return mlir::arith::CmpFOp::create(kb.b, kb.loc, predicate, a, c);
}

Value select(KernelIRBuilder& kb, Value condition, Value a, Value c) {
  return mlir::arith::SelectOp::create(kb.b, kb.loc, condition, a, c);
}

Value negate(KernelIRBuilder& kb, Value v) { return mlir::arith::NegFOp::create(kb.b, kb.loc, v); }

// c0 + v (c1 + v (c2 + ...)), Horner's scheme with one rounding per step.
Value polynomial(KernelIRBuilder& kb, Value v, std::initializer_list<double> coefficients) {
  const double* c = std::data(coefficients);
  size_t i = coefficients.size() - 1;
  Value result = floatLike(kb, v, c[i]);
  while (i-- > 0) result = fusedMulAdd(kb, result, v, floatLike(kb, v, c[i]));
  return result;
}

// An f32 integral value as i32; NaN becomes 0 (fptosi of NaN is poison).
Value integralToI32(KernelIRBuilder& kb, Value integral) {
  Value isNan = compare(kb, mlir::arith::CmpFPredicate::UNO, integral, integral);
  Value safe = select(kb, isNan, floatLike(kb, integral, 0.0), integral);
  return mlir::arith::FPToSIOp::create(kb.b, kb.loc, withElement(integral.getType(), kb.b.getI32Type()), safe);
}

}  // namespace

Value floatLike(KernelIRBuilder& kb, Value like, double c) {
  mlir::Type type = like.getType();
  auto attr = kb.b.getF32FloatAttr(static_cast<float>(c));
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(type))
    return mlir::arith::ConstantOp::create(kb.b, kb.loc, type, mlir::DenseElementsAttr::get(vector, attr.getValue()));
  return mlir::arith::ConstantOp::create(kb.b, kb.loc, attr);
}

Value fusedMulAdd(KernelIRBuilder& kb, Value a, Value b, Value c) {
  return mlir::LLVM::FMAOp::create(kb.b, kb.loc, a, b, c, noFastMath(kb));
}

Value squareRoot(KernelIRBuilder& kb, Value v) {
  // Through the generic intrinsic call: the NVVM conversion rejects llvm.intr.sqrt (it sends
  // math.sqrt to libdevice), while NVPTX itself lowers llvm.sqrt.f32 to sqrt.rn.f32.
  auto call = mlir::LLVM::CallIntrinsicOp::create(kb.b, kb.loc, v.getType(), kb.b.getStringAttr("llvm.sqrt"),
                                                  mlir::ValueRange{v});
  return call.getResult(0);
}

Value absF(KernelIRBuilder& kb, Value v) { return floatOf(kb, kb.andI(bitsOf(kb, v), 0x7FFFFFFF)); }

Value roundToIntegral(KernelIRBuilder& kb, Value v) {
  // Adding 1.5 x 2^23 leaves no fraction bits, so the addition itself rounds (to nearest even);
  // subtracting it again is exact. No fast-math flags: the pair must not be folded away.
  Value magic = floatLike(kb, v, 12582912.0);
  return kb.subF(kb.addF(v, magic), magic);
}

Value roundHalfAwayToI32(KernelIRBuilder& kb, Value v) {
  // Below 2^23 the truncated magnitude and the fraction it leaves are exact, so comparing the
  // fraction with 0.5 rounds exactly as roundf does, halves away from zero.
  mlir::Type i32 = withElement(v.getType(), kb.b.getI32Type());
  Value bits = bitsOf(kb, v);
  Value magnitude = floatOf(kb, kb.andI(bits, 0x7FFFFFFF));
  Value whole = mlir::arith::FPToSIOp::create(kb.b, kb.loc, i32, magnitude);
  Value fraction = kb.subF(magnitude, kb.sToF32(whole));
  Value up = compare(kb, mlir::arith::CmpFPredicate::OGE, fraction, floatLike(kb, v, 0.5));
  Value rounded = select(kb, up, kb.add(whole, kb.constantLike(whole, 1)), whole);
  Value negative =
      mlir::arith::CmpIOp::create(kb.b, kb.loc, mlir::arith::CmpIPredicate::slt, bits, kb.constantLike(bits, 0));
  return select(kb, negative, mlir::arith::SubIOp::create(kb.b, kb.loc, kb.constantLike(rounded, 0), rounded), rounded);
}

Value exp(KernelIRBuilder& kb, Value v) {
  using P = mlir::arith::CmpFPredicate;
  // Below -86.6 the result is under 2^-124.9 and the scaling below would need a subnormal 2^n:
  // return 0 there (an error under 2.5e-38). Above ln(FLT_MAX) it overflows to +inf. Ordered
  // compares let NaN through both clamps and the polynomial, so NaN comes out.
  constexpr double kLow = -86.6;
  constexpr double kHigh = 88.7228;
  Value clamped = select(kb, compare(kb, P::OLT, v, floatLike(kb, v, kLow)), floatLike(kb, v, kLow), v);
  clamped = select(kb, compare(kb, P::OGT, clamped, floatLike(kb, v, kHigh)), floatLike(kb, v, kHigh), clamped);
  // v = n ln2 + r, |r| <= ln2 / 2, with ln2 in two parts (the first exact times any n here).
  Value n = roundToIntegral(kb, kb.mulF(clamped, floatLike(kb, v, std::numbers::log2e)));
  Value negN = negate(kb, n);
  Value r = fusedMulAdd(kb, negN, floatLike(kb, v, 0.693359375), clamped);
  r = fusedMulAdd(kb, negN, floatLike(kb, v, -2.12194440e-4), r);
  // e^r = 1 + r + r^2 p(r) (Cephes' expf coefficients).
  Value p = polynomial(
      kb, r, {5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4});
  Value er = kb.addF(fusedMulAdd(kb, kb.mulF(r, r), p, r), floatLike(kb, v, 1.0));
  // 2^n as (2 e^r) x 2^(n - 1): n - 1 stays in -126..127, a normal float's exponent, even at
  // n = 128 (v close to ln(FLT_MAX)).
  Value exponent = kb.add(integralToI32(kb, n), kb.constantLike(bitsOf(kb, v), 126));
  Value scale = floatOf(kb, kb.shl(exponent, 23));
  Value result = kb.mulF(kb.addF(er, er), scale);
  result = select(kb, compare(kb, P::OLT, v, floatLike(kb, v, kLow)), floatLike(kb, v, 0.0), result);
  return select(kb, compare(kb, P::OGT, v, floatLike(kb, v, kHigh)),
                floatLike(kb, v, std::numeric_limits<float>::infinity()), result);
}

SinCos sinCos(KernelIRBuilder& kb, Value hi, Value lo) {
  // angle = k pi/2 + r with pi/2 in three floats P1 + P2 + P3; each fused step is exact up to
  // one rounding of a value below pi/4 + k |P2|, so r keeps the angle's absolute accuracy.
  constexpr double kHalfPi = std::numbers::pi / 2;
  constexpr float kP1 = static_cast<float>(kHalfPi);
  constexpr float kP2 = static_cast<float>(kHalfPi - kP1);
  constexpr float kP3 = static_cast<float>(kHalfPi - kP1 - static_cast<double>(kP2));
  Value k = roundToIntegral(kb, kb.mulF(hi, floatLike(kb, hi, 2.0 / std::numbers::pi)));
  Value negK = negate(kb, k);
  Value r = fusedMulAdd(kb, negK, floatLike(kb, hi, kP1), hi);
  r = fusedMulAdd(kb, negK, floatLike(kb, hi, kP2), r);
  r = fusedMulAdd(kb, negK, floatLike(kb, hi, kP3), r);
  r = kb.addF(r, lo);
  // Minimax polynomials on [-pi/4, pi/4] (Cephes' sinf and cosf coefficients).
  Value z = kb.mulF(r, r);
  Value sinR =
      fusedMulAdd(kb, kb.mulF(r, z), polynomial(kb, z, {-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4}), r);
  Value cosTail =
      kb.mulF(kb.mulF(z, z), polynomial(kb, z, {4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5}));
  Value cosR = kb.addF(fusedMulAdd(kb, floatLike(kb, z, -0.5), z, floatLike(kb, z, 1.0)), cosTail);
  // Quadrant q = k mod 4 (two's complement keeps it right for negative k): odd quadrants swap
  // sin and cos; q = 2, 3 negate sin; q = 1, 2 negate cos.
  Value q = integralToI32(kb, k);
  auto bitSet = [&](Value bits, int64_t mask) {
    return mlir::arith::CmpIOp::create(kb.b, kb.loc, mlir::arith::CmpIPredicate::ne, kb.andI(bits, mask),
                                       kb.constantLike(bits, 0));
  };
  Value swap = bitSet(q, 1);
  Value sin = select(kb, swap, cosR, sinR);
  Value cos = select(kb, swap, sinR, cosR);
  sin = select(kb, bitSet(q, 2), negate(kb, sin), sin);
  cos = select(kb, bitSet(kb.add(q, kb.constantLike(q, 1)), 2), negate(kb, cos), cos);
  return {sin, cos};
}

QuantizedBlock32 quantizeBlock32(KernelIRBuilder& kb, Value values) {
  mlir::OpBuilder& b = kb.b;
  mlir::Location loc = kb.loc;
  auto f32x32 = mlir::VectorType::get({32}, b.getF32Type());
  auto i32x32 = mlir::VectorType::get({32}, b.getI32Type());
  Value bits = mlir::arith::BitcastOp::create(b, loc, i32x32, values);
  Value magnitude = mlir::arith::BitcastOp::create(b, loc, f32x32, kb.andI(bits, 0x7FFFFFFF));
  Value amax = mlir::vector::ReductionOp::create(b, loc, mlir::vector::CombiningKind::MAXNUMF, magnitude);
  Value d = mlir::arith::DivFOp::create(b, loc, amax, kb.f32(127.0));
  Value isZero = mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OEQ, d, kb.f32(0.0));
  Value inverse = mlir::arith::SelectOp::create(b, loc, isZero, kb.f32(0.0),
                                                mlir::arith::DivFOp::create(b, loc, kb.f32(1.0), d));
  // |x| / d is 0..127, so truncation and the fraction are exact.
  Value scaled = kb.mulF(magnitude, kb.splat(inverse, 32));
  Value whole = mlir::arith::FPToSIOp::create(b, loc, i32x32, scaled);
  Value fraction = kb.subF(scaled, kb.sToF32(whole));
  Value roundsUp =
      mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OGE, fraction, kb.splat(kb.f32(0.5), 32));
  Value rounded = mlir::arith::SelectOp::create(b, loc, roundsUp, kb.add(whole, kb.constantLike(whole, 1)), whole);
  Value negative = mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::slt, bits, kb.constantLike(bits, 0));
  Value code = mlir::arith::SelectOp::create(
      b, loc, negative, mlir::arith::SubIOp::create(b, loc, kb.constantLike(rounded, 0), rounded), rounded);
  Value sum = mlir::vector::ReductionOp::create(b, loc, mlir::vector::CombiningKind::ADD, code);
  Value codes = mlir::arith::TruncIOp::create(b, loc, mlir::VectorType::get({32}, b.getI8Type()), code);
  return {codes, d, kb.mulF(d, kb.sToF32(sum))};
}

}  // namespace llmc::compiler
