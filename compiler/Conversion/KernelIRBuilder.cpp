#include "KernelIRBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

#include "llmc/compiler/TargetInfo.h"

#include <algorithm>

namespace llmc::compiler {

using mlir::Value;

namespace {

mlir::Type elementTypeOf(mlir::Type type) {
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(type)) return vector.getElementType();
  return type;
}

mlir::Type withElementType(mlir::Type like, mlir::Type element) {
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(like)) return mlir::VectorType::get(vector.getShape(), element);
  return element;
}

}  // namespace

Value KernelIRBuilder::index(int64_t value) { return mlir::arith::ConstantIndexOp::create(b, loc, value); }

Value KernelIRBuilder::i32(int64_t value) { return mlir::arith::ConstantIntOp::create(b, loc, b.getI32Type(), value); }

Value KernelIRBuilder::f32(double value) {
  return mlir::arith::ConstantOp::create(b, loc, b.getF32FloatAttr(static_cast<float>(value)));
}

Value KernelIRBuilder::zero(mlir::Type type) {
  return mlir::arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
}

Value KernelIRBuilder::add(Value a, Value c) { return mlir::arith::AddIOp::create(b, loc, a, c); }
Value KernelIRBuilder::add(Value a, int64_t c) { return c == 0 ? a : add(a, constantLike(a, c)); }
Value KernelIRBuilder::mul(Value a, int64_t c) { return c == 1 ? a : mlir::arith::MulIOp::create(b, loc, a, constantLike(a, c)).getResult(); }
Value KernelIRBuilder::div(Value a, int64_t c) { return c == 1 ? a : mlir::arith::DivUIOp::create(b, loc, a, constantLike(a, c)).getResult(); }
Value KernelIRBuilder::rem(Value a, int64_t c) {
  return c == 1 ? constantLike(a, 0) : mlir::arith::RemUIOp::create(b, loc, a, constantLike(a, c)).getResult();
}
Value KernelIRBuilder::minIndex(Value a, Value c) { return mlir::arith::MinUIOp::create(b, loc, a, c); }
Value KernelIRBuilder::lessThan(Value a, Value c) {
  return mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::ult, a, c);
}
Value KernelIRBuilder::toI32(Value indexValue) {
  return mlir::arith::IndexCastUIOp::create(b, loc, b.getI32Type(), indexValue);
}
Value KernelIRBuilder::toIndex(Value i32Value) {
  return mlir::arith::IndexCastUIOp::create(b, loc, b.getIndexType(), i32Value);
}

Value KernelIRBuilder::constantLike(Value like, int64_t c) {
  mlir::Type type = like.getType();
  mlir::Type element = elementTypeOf(type);
  mlir::TypedAttr scalar;
  if (element.isIndex()) {
    scalar = b.getIndexAttr(c);
  } else {
    scalar = b.getIntegerAttr(element, c);
  }
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(type))
    return mlir::arith::ConstantOp::create(b, loc, type, mlir::DenseElementsAttr::get(vector, scalar));
  return mlir::arith::ConstantOp::create(b, loc, type, scalar);
}

Value KernelIRBuilder::andI(Value a, int64_t c) { return mlir::arith::AndIOp::create(b, loc, a, constantLike(a, c)); }
Value KernelIRBuilder::orI(Value a, Value c) { return mlir::arith::OrIOp::create(b, loc, a, c); }
Value KernelIRBuilder::shrU(Value a, int64_t c) {
  return c == 0 ? a : mlir::arith::ShRUIOp::create(b, loc, a, constantLike(a, c)).getResult();
}
Value KernelIRBuilder::shl(Value a, int64_t c) {
  return c == 0 ? a : mlir::arith::ShLIOp::create(b, loc, a, constantLike(a, c)).getResult();
}
Value KernelIRBuilder::subI(Value a, int64_t c) {
  return c == 0 ? a : mlir::arith::SubIOp::create(b, loc, a, constantLike(a, c)).getResult();
}

Value KernelIRBuilder::addF(Value a, Value c) { return mlir::arith::AddFOp::create(b, loc, a, c); }
Value KernelIRBuilder::maxF(Value a, Value c) { return mlir::LLVM::MaxNumOp::create(b, loc, a, c); }
Value KernelIRBuilder::mulF(Value a, Value c) { return mlir::arith::MulFOp::create(b, loc, a, c); }
Value KernelIRBuilder::subF(Value a, Value c) { return mlir::arith::SubFOp::create(b, loc, a, c); }

Value KernelIRBuilder::sToF32(Value v) {
  return mlir::arith::SIToFPOp::create(b, loc, withElementType(v.getType(), b.getF32Type()), v);
}
Value KernelIRBuilder::uToF32(Value v) {
  return mlir::arith::UIToFPOp::create(b, loc, withElementType(v.getType(), b.getF32Type()), v);
}

Value KernelIRBuilder::splat(Value scalar, int64_t n) {
  return mlir::vector::BroadcastOp::create(b, loc, mlir::VectorType::get({n}, scalar.getType()), scalar);
}

Value KernelIRBuilder::extU32(Value v) {
  if (elementTypeOf(v.getType()).getIntOrFloatBitWidth() == 32) return v;
  return mlir::arith::ExtUIOp::create(b, loc, withElementType(v.getType(), b.getI32Type()), v);
}
Value KernelIRBuilder::extS32(Value v) {
  if (elementTypeOf(v.getType()).getIntOrFloatBitWidth() == 32) return v;
  return mlir::arith::ExtSIOp::create(b, loc, withElementType(v.getType(), b.getI32Type()), v);
}

Value KernelIRBuilder::iotaI32(Value start, int64_t n) {
  auto type = mlir::VectorType::get({n}, b.getI32Type());
  llvm::SmallVector<int32_t> lanes(n);
  for (int64_t i = 0; i < n; ++i) lanes[i] = static_cast<int32_t>(i);
  Value steps = mlir::arith::ConstantOp::create(b, loc, type, mlir::DenseElementsAttr::get(type, llvm::ArrayRef(lanes)));
  return mlir::arith::AddIOp::create(b, loc, steps, splat(start, n));
}

Value KernelIRBuilder::loadBytes(const WeightViews& w, Value byteIndex, int64_t n, int64_t align) {
  auto bytesType = mlir::VectorType::get({n}, b.getI8Type());
  const int64_t alignment = std::min<int64_t>(align, std::min<int64_t>(n, 16));
  if (align >= 4 && n % 4 == 0 && w.words) {
    auto type = mlir::VectorType::get({n / 4}, b.getI32Type());
    Value v = mlir::vector::LoadOp::create(b, loc, type, w.words, mlir::ValueRange{div(byteIndex, 4)}, false,
                                           llvm::MaybeAlign(alignment));
    return mlir::vector::BitCastOp::create(b, loc, bytesType, v);
  }
  if (align == 2 && n % 4 == 0 && n >= 8 && w.words && w.halves) {
    // Only 2-byte aligned (blocks of 18, 34, 210 bytes): n / 4 aligned words from the word
    // boundary at or below the start, one 16-bit load for the last two bytes, and funnel shifts.
    // n / 4 + 1 loads instead of n / 2, which matters because the L1 lookups of these strided
    // loads, not DRAM, bound the mat-vec kernels. No byte outside [start, start + n) is read
    // except the two before an odd-halfword start, which lie inside the same buffer.
    Value misalign = rem(byteIndex, 4);  // 0 or 2
    Value wordIndex = div(mlir::arith::SubIOp::create(b, loc, byteIndex, misalign), 4);
    Value shift = shl(toI32(misalign), 3);  // 0 or 16 bits
    llvm::SmallVector<Value> words;
    for (int64_t i = 0; i < n / 4; ++i)
      words.push_back(mlir::memref::LoadOp::create(b, loc, w.words, mlir::ValueRange{add(wordIndex, i)}));
    words.push_back(loadU16(w, add(byteIndex, n - 2)));
    llvm::SmallVector<Value> out;
    for (int64_t i = 0; i < n / 4; ++i) {
      // Bytes [start + 4i, start + 4i + 4): word i alone when aligned, else the upper half of
      // word i and the lower half of word i + 1: the low word of (word i + 1 : word i) >> shift,
      // one funnel shift (shf.r on NVIDIA, v_alignbit on AMD, shrd on x86-64).
      out.push_back(mlir::LLVM::FshrOp::create(b, loc, words[i + 1], words[i], shift));
    }
    auto type = mlir::VectorType::get({n / 4}, b.getI32Type());
    Value v = mlir::vector::FromElementsOp::create(b, loc, type, out);
    return mlir::vector::BitCastOp::create(b, loc, bytesType, v);
  }
  if (align >= 2 && n % 2 == 0 && w.halves) {
    auto type = mlir::VectorType::get({n / 2}, b.getI16Type());
    Value v = mlir::vector::LoadOp::create(b, loc, type, w.halves, mlir::ValueRange{div(byteIndex, 2)}, false,
                                           llvm::MaybeAlign(alignment));
    return mlir::vector::BitCastOp::create(b, loc, bytesType, v);
  }
  return mlir::vector::LoadOp::create(b, loc, bytesType, w.bytes, mlir::ValueRange{byteIndex}, false,
                                      llvm::MaybeAlign(1));
}

Value KernelIRBuilder::loadU8(const WeightViews& w, Value byteIndex) {
  return extU32(mlir::memref::LoadOp::create(b, loc, w.bytes, mlir::ValueRange{byteIndex}));
}

Value KernelIRBuilder::loadI8(const WeightViews& w, Value byteIndex) {
  return extS32(mlir::memref::LoadOp::create(b, loc, w.bytes, mlir::ValueRange{byteIndex}));
}

Value KernelIRBuilder::loadU16(const WeightViews& w, Value byteIndex) {
  return extU32(mlir::memref::LoadOp::create(b, loc, w.halves, mlir::ValueRange{div(byteIndex, 2)}));
}

Value KernelIRBuilder::loadU32(const WeightViews& w, Value byteIndex, int64_t align) {
  if (align >= 4 && w.words) return mlir::memref::LoadOp::create(b, loc, w.words, mlir::ValueRange{div(byteIndex, 4)});
  Value low = loadU16(w, byteIndex);
  Value high = loadU16(w, add(byteIndex, 2));
  return orI(low, shl(high, 16));
}

Value KernelIRBuilder::loadF16(const WeightViews& w, Value byteIndex) {
  Value half = mlir::memref::LoadOp::create(b, loc, w.f16s, mlir::ValueRange{div(byteIndex, 2)});
  return mlir::arith::ExtFOp::create(b, loc, b.getF32Type(), half);
}

Value KernelIRBuilder::bf16BitsToF32(Value bits) {
  // A bfloat16 is the upper half of a float: widen and shift, exact for every pattern.
  Value wide = shl(extU32(bits), 16);
  return mlir::arith::BitcastOp::create(b, loc, withElementType(wide.getType(), b.getF32Type()), wide);
}

Value KernelIRBuilder::viewAs(Value buffer, int64_t bytes, mlir::Type element) {
  const int64_t size = element.getIntOrFloatBitWidth() / 8;
  if (bytes % size != 0) return {};
  auto source = llvm::cast<mlir::MemRefType>(buffer.getType());
  auto type = mlir::MemRefType::get({bytes / size}, element, mlir::MemRefLayoutAttrInterface(), source.getMemorySpace());
  return mlir::memref::ViewOp::create(b, loc, type, buffer, index(0), mlir::ValueRange{});
}

WeightViews KernelIRBuilder::weightViews(Value buffer, int64_t bytes) {
  return {buffer, viewAs(buffer, bytes, b.getI16Type()), viewAs(buffer, bytes, b.getI32Type()),
          viewAs(buffer, bytes, b.getF16Type())};
}

mlir::gpu::GPUModuleOp kernelModule(mlir::ModuleOp module, const TargetInfo& target) {
  constexpr llvm::StringLiteral kName = "llmc_kernels";
  if (auto existing = module.lookupSymbol<mlir::gpu::GPUModuleOp>(kName)) return existing;
  module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(), mlir::UnitAttr::get(module.getContext()));
  mlir::OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  return mlir::gpu::GPUModuleOp::create(b, module.getLoc(), kName,
                                        b.getArrayAttr({target.gpuTargetAttr(module.getContext())}));
}

mlir::gpu::GPUFuncOp createKernel(mlir::OpBuilder& b, mlir::Location loc, llvm::StringRef name,
                                  mlir::FunctionType type, mlir::TypeRange workgroup, llvm::StringRef role,
                                  int64_t blockX) {
  auto func = mlir::gpu::GPUFuncOp::create(b, loc, name, type, workgroup);
  func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func->setAttr(kKernelRoleAttr, b.getStringAttr(role));
  for (unsigned i = 0; i < workgroup.size(); ++i)
    func.setWorkgroupAttributionAttr(i, mlir::LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(16));
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(blockX), 1, 1}));
  return func;
}

Values forLoop(KernelIRBuilder& kb, mlir::Value lower, mlir::Value upper, mlir::Value step, mlir::ValueRange inits,
               const std::function<Values(KernelIRBuilder&, mlir::Value, mlir::ValueRange)>& body) {
  auto loop = mlir::scf::ForOp::create(
      kb.b, kb.loc, lower, upper, step, inits,
      [&](mlir::OpBuilder& b, mlir::Location loc, mlir::Value iv, mlir::ValueRange carried) {
        KernelIRBuilder inner(b, loc);
        mlir::scf::YieldOp::create(b, loc, body(inner, iv, carried));
      });
  return Values(loop.getResults().begin(), loop.getResults().end());
}

TableProvider makeTableProvider(mlir::Operation* scope, mlir::Attribute memorySpace, const std::string& kernelName) {
  return [scope, memorySpace, kernelName](KernelIRBuilder& kb, const std::string& table,
                                          const float (&values)[16]) -> Value {
    const std::string name = kernelName + "_" + table;
    auto type = mlir::MemRefType::get({16}, kb.b.getF32Type(), mlir::MemRefLayoutAttrInterface(), memorySpace);
    if (!mlir::SymbolTable::lookupSymbolIn(scope, name)) {
      mlir::OpBuilder::InsertionGuard guard(kb.b);
      kb.b.setInsertionPointToStart(&scope->getRegion(0).front());
      auto tensorType = mlir::RankedTensorType::get({16}, kb.b.getF32Type());
      auto init = mlir::DenseElementsAttr::get(tensorType, llvm::ArrayRef<float>(values, 16));
      mlir::memref::GlobalOp::create(kb.b, kb.loc, name, kb.b.getStringAttr("private"), type, init, true,
                                     kb.b.getI64IntegerAttr(64));
    }
    return mlir::memref::GetGlobalOp::create(kb.b, kb.loc, type, name);
  };
}

void forEach(KernelIRBuilder& kb, mlir::Value lower, mlir::Value upper, mlir::Value step,
             const std::function<void(KernelIRBuilder&, mlir::Value)>& body) {
  forLoop(kb, lower, upper, step, {}, [&](KernelIRBuilder& inner, mlir::Value iv, mlir::ValueRange) {
    body(inner, iv);
    return Values{};
  });
}

void emitIf(KernelIRBuilder& kb, mlir::Value condition, const std::function<void()>& then) {
  auto op = mlir::scf::IfOp::create(kb.b, kb.loc, condition, false);
  mlir::OpBuilder::InsertionGuard guard(kb.b);
  kb.b.setInsertionPointToStart(op.thenBlock());
  then();
}

}  // namespace llmc::compiler
