// Small conveniences for building kernel IR (constants, index arithmetic, typed loads from a raw
// weight buffer), so that the per-quant-type decoders read like the block layouts they implement.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace llmc::compiler {

class TargetInfo;

// The weight buffer (memref<N x i8>, 16-byte aligned) seen as 8-, 16- and 32-bit words. A view is
// null when N is not a multiple of its word size.
struct WeightViews {
  mlir::Value bytes;
  mlir::Value halves;  // memref<N/2 x i16>
  mlir::Value words;   // memref<N/4 x i32>
  mlir::Value f16s;    // memref<N/2 x f16>
};

class KernelIRBuilder {
 public:
  KernelIRBuilder(mlir::OpBuilder& builder, mlir::Location location) : b(builder), loc(location) {}

  mlir::OpBuilder& b;
  mlir::Location loc;

  // Constants.
  mlir::Value index(int64_t value);
  mlir::Value i32(int64_t value);
  mlir::Value f32(double value);
  mlir::Value zero(mlir::Type type);  // 0 of a scalar or vector type

  // Index arithmetic.
  mlir::Value add(mlir::Value a, mlir::Value c);
  mlir::Value add(mlir::Value a, int64_t c);
  mlir::Value mul(mlir::Value a, int64_t c);
  mlir::Value div(mlir::Value a, int64_t c);  // unsigned
  mlir::Value rem(mlir::Value a, int64_t c);  // unsigned
  mlir::Value minIndex(mlir::Value a, mlir::Value c);
  mlir::Value lessThan(mlir::Value a, mlir::Value c);  // unsigned compare of integers or index
  mlir::Value toI32(mlir::Value indexValue);
  mlir::Value toIndex(mlir::Value i32Value);

  // Integer arithmetic on scalars or vectors; `c` is splatted to the shape of `a`.
  mlir::Value andI(mlir::Value a, int64_t c);
  mlir::Value orI(mlir::Value a, mlir::Value c);
  mlir::Value shrU(mlir::Value a, int64_t c);
  mlir::Value shl(mlir::Value a, int64_t c);
  mlir::Value subI(mlir::Value a, int64_t c);
  mlir::Value constantLike(mlir::Value like, int64_t c);

  // Float arithmetic.
  mlir::Value addF(mlir::Value a, mlir::Value c);
  mlir::Value mulF(mlir::Value a, mlir::Value c);
  // The larger of two floats (or of each pair of lanes), the other where one is NaN: LLVM's
  // maxnum intrinsic itself. Not arith.maxnumf, which the GPU conversions may turn into a
  // libdevice or ocml call (__nv_fmaxf) that no kernel file links.
  mlir::Value maxF(mlir::Value a, mlir::Value c);
  mlir::Value subF(mlir::Value a, mlir::Value c);
  // Signed / unsigned integers (scalar or vector) to f32 of the same shape.
  mlir::Value sToF32(mlir::Value v);
  mlir::Value uToF32(mlir::Value v);
  mlir::Value splat(mlir::Value scalar, int64_t n);
  mlir::Value extU32(mlir::Value v);  // zero-extend a scalar or vector to i32 elements
  mlir::Value extS32(mlir::Value v);  // sign-extend
  // A vector whose lane i holds `start + i` as i32.
  mlir::Value iotaI32(mlir::Value start, int64_t n);

  // Loads from the weight buffer at a byte index. `align` is a power of two that the byte index
  // is known to be a multiple of; it picks the widest word loads that are legal.
  mlir::Value loadBytes(const WeightViews& w, mlir::Value byteIndex, int64_t n, int64_t align);  // vector<n x i8>
  mlir::Value loadU8(const WeightViews& w, mlir::Value byteIndex);                               // i32
  mlir::Value loadI8(const WeightViews& w, mlir::Value byteIndex);                               // i32
  mlir::Value loadU16(const WeightViews& w, mlir::Value byteIndex);                              // i32, byteIndex even
  mlir::Value loadU32(const WeightViews& w, mlir::Value byteIndex, int64_t align);               // i32, align >= 2
  mlir::Value loadF16(const WeightViews& w, mlir::Value byteIndex);                              // f32, byteIndex even
  // f32 values of a bf16 or f16 vector<n x i16>.
  mlir::Value bf16BitsToF32(mlir::Value bits);

  // A 1-D i8 buffer of `bytes` bytes (static, identity layout) seen as `element`s; null when the
  // size is not a whole number of them.
  mlir::Value viewAs(mlir::Value buffer, int64_t bytes, mlir::Type element);
  // Every view of a weight buffer the decoders use.
  WeightViews weightViews(mlir::Value buffer, int64_t bytes);
};

// Where the decoders find lookup tables (IQ4_NL / MXFP4 value grids): a callback that returns a
// memref<16 x f32> holding `values`, named `name`, in the kernel's symbol table.
using TableProvider = std::function<mlir::Value(KernelIRBuilder&, const std::string& name, const float (&values)[16])>;
// A provider that places each table as a memref.global constant in the symbol table of `scope`, in
// `memorySpace`, named after `kernelName` (kernels compiled apart end up side by side in one module).
TableProvider makeTableProvider(mlir::Operation* scope, mlir::Attribute memorySpace, const std::string& kernelName);

// Function attribute naming what a generated function is ("qmatvec", "quantize_q8", "qmatmul",
// or an op's mnemonic).
inline constexpr llvm::StringLiteral kKernelRoleAttr = "llmc.kernel";

// The gpu.module every lowering adds its kernels to, created on first use for `target`.
mlir::gpu::GPUModuleOp kernelModule(mlir::ModuleOp module, const TargetInfo& target);

// A gpu.func kernel named `name` at the builder's insertion point, marked with `role`, launched with
// `blockX` threads, its workgroup buffers placed 16-byte aligned (the emitters read and write them
// in vectors of up to 16 bytes, and LLVM merges neighbouring scalar accesses into such vectors).
mlir::gpu::GPUFuncOp createKernel(mlir::OpBuilder& b, mlir::Location loc, llvm::StringRef name,
                                  mlir::FunctionType type, mlir::TypeRange workgroup, llvm::StringRef role,
                                  int64_t blockX);

// Structured control flow, shared by the emitters.
using Values = llvm::SmallVector<mlir::Value>;
// scf.for from `lower` to `upper` by `step` carrying `inits`; `body` returns the values yielded.
Values forLoop(KernelIRBuilder& kb, mlir::Value lower, mlir::Value upper, mlir::Value step, mlir::ValueRange inits,
               const std::function<Values(KernelIRBuilder&, mlir::Value, mlir::ValueRange)>& body);
// scf.for without carried values.
void forEach(KernelIRBuilder& kb, mlir::Value lower, mlir::Value upper, mlir::Value step,
             const std::function<void(KernelIRBuilder&, mlir::Value)>& body);
// scf.if without results or else branch; `then` builds at the current builder, inside the branch.
void emitIf(KernelIRBuilder& kb, mlir::Value condition, const std::function<void()>& then);

}  // namespace llmc::compiler
