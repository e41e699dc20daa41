// Kernel bodies of the element-wise, row-wise, rotary, KV cache, embedding and attention ops,
// written once for every target.
//
// Row ops (rms_norm, softmax, argmax) walk a row in vectors of plan.vectorWidth values: on a GPU
// one workgroup per row, thread t taking vectors t, t + threads, ...; on a CPU the one thread takes
// them all. Per-lane results are combined by `Lanes::reduce`: butterfly shuffles within a warp, one
// value per warp through workgroup memory across warps, nothing on a CPU. Element-wise ops, rope
// and kv_store give each GPU thread one vector, pair or value; attention gives each workgroup a
// query row and head and each warp a share of the positions. The CPU function loops over a range
// of token rows.
#include "ElementwiseEmitter.h"

#include <cmath>
#include <functional>
#include <limits>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "KernelIRBuilder.h"
#include "KernelMath.h"
#include "QMatVecEmitter.h"
#include "QuantDecoders.h"

namespace llmc::compiler {

using mlir::Value;
using mlir::llmc::KvCacheType;
using mlir::llmc::RopeMode;

namespace {

using P = mlir::arith::CmpFPredicate;

constexpr int32_t kNoIndex = std::numeric_limits<int32_t>::max();

mlir::Type elementType(mlir::OpBuilder& b, const std::string& dtype) {
  if (dtype == "f16") return b.getF16Type();
  if (dtype == "i32") return b.getI32Type();
  if (dtype == "i8") return b.getI8Type();
  if (dtype == "i64") return b.getI64Type();
  return b.getF32Type();
}

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

void emitIfElse(KernelIRBuilder& kb, Value condition, const std::function<void()>& then,
                const std::function<void()>& otherwise) {
  auto op = mlir::scf::IfOp::create(kb.b, kb.loc, condition, true);
  mlir::OpBuilder::InsertionGuard guard(kb.b);
  kb.b.setInsertionPointToStart(op.thenBlock());
  then();
  kb.b.setInsertionPointToStart(op.elseBlock());
  otherwise();
}

Value cmpF(KernelIRBuilder& kb, P predicate, Value a, Value c) {
  return mlir::arith::CmpFOp::create(kb.b, kb.loc, predicate, a, c);
}
Value cmpI(KernelIRBuilder& kb, mlir::arith::CmpIPredicate predicate, Value a, Value c) {
  return mlir::arith::CmpIOp::create(kb.b, kb.loc, predicate, a, c);
}
Value select(KernelIRBuilder& kb, Value condition, Value a, Value c) {
  return mlir::arith::SelectOp::create(kb.b, kb.loc, condition, a, c);
}
Value orI1(KernelIRBuilder& kb, Value a, Value c) { return mlir::arith::OrIOp::create(kb.b, kb.loc, a, c); }
Value andI1(KernelIRBuilder& kb, Value a, Value c) { return mlir::arith::AndIOp::create(kb.b, kb.loc, a, c); }
Value divF(KernelIRBuilder& kb, Value a, Value c) { return mlir::arith::DivFOp::create(kb.b, kb.loc, a, c); }
Value isZeroIndex(KernelIRBuilder& kb, Value v) { return cmpI(kb, mlir::arith::CmpIPredicate::eq, v, kb.index(0)); }

mlir::VectorType f32Vector(KernelIRBuilder& kb, int64_t n) { return mlir::VectorType::get({n}, kb.b.getF32Type()); }

// vector<n x f32> at `indices` of an f32 buffer whose last dimension is a multiple of n.
Value loadF32(KernelIRBuilder& kb, Value buffer, mlir::ValueRange indices, int64_t n) {
  return mlir::vector::LoadOp::create(kb.b, kb.loc, f32Vector(kb, n), buffer, indices, false,
                                      llvm::MaybeAlign(std::min<int64_t>(4 * n, 16)));
}

void storeVector(KernelIRBuilder& kb, Value value, Value buffer, mlir::ValueRange indices) {
  auto type = llvm::cast<mlir::VectorType>(value.getType());
  const int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
  mlir::vector::StoreOp::create(kb.b, kb.loc, value, buffer, indices, false,
                                llvm::MaybeAlign(std::min<int64_t>(bytes, 16)));
}

Value reduceVector(KernelIRBuilder& kb, mlir::vector::CombiningKind kind, Value vector) {
  return mlir::vector::ReductionOp::create(kb.b, kb.loc, kind, vector);
}

Value splatF(KernelIRBuilder& kb, Value scalar, int64_t n) { return kb.splat(scalar, n); }

// A constant f32 table in the symbol table of `scope` (the gpu.module or the module), in
// `memorySpace`; kernels compiled apart are linked side by side, so names carry the kernel's.
Value constantTable(KernelIRBuilder& kb, mlir::Operation* scope, mlir::Attribute memorySpace, const std::string& name,
                    llvm::ArrayRef<float> values) {
  auto type = mlir::MemRefType::get({static_cast<int64_t>(values.size())}, kb.b.getF32Type(),
                                    mlir::MemRefLayoutAttrInterface(), memorySpace);
  if (!mlir::SymbolTable::lookupSymbolIn(scope, name)) {
    mlir::OpBuilder::InsertionGuard guard(kb.b);
    kb.b.setInsertionPointToStart(&scope->getRegion(0).front());
    auto tensorType = mlir::RankedTensorType::get({static_cast<int64_t>(values.size())}, kb.b.getF32Type());
    mlir::memref::GlobalOp::create(kb.b, kb.loc, name, kb.b.getStringAttr("private"), type,
                                   mlir::DenseElementsAttr::get(tensorType, values), true, kb.b.getI64IntegerAttr(64));
  }
  return mlir::memref::GetGlobalOp::create(kb.b, kb.loc, type, name);
}

//===----------------------------------------------------------------------===//
// Lanes: who walks a row, and how their partial results are combined.
//===----------------------------------------------------------------------===//

using Combine = std::function<Value(KernelIRBuilder&, Value, Value)>;

// argmax's order: a larger value wins, equal values go to the lower index; NaN never wins (its
// comparisons are false), and kNoIndex (no value seen) loses to every real index.
struct Candidate {
  Value value;
  Value index;
};

Candidate better(KernelIRBuilder& kb, Candidate a, Candidate c) {
  Value greater = cmpF(kb, P::OGT, c.value, a.value);
  Value tie =
      andI1(kb, cmpF(kb, P::OEQ, c.value, a.value), cmpI(kb, mlir::arith::CmpIPredicate::slt, c.index, a.index));
  Value take = orI1(kb, greater, tie);
  return {select(kb, take, c.value, a.value), select(kb, take, c.index, a.index)};
}

// The most vectors of a row a GPU lane walks unrolled (Lanes::walk).
constexpr int64_t kUnrolledSteps = 8;

// `value`, or `otherwise` where `inRow` (Lanes::walk) is false.
Value inRowOr(KernelIRBuilder& kb, Value inRow, Value value, Value otherwise) {
  return inRow ? select(kb, inRow, value, otherwise) : value;
}

// Stores `value` unless `inRow` (Lanes::walk) is false.
void storeInRow(KernelIRBuilder& kb, Value inRow, Value value, Value buffer, mlir::ValueRange indices) {
  if (!inRow) return storeVector(kb, value, buffer, indices);
  emitIf(kb, inRow, [&] { storeVector(kb, value, buffer, indices); });
}

class Lanes {
 public:
  // The single lane of a CPU function.
  explicit Lanes(int64_t vectorWidth) : vectorWidth_(vectorWidth) {}
  // The `threads` threads of a GPU workgroup; `scratch` holds one memref<warps x f32|i32> per
  // reduction slot (none with a single warp).
  Lanes(const TargetInfo& target, Value thread, int64_t threads, int64_t vectorWidth, llvm::ArrayRef<Value> scratch)
      : target_(&target), thread_(thread), threads_(threads), vectorWidth_(vectorWidth), scratch_(scratch) {}

  Value first(KernelIRBuilder& kb) const { return target_ ? kb.mul(thread_, vectorWidth_) : kb.index(0); }
  Value stride(KernelIRBuilder& kb) const { return kb.index(strideValues()); }
  int64_t strideValues() const { return (target_ ? threads_ : 1) * vectorWidth_; }
  // The most vectors one lane takes from a row of `width` values.
  int64_t steps(int64_t width) const { return (width + strideValues() - 1) / strideValues(); }
  // Whether walk(width, ...) is straight-line code: each step's body runs once, in order.
  bool unrolls(int64_t width) const { return target_ && steps(width) <= kUnrolledSteps; }
  bool isGpu() const { return target_ != nullptr; }
  Value thread() const { return thread_; }

  // This lane's vectors of a row of `width` values (columns first, first + stride, ... < width)
  // in order, carrying `inits`; `body` gets the column and returns the carried values. A GPU lane
  // walks them unrolled, kUnrolledSteps at a time, so that their loads issue back to back rather
  // than a loop trip's latency apart (GPUs issue in order, and the NVPTX pipeline left such loops
  // rolled: a 4096-wide rms_norm waited for eight loads one after another). Where a step is not in the row for every lane (the row's last,
  // partial round; every step of a loop over longer rows) `inRow` says whether this lane's
  // column is in the row, and the column given is clamped to the row's last vector so that loads
  // stay in bounds: the body discards what it computed there (select) and guards its stores.
  // Elsewhere `inRow` is null. A CPU's single lane loops.
  Values walk(KernelIRBuilder& kb, int64_t width, mlir::ValueRange inits,
              const std::function<Values(KernelIRBuilder&, Value col, Value inRow, mlir::ValueRange)>& body) const {
    if (!target_)
      return forLoop(kb, first(kb), kb.index(width), stride(kb), inits,
                     [&](KernelIRBuilder& ikb, Value col, mlir::ValueRange carried) {
                       return body(ikb, col, Value(), carried);
                     });
    // Steps `count` from column `start`; `whole` steps known to be in the row for every lane.
    auto unrolled = [&](KernelIRBuilder& ikb, Value start, int64_t count, int64_t whole, Values carried) {
      for (int64_t step = 0; step < count; ++step) {
        Value col = ikb.add(start, step * strideValues());
        if (step < whole) {
          carried = body(ikb, col, Value(), carried);
          continue;
        }
        Value inRow = cmpI(ikb, mlir::arith::CmpIPredicate::ult, col, ikb.index(width));
        carried = body(ikb, ikb.minIndex(col, ikb.index(width - vectorWidth_)), inRow, carried);
      }
      return carried;
    };
    if (unrolls(width))
      return unrolled(kb, first(kb), steps(width), width / strideValues(), Values(inits.begin(), inits.end()));
    return forLoop(kb, first(kb), kb.index(width), kb.index(kUnrolledSteps * strideValues()), inits,
                   [&](KernelIRBuilder& ikb, Value start, mlir::ValueRange carried) {
                     return unrolled(ikb, start, kUnrolledSteps, 0, Values(carried.begin(), carried.end()));
                   });
  }

  // Every lane's `value` combined; every lane gets the result.
  Value reduce(KernelIRBuilder& kb, Value value, const Combine& combine, unsigned slot) const {
    if (!target_) return value;
    const int warp = target_->warpSize();
    for (int offset = warp / 2; offset >= 1; offset /= 2)
      value = combine(kb, value, target_->shuffleXor(kb.b, kb.loc, value, offset));
    if (threads_ == warp) return value;
    return acrossWarps(kb, {value}, slot,
                       [&](KernelIRBuilder& ikb, Values a, Values c) { return Values{combine(ikb, a[0], c[0])}; })[0];
  }

  Candidate reduceArgMax(KernelIRBuilder& kb, Candidate value, unsigned valueSlot, unsigned indexSlot) const {
    if (!target_) return value;
    const int warp = target_->warpSize();
    for (int offset = warp / 2; offset >= 1; offset /= 2) {
      Candidate other{target_->shuffleXor(kb.b, kb.loc, value.value, offset),
                      target_->shuffleXor(kb.b, kb.loc, value.index, offset)};
      value = better(kb, value, other);
    }
    if (threads_ == warp) return value;
    Values both = acrossWarps(
        kb, {value.value, value.index}, valueSlot,
        [&](KernelIRBuilder& ikb, Values a, Values c) {
          Candidate r = better(ikb, {a[0], a[1]}, {c[0], c[1]});
          return Values{r.value, r.index};
        },
        indexSlot);
    return {both[0], both[1]};
  }

 private:
  // Lane 0 of each warp stores its warp's values (one per slot), then every thread combines them
  // in warp order. Each reduction has its own slots, so no second barrier is needed.
  Values acrossWarps(KernelIRBuilder& kb, Values values, unsigned slot,
                     const std::function<Values(KernelIRBuilder&, Values, Values)>& combine,
                     unsigned secondSlot = 0) const {
    const int warp = target_->warpSize();
    const int64_t warps = threads_ / warp;
    llvm::SmallVector<Value> buffers = {scratch_[slot]};
    if (values.size() > 1) buffers.push_back(scratch_[secondSlot]);
    Value warpIndex = kb.div(thread_, warp);
    emitIf(kb, isZeroIndex(kb, kb.rem(thread_, warp)), [&] {
      for (size_t i = 0; i < values.size(); ++i)
        mlir::memref::StoreOp::create(kb.b, kb.loc, values[i], buffers[i], mlir::ValueRange{warpIndex});
    });
    mlir::gpu::BarrierOp::create(kb.b, kb.loc);
    auto loadWarp = [&](int64_t w) {
      Values loaded;
      for (Value buffer : buffers)
        loaded.push_back(mlir::memref::LoadOp::create(kb.b, kb.loc, buffer, mlir::ValueRange{kb.index(w)}));
      return loaded;
    };
    Values result = loadWarp(0);
    for (int64_t w = 1; w < warps; ++w) result = combine(kb, result, loadWarp(w));
    return result;
  }

  const TargetInfo* target_ = nullptr;
  Value thread_;
  int64_t threads_ = 1;
  int64_t vectorWidth_ = 1;
  llvm::SmallVector<Value> scratch_;
};

Value addCombine(KernelIRBuilder& kb, Value a, Value c) { return kb.addF(a, c); }
Value maxCombine(KernelIRBuilder& kb, Value a, Value c) { return kb.maxF(a, c); }

//===----------------------------------------------------------------------===//
// Op bodies. `args` are the kernel's parameters in the plan's order.
//===----------------------------------------------------------------------===//

class OpBodies {
 public:
  OpBodies(const OpPlan& plan, mlir::Operation* scope, mlir::Attribute tableSpace)
      : plan_(plan), spec_(plan.spec), scope_(scope), tableSpace_(tableSpace) {}

  // This lane's sum over its vectors of the row of term(col), as one f32. A lane with many
  // vectors (a CPU on a long row) sums them in blocks of kSumBlock and then adds the blocks' sums,
  // so that the rounding error grows with the block length plus the number of blocks, not with
  // the row: 1e-7 instead of 3e-6 relative over a 32000-value softmax row.
  // `term` gets a column and `inRow` as Lanes::walk gives them; what it returns where `inRow` is
  // false is not counted.
  Value laneSum(KernelIRBuilder& kb, const Lanes& lanes,
                const std::function<Value(KernelIRBuilder&, Value, Value)>& term) const {
    constexpr int64_t kSumBlock = 32;
    const int64_t v = plan_.vectorWidth;
    const int64_t W = spec_.width;
    Value zero = kb.zero(f32Vector(kb, v));
    auto sumRange = [&](KernelIRBuilder& ikb, Value first, Value end) {
      return forLoop(ikb, first, end, lanes.stride(ikb), {zero},
                     [&](KernelIRBuilder& jkb, Value col, mlir::ValueRange carried) {
                       return Values{jkb.addF(carried[0], term(jkb, col, Value()))};
                     })[0];
    };
    Value total;
    if (lanes.steps(W) <= 2 * kSumBlock) {
      total = lanes.walk(kb, W, {zero}, [&](KernelIRBuilder& ikb, Value col, Value inRow, mlir::ValueRange carried) {
        return Values{ikb.addF(carried[0], inRowOr(ikb, inRow, term(ikb, col, inRow), zero))};
      })[0];
    } else {
      Value blockSpan = kb.mul(lanes.stride(kb), kSumBlock);
      total = forLoop(kb, lanes.first(kb), kb.index(W), blockSpan, {zero},
                      [&](KernelIRBuilder& ikb, Value first, mlir::ValueRange carried) {
                        Value end = ikb.minIndex(ikb.add(first, blockSpan), ikb.index(W));
                        return Values{ikb.addF(carried[0], sumRange(ikb, first, end))};
                      })[0];
    }
    return reduceVector(kb, mlir::vector::CombiningKind::ADD, total);
  }

  // rms_norm of `row`: out = x / sqrt(mean(x^2) + eps) * weight. Where the lane's walk is
  // straight-line code (Lanes::unrolls) and nothing is quantized, the first pass also loads the
  // weights and keeps both in registers, so that the second pass only scales and stores: no load
  // waits behind the reduction.
  void rmsNormRow(KernelIRBuilder& kb, const Lanes& lanes, mlir::ValueRange args, Value row) const {
    const int64_t v = plan_.vectorWidth;
    Value x = args[0], weight = args[1], out = args[2];
    const bool keep = lanes.unrolls(spec_.width) && !spec_.quantize;
    struct Kept {
      Value col, inRow, x, weight;
    };
    llvm::SmallVector<Kept> kept;
    Value squares = laneSum(kb, lanes, [&](KernelIRBuilder& ikb, Value col, Value inRow) {
      Value xv = loadF32(ikb, x, {row, col}, v);
      if (keep) kept.push_back({col, inRow, xv, loadF32(ikb, weight, {col}, v)});
      return ikb.mulF(xv, xv);
    });
    Value sum = lanes.reduce(kb, squares, addCombine, 0);
    Value mean = divF(kb, sum, kb.f32(static_cast<double>(spec_.width)));
    Value scale = divF(kb, kb.f32(1.0), squareRoot(kb, kb.addF(mean, kb.f32(spec_.eps))));
    if (spec_.quantize) {
      quantizedRmsNormRow(kb, lanes, args, row, scale);
      return;
    }
    auto store = [&](KernelIRBuilder& ikb, Value col, Value inRow, Value xv, Value wv) {
      storeInRow(ikb, inRow, ikb.mulF(ikb.mulF(xv, splatF(ikb, scale, v)), wv), out, {row, col});
    };
    if (keep) {
      for (const Kept& k : kept) store(kb, k.col, k.inRow, k.x, k.weight);
      return;
    }
    lanes.walk(kb, spec_.width, {}, [&](KernelIRBuilder& ikb, Value col, Value inRow, mlir::ValueRange) {
      Value xv = loadF32(ikb, x, {row, col}, v);
      store(ikb, col, inRow, xv, loadF32(ikb, weight, {col}, v));
      return Values{};
    });
  }

  // rms_norm's second pass with q8: each lane takes whole blocks of 32 values (lanes are not
  // always whole warps' worth of a block, so no shuffles), writes them normalized to out and
  // quantized to q8 (codes of row t at t x W, a (d, d x sum) pair per block after all codes).
  void quantizedRmsNormRow(KernelIRBuilder& kb, const Lanes& lanes, mlir::ValueRange args, Value row,
                           Value scale) const {
    const int64_t W = spec_.width;
    const int64_t values = spec_.tokens * W;
    const int64_t bytes = values + values / 4;
    Value x = args[0], weight = args[1], out = args[2];
    Value codes = args[3];
    Value pairs = kb.viewAs(codes, bytes, kb.b.getF32Type());
    const int64_t laneCount = lanes.strideValues() / plan_.vectorWidth;
    Value lane = lanes.isGpu() ? lanes.thread() : kb.index(0);
    forEach(kb, lane, kb.index(W / 32), kb.index(laneCount), [&](KernelIRBuilder& ikb, Value block) {
      Value col = ikb.mul(block, 32);
      Value y = ikb.mulF(ikb.mulF(loadF32(ikb, x, {row, col}, 32), splatF(ikb, scale, 32)),
                         loadF32(ikb, weight, {col}, 32));
      storeVector(ikb, y, out, {row, col});
      QuantizedBlock32 q = quantizeBlock32(ikb, y);
      storeVector(ikb, q.codes, codes, {ikb.add(ikb.mul(row, W), col)});
      Value pair = ikb.add(ikb.mul(ikb.add(ikb.mul(row, W / 32), block), 2), values / 4);
      mlir::memref::StoreOp::create(ikb.b, ikb.loc, q.scale, pairs, mlir::ValueRange{pair});
      mlir::memref::StoreOp::create(ikb.b, ikb.loc, q.scaledSum, pairs, mlir::ValueRange{ikb.add(pair, 1)});
    });
  }

  // softmax of `row`: e = exp(scale (x - max x)), out = e / sum e. Three passes over the row; the
  // second writes e to out and the third rescales what the same lane wrote, so out may be x.
  void softmaxRow(KernelIRBuilder& kb, const Lanes& lanes, mlir::ValueRange args, Value row) const {
    const int64_t v = plan_.vectorWidth;
    Value x = args[0], out = args[1];
    Value lowest = floatLike(kb, kb.zero(f32Vector(kb, v)), -std::numeric_limits<float>::infinity());
    Values maxAcc = lanes.walk(kb, spec_.width, {lowest},
                               [&](KernelIRBuilder& ikb, Value col, Value inRow, mlir::ValueRange carried) {
                                 Value xv = inRowOr(ikb, inRow, loadF32(ikb, x, {row, col}, v), lowest);
                                 return Values{ikb.maxF(carried[0], xv)};
                               });
    Value maximum = lanes.reduce(kb, reduceVector(kb, mlir::vector::CombiningKind::MAXNUMF, maxAcc[0]), maxCombine, 0);
    Value maxVector = splatF(kb, maximum, v);
    Value exponentials = laneSum(kb, lanes, [&](KernelIRBuilder& ikb, Value col, Value inRow) {
      Value shifted = ikb.subF(loadF32(ikb, x, {row, col}, v), maxVector);
      if (spec_.scale != 1.0f) shifted = ikb.mulF(shifted, floatLike(ikb, shifted, spec_.scale));
      Value e = exp(ikb, shifted);
      storeInRow(ikb, inRow, e, out, {row, col});
      return e;
    });
    Value sum = lanes.reduce(kb, exponentials, addCombine, 1);
    Value inverse = splatF(kb, divF(kb, kb.f32(1.0), sum), v);
    lanes.walk(kb, spec_.width, {}, [&](KernelIRBuilder& ikb, Value col, Value inRow, mlir::ValueRange) {
      storeInRow(ikb, inRow, ikb.mulF(loadF32(ikb, out, {row, col}, v), inverse), out, {row, col});
      return Values{};
    });
  }

  // argmax of `row` as i32 (0 for a row without a number).
  Value argMaxRow(KernelIRBuilder& kb, const Lanes& lanes, mlir::ValueRange args, Value row) const {
    const int64_t v = plan_.vectorWidth;
    Value logits = args[0];
    auto indexType = mlir::VectorType::get({v}, kb.b.getI32Type());
    Value lowest = floatLike(kb, kb.zero(f32Vector(kb, v)), -std::numeric_limits<float>::infinity());
    Value none = kb.constantLike(kb.zero(indexType), kNoIndex);
    // A column outside the row (Lanes::walk) is seen as no value at all: -inf at kNoIndex.
    Values best = lanes.walk(kb, spec_.width, {lowest, none},
                             [&](KernelIRBuilder& ikb, Value col, Value inRow, mlir::ValueRange carried) {
                               Candidate seen{inRowOr(ikb, inRow, loadF32(ikb, logits, {row, col}, v), lowest),
                                              inRowOr(ikb, inRow, ikb.iotaI32(ikb.toI32(col), v), none)};
                               Candidate kept = better(ikb, {carried[0], carried[1]}, seen);
                               return Values{kept.value, kept.index};
                             });
    auto laneOf = [&](Value vector, int64_t i) {
      return mlir::vector::ExtractOp::create(kb.b, kb.loc, vector, llvm::ArrayRef<int64_t>{i}).getResult();
    };
    Candidate winner{laneOf(best[0], 0), laneOf(best[1], 0)};
    for (int64_t i = 1; i < v; ++i) winner = better(kb, winner, {laneOf(best[0], i), laneOf(best[1], i)});
    winner = lanes.reduceArgMax(kb, winner, 0, 1);
    Value found = cmpI(kb, mlir::arith::CmpIPredicate::ne, winner.index, kb.i32(kNoIndex));
    return select(kb, found, winner.index, kb.i32(0));
  }

  // add, mul, swiglu of the vector at (row, col).
  void elementwise(KernelIRBuilder& kb, mlir::ValueRange args, Value row, Value col) const {
    const int64_t v = plan_.vectorWidth;
    Value a = loadF32(kb, args[0], {row, col}, v);
    Value c = spec_.broadcast ? loadF32(kb, args[1], {col}, v) : loadF32(kb, args[1], {row, col}, v);
    Value result;
    switch (spec_.kind) {
      case OpKind::Add: result = kb.addF(a, c); break;
      case OpKind::Mul: result = kb.mulF(a, c); break;
      default: {
        // silu(gate) * up = gate / (1 + e^-gate) * up; e^-gate overflowing to +inf gives -0.
        Value denominator = kb.addF(floatLike(kb, a, 1.0), exp(kb, mlir::arith::NegFOp::create(kb.b, kb.loc, a)));
        result = kb.mulF(divF(kb, a, denominator), c);
        break;
      }
    }
    storeVector(kb, result, args[2], {row, col});
  }

  // The angle position x freq_j as two floats (the product's rounding error in the second),
  // then its sine and cosine.
  SinCos ropeAngle(KernelIRBuilder& kb, Value position, Value j) const {
    Value table = frequencyTable(kb);
    Value hi = mlir::memref::LoadOp::create(kb.b, kb.loc, table, mlir::ValueRange{kb.mul(j, 2)});
    Value lo = mlir::memref::LoadOp::create(kb.b, kb.loc, table, mlir::ValueRange{kb.add(kb.mul(j, 2), 1)});
    Value productHi = kb.mulF(position, hi);
    Value productError = fusedMulAdd(kb, position, hi, mlir::arith::NegFOp::create(kb.b, kb.loc, productHi));
    return sinCos(kb, productHi, fusedMulAdd(kb, position, lo, productError));
  }

  Value positionOf(KernelIRBuilder& kb, Value positions, Value t) const {
    return kb.sToF32(mlir::memref::LoadOp::create(kb.b, kb.loc, positions, mlir::ValueRange{t}));
  }

  // Rotates pair j of the head starting at column `head` of row t: (x[a], x[b]) with a = 2j,
  // b = 2j + 1 (norm) or a = j, b = j + dims/2 (neox).
  void ropeRotate(KernelIRBuilder& kb, mlir::ValueRange args, Value t, Value head, Value j, const SinCos& angle) const {
    Value x = args[0], out = args[2];
    const bool neox = spec_.ropeMode == RopeMode::Neox;
    Value a = kb.add(head, neox ? j : kb.mul(j, 2));
    Value b = neox ? kb.add(a, spec_.ropeDims / 2) : kb.add(a, 1);
    Value x0 = mlir::memref::LoadOp::create(kb.b, kb.loc, x, mlir::ValueRange{t, a});
    Value x1 = mlir::memref::LoadOp::create(kb.b, kb.loc, x, mlir::ValueRange{t, b});
    Value o0 = kb.subF(kb.mulF(x0, angle.cos), kb.mulF(x1, angle.sin));
    Value o1 = kb.addF(kb.mulF(x0, angle.sin), kb.mulF(x1, angle.cos));
    mlir::memref::StoreOp::create(kb.b, kb.loc, o0, out, mlir::ValueRange{t, a});
    mlir::memref::StoreOp::create(kb.b, kb.loc, o1, out, mlir::ValueRange{t, b});
  }

  void copyValue(KernelIRBuilder& kb, mlir::ValueRange args, Value t, Value col) const {
    Value value = mlir::memref::LoadOp::create(kb.b, kb.loc, args[0], mlir::ValueRange{t, col});
    mlir::memref::StoreOp::create(kb.b, kb.loc, value, args[2], mlir::ValueRange{t, col});
  }

  // embed: dequantizes lane step `s` of table row ids[t] into out[t].
  void embedSlice(KernelIRBuilder& kb, const QuantDecoder& decoder, const WeightViews& table, Value out, Value t,
                  Value rowStart, Value s) const {
    const int64_t S = decoder.slicesPerBlock();
    Value block = kb.div(s, S);
    Value part = kb.rem(s, S);
    Values values = decoder.dequantize(kb, table, BlockRef{rowStart, block}, part);
    Value blockFirst = kb.mul(block, decoder.blockValues());
    for (size_t g = 0; g < values.size(); ++g)
      storeVector(kb, values[g], out, {t, kb.add(blockFirst, decoder.groupOffset(kb, part, static_cast<int>(g)))});
  }

  std::unique_ptr<QuantDecoder> embedDecoder() const {
    const OpPlan& plan = plan_;
    mlir::Operation* scope = scope_;
    mlir::Attribute space = tableSpace_;
    TableProvider tables = [&plan, scope, space](KernelIRBuilder& kb, const std::string& name,
                                                 const float(&values)[16]) {
      return constantTable(kb, scope, space, plan.kernelName + "_" + name, llvm::ArrayRef<float>(values, 16));
    };
    return makeQuantDecoder(spec_.quant, plan_.laneBytes, spec_.width, tables, plan_.spec.layout);
  }

  Value tableRowStart(KernelIRBuilder& kb, Value ids, Value t) const {
    Value id = mlir::memref::LoadOp::create(kb.b, kb.loc, ids, mlir::ValueRange{t});
    return kb.mul(kb.toIndex(id), plan_.rowBytes);
  }

  // Byte offset of block `block` of cache row `position`.
  Value cacheBlockStart(KernelIRBuilder& kb, Value position, Value block) const {
    const int64_t blockBytes = mlir::llmc::getBytesPerBlock(mlir::llmc::getStorageType(spec_.cache));
    return kb.add(kb.mul(position, plan_.cacheRowBytes), kb.mul(block, blockBytes));
  }

  void storeBlockScale(KernelIRBuilder& kb, Value cacheHalves, Value blockStart, Value d) const {
    Value half = mlir::arith::TruncFOp::create(kb.b, kb.loc, kb.b.getF16Type(), d);
    mlir::memref::StoreOp::create(kb.b, kb.loc, half, cacheHalves, mlir::ValueRange{kb.div(blockStart, 2)});
  }

  // attention: positions row t sees, n_past + T (decode) or n_past + t + 1 (causal).
  Value attentionPositions(KernelIRBuilder& kb, Value nPast, Value t) const {
    Value past = mlir::arith::IndexCastOp::create(kb.b, kb.loc, kb.b.getIndexType(), nPast);
    return spec_.causal ? kb.add(kb.add(past, t), 1) : kb.add(past, spec_.tokens);
  }

  // n f16 values of cache row `position` from `column`, as f32.
  Value loadHalves(KernelIRBuilder& kb, Value cache, Value position, Value column, int64_t n) const {
    Value halves = mlir::vector::LoadOp::create(kb.b, kb.loc, mlir::VectorType::get({n}, kb.b.getF16Type()), cache,
                                                mlir::ValueRange{position, column}, false,
                                                llvm::MaybeAlign(std::min<int64_t>(2 * n, 16)));
    return mlir::arith::ExtFOp::create(kb.b, kb.loc, f32Vector(kb, n), halves);
  }

  // One score s folded into a running softmax (maximum m, sum l): m' = max(m, s), and the factors
  // e^(m - m') for what was accumulated and e^(s - m') for the new position (0 and 1 while m is
  // still -inf, as e^-inf is 0).
  struct SoftmaxStep {
    Value maximum;
    Value sum;
    Value rescale;
    Value weight;
  };
  static SoftmaxStep softmaxStep(KernelIRBuilder& kb, Value maximum, Value sum, Value score) {
    SoftmaxStep step;
    step.maximum = kb.maxF(maximum, score);
    step.rescale = exp(kb, kb.subF(maximum, step.maximum));
    step.weight = exp(kb, kb.subF(score, step.maximum));
    step.sum = fusedMulAdd(kb, sum, step.rescale, step.weight);
    return step;
  }

  const OpPlan& plan() const { return plan_; }

 private:
  // [hi_0, lo_0, hi_1, lo_1, ...]: freq_j = freq_base^(-2j / dims) in double, split into the
  // nearest float and the float nearest to the remainder.
  Value frequencyTable(KernelIRBuilder& kb) const {
    std::vector<float> values;
    for (int64_t j = 0; j < spec_.ropeDims / 2; ++j) {
      const double frequency =
          std::pow(static_cast<double>(spec_.freqBase), -2.0 * static_cast<double>(j) / spec_.ropeDims);
      const auto hi = static_cast<float>(frequency);
      values.push_back(hi);
      values.push_back(static_cast<float>(frequency - hi));
    }
    return constantTable(kb, scope_, tableSpace_, plan_.kernelName + "_freq", values);
  }

  const OpPlan& plan_;
  const OpSpec& spec_;
  mlir::Operation* scope_;
  mlir::Attribute tableSpace_;
};

//===----------------------------------------------------------------------===//
// Quantizing one cache block on a GPU: one value per lane, 32 consecutive lanes per block.
//===----------------------------------------------------------------------===//

// Butterfly over the 32 lanes of a block (xor offsets below 32 never leave it, on wave64 too).
Value blockLanes(KernelIRBuilder& kb, const TargetInfo& target, Value value, const Combine& combine) {
  for (int offset = 16; offset >= 1; offset /= 2)
    value = combine(kb, value, target.shuffleXor(kb.b, kb.loc, value, offset));
  return value;
}

// q8_0 as ggml's quantize_row_q8_0_ref: d = amax / 127, code = roundf(x / d) (x times 1/d).
struct BlockCode {
  Value code;  // i32
  Value d;
};

Value inverseOrZero(KernelIRBuilder& kb, Value d) {
  Value zero = cmpF(kb, P::OEQ, d, floatLike(kb, d, 0.0));
  return select(kb, zero, floatLike(kb, d, 0.0), divF(kb, floatLike(kb, d, 1.0), d));
}

BlockCode quantizeQ8Lane(KernelIRBuilder& kb, const TargetInfo& target, Value x) {
  Value amax = blockLanes(kb, target, absF(kb, x), maxCombine);
  Value d = divF(kb, amax, kb.f32(127.0));
  return {roundHalfAwayToI32(kb, kb.mulF(x, inverseOrZero(kb, d))), d};
}

// q4_0 as ggml's quantize_row_q4_0_ref: m is the block's value of largest magnitude (the first of
// equals), d = m / -8, and a value's code min(15, trunc(x / d + 8.5)), as i32 (scalar or vector).
Value q4Nibble(KernelIRBuilder& kb, Value x, Value inverse) {
  Value shifted = kb.addF(kb.mulF(x, inverse), floatLike(kb, x, 8.5));
  mlir::Type i32 = kb.b.getI32Type();
  if (auto vector = llvm::dyn_cast<mlir::VectorType>(x.getType())) i32 = mlir::VectorType::get(vector.getShape(), i32);
  Value truncated = mlir::arith::FPToSIOp::create(kb.b, kb.loc, i32, shifted);
  return mlir::arith::MinSIOp::create(kb.b, kb.loc, truncated, kb.constantLike(truncated, 15));
}

//===----------------------------------------------------------------------===//
// GPU kernels
//===----------------------------------------------------------------------===//

class GpuKernel {
 public:
  GpuKernel(mlir::gpu::GPUModuleOp module, const OpPlan& plan, const TargetInfo& target)
      : module_(module),
        plan_(plan),
        target_(target),
        bodies_(plan, module, mlir::gpu::AddressSpaceAttr::get(module.getContext(), mlir::gpu::AddressSpace::Global)) {}

  mlir::gpu::GPUFuncOp emit() {
    mlir::MLIRContext* context = module_.getContext();
    mlir::OpBuilder b(context);
    b.setInsertionPointToEnd(module_.getBody());
    mlir::Location loc = module_.getLoc();
    const int64_t warps = plan_.blockX / target_.warpSize();
    llvm::SmallVector<mlir::Type> workgroup;
    auto shared = [&](mlir::Type element, int64_t size) {
      return mlir::MemRefType::get({size}, element, mlir::MemRefLayoutAttrInterface(),
                                   target_.sharedMemorySpace(context));
    };
    if (warps > 1) {
      switch (plan_.spec.kind) {
        case OpKind::RmsNorm: workgroup = {shared(b.getF32Type(), warps)}; break;
        case OpKind::Softmax: workgroup = {shared(b.getF32Type(), warps), shared(b.getF32Type(), warps)}; break;
        case OpKind::ArgMax: workgroup = {shared(b.getF32Type(), warps), shared(b.getI32Type(), warps)}; break;
        default: break;
      }
    }
    if (plan_.spec.kind == OpKind::Attention)
      workgroup = {shared(b.getF32Type(), warps), shared(b.getF32Type(), warps),
                   shared(b.getF32Type(), warps * plan_.spec.headDim)};
    auto func = createKernel(b, loc, plan_.kernelName, b.getFunctionType(opKernelParamTypes(context, plan_), {}),
                             workgroup, opKindName(plan_.spec.kind), plan_.blockX);
    b.setInsertionPointToStart(&func.getBody().front());
    KernelIRBuilder kb(b, loc);
    thread_ = mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
    group_ = mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x);
    args_ = Values(func.getArguments().begin(), func.getArguments().end());
    scratch_ = Values(func.getWorkgroupAttributions().begin(), func.getWorkgroupAttributions().end());
    // A norm that quantizes for the int8 products stands where their quantizer would: like it, it
    // lets a product launched overlapping it start at once (sm_90; it waits for this grid).
    if (plan_.spec.kind == OpKind::RmsNorm && plan_.spec.quantize) target_.startDependentGrids(b, loc);
    body(kb);
    mlir::gpu::ReturnOp::create(b, loc);
    return func;
  }

 private:
  // This thread's item of a flat range of `count` items; body runs when it is in range.
  void flatItem(KernelIRBuilder& kb, int64_t count, const std::function<void(Value)>& body) {
    Value item = kb.add(kb.mul(group_, plan_.blockX), thread_);
    emitIf(kb, kb.lessThan(item, kb.index(count)), [&] { body(item); });
  }

  void body(KernelIRBuilder& kb) {
    const OpSpec& spec = plan_.spec;
    const int64_t W = spec.width;
    const int64_t v = plan_.vectorWidth;
    Lanes lanes(target_, thread_, plan_.blockX, v, scratch_);
    switch (spec.kind) {
      case OpKind::RmsNorm: bodies_.rmsNormRow(kb, lanes, args_, group_); break;
      case OpKind::Softmax: bodies_.softmaxRow(kb, lanes, args_, group_); break;
      case OpKind::ArgMax: {
        Value index = bodies_.argMaxRow(kb, lanes, args_, group_);
        emitIf(kb, isZeroIndex(kb, thread_),
               [&] { mlir::memref::StoreOp::create(kb.b, kb.loc, index, args_[1], mlir::ValueRange{group_}); });
        break;
      }
      case OpKind::Add:
      case OpKind::Mul:
      case OpKind::SwiGlu:
        flatItem(kb, spec.tokens * W / v, [&](Value item) {
          Value first = kb.mul(item, v);
          bodies_.elementwise(kb, args_, kb.div(first, W), kb.rem(first, W));
        });
        break;
      case OpKind::Rope: rope(kb); break;
      case OpKind::KvStore: kvStore(kb); break;
      case OpKind::Attention: attention(kb); break;
      case OpKind::Embed: {
        auto decoder = bodies_.embedDecoder();
        WeightViews table = kb.weightViews(args_[0], plan_.tableBytes);
        Value rowStart = bodies_.tableRowStart(kb, args_[1], group_);
        const int64_t slices = W / decoder->blockValues() * decoder->slicesPerBlock();
        forEach(kb, thread_, kb.index(slices), kb.index(plan_.blockX), [&](KernelIRBuilder& ikb, Value s) {
          bodies_.embedSlice(ikb, *decoder, table, args_[2], group_, rowStart, s);
        });
        break;
      }
    }
  }

  void rope(KernelIRBuilder& kb) {
    const OpSpec& spec = plan_.spec;
    const int64_t half = spec.ropeDims / 2;
    const int64_t perHead = half + (spec.headDim - spec.ropeDims);
    flatItem(kb, spec.tokens * spec.heads * perHead, [&](Value item) {
      Value t = kb.div(item, spec.heads * perHead);
      Value rest = kb.rem(item, spec.heads * perHead);
      Value head = kb.mul(kb.div(rest, perHead), spec.headDim);
      Value j = kb.rem(rest, perHead);
      auto rotate = [&] {
        SinCos angle = bodies_.ropeAngle(kb, bodies_.positionOf(kb, args_[1], t), j);
        bodies_.ropeRotate(kb, args_, t, head, j, angle);
      };
      if (perHead == half) return rotate();
      // Items past the pairs copy the head's values after `dims` (j - dims/2 of them).
      emitIfElse(kb, kb.lessThan(j, kb.index(half)), rotate,
                 [&] { bodies_.copyValue(kb, args_, t, kb.add(head, kb.add(j, half))); });
    });
  }

  // Decode attention for query row t and head h (workgroup t x heads + h). Warp w takes positions
  // w, w + warps, ...: each position's score is a warp-wide dot product (lane l holds values
  // l x c .. l x c + c - 1 of q and K), folded into the warp's running softmax state (maximum m,
  // sum l, output o: o and l are rescaled by e^(m - m') whenever the maximum grows to m'). The
  // warps' states are then merged through workgroup memory and each thread writes output values.
  void attention(KernelIRBuilder& kb) {
    const OpSpec& spec = plan_.spec;
    const int64_t D = spec.headDim;
    const int64_t c = plan_.laneValues;
    const int warp = target_.warpSize();
    const int64_t warps = plan_.warps;
    Value t = kb.div(group_, spec.heads);
    Value h = kb.rem(group_, spec.heads);
    Value kvHead = kb.div(h, spec.heads / spec.kvHeads);
    Value lane = kb.rem(thread_, warp);
    Value warpIndex = kb.div(thread_, warp);
    Value kvColumn = kb.add(kb.mul(kvHead, D), kb.mul(lane, c));
    Value q = loadF32(kb, args_[0], {t, kb.add(kb.mul(h, D), kb.mul(lane, c))}, c);
    q = kb.mulF(q, floatLike(kb, q, spec.scale));
    Value positions = bodies_.attentionPositions(kb, args_[3], t);
    Value lowest = kb.f32(-std::numeric_limits<float>::infinity());
    Values state = forLoop(kb, warpIndex, positions, kb.index(warps), {lowest, kb.f32(0.0), kb.zero(f32Vector(kb, c))},
                           [&](KernelIRBuilder& ikb, Value j, mlir::ValueRange carried) {
                             Value k = bodies_.loadHalves(ikb, args_[1], j, kvColumn, c);
                             Value score = reduceVector(ikb, mlir::vector::CombiningKind::ADD, ikb.mulF(q, k));
                             for (int offset = warp / 2; offset >= 1; offset /= 2)
                               score = ikb.addF(score, target_.shuffleXor(ikb.b, ikb.loc, score, offset));
                             OpBodies::SoftmaxStep step = OpBodies::softmaxStep(ikb, carried[0], carried[1], score);
                             Value v = bodies_.loadHalves(ikb, args_[2], j, kvColumn, c);
                             Value output = fusedMulAdd(ikb, carried[2], splatF(ikb, step.rescale, c),
                                                        ikb.mulF(v, splatF(ikb, step.weight, c)));
                             return Values{step.maximum, step.sum, output};
                           });
    Value maxima = scratch_[0];
    Value sums = scratch_[1];
    Value outputs = scratch_[2];
    emitIf(kb, isZeroIndex(kb, lane), [&] {
      mlir::memref::StoreOp::create(kb.b, kb.loc, state[0], maxima, mlir::ValueRange{warpIndex});
      mlir::memref::StoreOp::create(kb.b, kb.loc, state[1], sums, mlir::ValueRange{warpIndex});
    });
    storeVector(kb, state[2], outputs, {kb.add(kb.mul(warpIndex, D), kb.mul(lane, c))});
    mlir::gpu::BarrierOp::create(kb.b, kb.loc);
    forEach(kb, thread_, kb.index(D), kb.index(plan_.blockX), [&](KernelIRBuilder& ikb, Value d) {
      auto load = [&](Value buffer, Value at) {
        return mlir::memref::LoadOp::create(ikb.b, ikb.loc, buffer, mlir::ValueRange{at}).getResult();
      };
      Value maximum = load(maxima, ikb.index(0));
      for (int64_t w = 1; w < warps; ++w) maximum = ikb.maxF(maximum, load(maxima, ikb.index(w)));
      Value sum = ikb.f32(0.0);
      Value value = ikb.f32(0.0);
      for (int64_t w = 0; w < warps; ++w) {
        // A warp that saw no position has m = -inf: its weight e^-inf is 0.
        Value weight = exp(ikb, ikb.subF(load(maxima, ikb.index(w)), maximum));
        sum = fusedMulAdd(ikb, load(sums, ikb.index(w)), weight, sum);
        value = fusedMulAdd(ikb, load(outputs, ikb.add(d, w * D)), weight, value);
      }
      mlir::memref::StoreOp::create(ikb.b, ikb.loc, divF(ikb, value, sum), args_[4],
                                    mlir::ValueRange{t, ikb.add(ikb.mul(h, D), d)});
    });
  }

  void kvStore(KernelIRBuilder& kb) {
    const OpSpec& spec = plan_.spec;
    const int64_t W = spec.width;
    Value position = mlir::arith::IndexCastOp::create(kb.b, kb.loc, kb.b.getIndexType(), args_[2]);
    if (spec.cache == KvCacheType::F16) {
      const int64_t v = plan_.vectorWidth;
      flatItem(kb, spec.tokens * W / v, [&](Value item) {
        Value first = kb.mul(item, v);
        Value t = kb.div(first, W);
        Value col = kb.rem(first, W);
        Value values = loadF32(kb, args_[0], {t, col}, v);
        Value halves =
            mlir::arith::TruncFOp::create(kb.b, kb.loc, mlir::VectorType::get({v}, kb.b.getF16Type()), values);
        storeVector(kb, halves, args_[1], {kb.add(position, t), col});
      });
      return;
    }
    // One value per thread. Every lane takes part in the shuffles (a block is never split between
    // valid and out-of-range lanes: T x W is a multiple of 32), and only valid lanes store.
    const int64_t count = spec.tokens * W;
    const int64_t cacheBytes = spec.contextLength * plan_.cacheRowBytes;
    Value item = kb.add(kb.mul(group_, plan_.blockX), thread_);
    Value valid = kb.lessThan(item, kb.index(count));
    Value clamped = kb.minIndex(item, kb.index(count - 1));
    Value t = kb.div(clamped, W);
    Value col = kb.rem(clamped, W);
    Value x = mlir::memref::LoadOp::create(kb.b, kb.loc, args_[0], mlir::ValueRange{t, col});
    Value inBlock = kb.rem(col, 32);
    Value blockStart = bodies_.cacheBlockStart(kb, kb.add(position, t), kb.div(col, 32));
    Value halves = kb.viewAs(args_[1], cacheBytes, kb.b.getF16Type());
    Value code;
    Value d;
    Value storesCode = valid;
    if (spec.cache == KvCacheType::Q8_0) {
      BlockCode q = quantizeQ8Lane(kb, target_, x);
      code = q.code;
      d = q.d;
    } else {
      // The block's value of largest magnitude, the lowest lane among equals.
      Candidate mine{x, kb.toI32(inBlock)};
      for (int offset = 16; offset >= 1; offset /= 2) {
        Candidate other{target_.shuffleXor(kb.b, kb.loc, mine.value, offset),
                        target_.shuffleXor(kb.b, kb.loc, mine.index, offset)};
        Value larger = cmpF(kb, P::OGT, absF(kb, other.value), absF(kb, mine.value));
        Value tie = andI1(kb, cmpF(kb, P::OEQ, absF(kb, other.value), absF(kb, mine.value)),
                          cmpI(kb, mlir::arith::CmpIPredicate::slt, other.index, mine.index));
        Value take = orI1(kb, larger, tie);
        mine = {select(kb, take, other.value, mine.value), select(kb, take, other.index, mine.index)};
      }
      d = divF(kb, mine.value, kb.f32(-8.0));
      Value low = q4Nibble(kb, x, inverseOrZero(kb, d));
      // Lane i < 16 packs its code (value i) with lane i + 16's (value i + 16) into byte i.
      Value high = target_.shuffleXor(kb.b, kb.loc, low, 16);
      code = kb.orI(low, kb.shl(high, 4));
      storesCode = andI1(kb, valid, kb.lessThan(inBlock, kb.index(16)));
    }
    emitIf(kb, storesCode, [&] {
      Value byte = mlir::arith::TruncIOp::create(kb.b, kb.loc, kb.b.getI8Type(), code);
      mlir::memref::StoreOp::create(kb.b, kb.loc, byte, args_[1],
                                    mlir::ValueRange{kb.add(kb.add(blockStart, 2), inBlock)});
    });
    emitIf(kb, andI1(kb, valid, isZeroIndex(kb, inBlock)), [&] { bodies_.storeBlockScale(kb, halves, blockStart, d); });
  }

 private:
  mlir::gpu::GPUModuleOp module_;
  const OpPlan& plan_;
  const TargetInfo& target_;
  OpBodies bodies_;
  Value thread_;
  Value group_;
  Values args_;
  Values scratch_;
};

//===----------------------------------------------------------------------===//
// x86 functions: the op over token rows [row_begin, row_end).
//===----------------------------------------------------------------------===//

class CpuKernel {
 public:
  CpuKernel(mlir::ModuleOp module, const OpPlan& plan)
      : module_(module), plan_(plan), bodies_(plan, module, mlir::Attribute()) {}

  mlir::func::FuncOp emit() {
    mlir::MLIRContext* context = module_.getContext();
    mlir::OpBuilder b(context);
    b.setInsertionPointToEnd(module_.getBody());
    mlir::Location loc = module_.getLoc();
    llvm::SmallVector<mlir::Type> inputs = opKernelParamTypes(context, plan_);
    inputs.append({b.getIndexType(), b.getIndexType()});
    auto func = mlir::func::FuncOp::create(b, loc, plan_.kernelName, b.getFunctionType(inputs, {}));
    func->setAttr(kKernelRoleAttr, b.getStringAttr(opKindName(plan_.spec.kind)));
    b.setInsertionPointToStart(func.addEntryBlock());
    KernelIRBuilder kb(b, loc);
    const size_t n = plan_.params.size();
    args_ = Values(func.getArguments().begin(), func.getArguments().begin() + static_cast<std::ptrdiff_t>(n));
    Value rowBegin = func.getArgument(static_cast<unsigned>(n));
    Value rowEnd = func.getArgument(static_cast<unsigned>(n + 1));
    prologue(kb);
    forEach(kb, rowBegin, rowEnd, kb.index(1), [&](KernelIRBuilder& ikb, Value row) { this->row(ikb, row); });
    mlir::func::ReturnOp::create(b, loc);
    return func;
  }

 private:
  // What every row shares: decoders and buffer views.
  void prologue(KernelIRBuilder& kb) {
    if (plan_.spec.kind == OpKind::Embed) {
      decoder_ = bodies_.embedDecoder();
      table_ = kb.weightViews(args_[0], plan_.tableBytes);
    }
    if (plan_.spec.kind == OpKind::KvStore && plan_.spec.cache != KvCacheType::F16)
      halves_ = kb.viewAs(args_[1], plan_.spec.contextLength * plan_.cacheRowBytes, kb.b.getF16Type());
    if (plan_.spec.kind == OpKind::Attention) {
      // One head's scaled query (out may be q) and running output, on the stack.
      auto type = mlir::MemRefType::get({plan_.spec.headDim}, kb.b.getF32Type());
      query_ = mlir::memref::AllocaOp::create(kb.b, kb.loc, type, kb.b.getI64IntegerAttr(32));
      output_ = mlir::memref::AllocaOp::create(kb.b, kb.loc, type, kb.b.getI64IntegerAttr(32));
    }
  }

  void row(KernelIRBuilder& kb, Value row) {
    const OpSpec& spec = plan_.spec;
    const int64_t v = plan_.vectorWidth;
    Lanes lanes(v);
    auto columns = [&](int64_t end, int64_t step, const std::function<void(KernelIRBuilder&, Value)>& body) {
      forEach(kb, kb.index(0), kb.index(end), kb.index(step), body);
    };
    switch (spec.kind) {
      case OpKind::RmsNorm: bodies_.rmsNormRow(kb, lanes, args_, row); break;
      case OpKind::Softmax: bodies_.softmaxRow(kb, lanes, args_, row); break;
      case OpKind::ArgMax:
        mlir::memref::StoreOp::create(kb.b, kb.loc, bodies_.argMaxRow(kb, lanes, args_, row), args_[1],
                                      mlir::ValueRange{row});
        break;
      case OpKind::Add:
      case OpKind::Mul:
      case OpKind::SwiGlu:
        columns(spec.width, v, [&](KernelIRBuilder& ikb, Value col) { bodies_.elementwise(ikb, args_, row, col); });
        break;
      case OpKind::Rope: {
        // Each pair's angle once per row, applied to every head.
        Value position = bodies_.positionOf(kb, args_[1], row);
        columns(spec.ropeDims / 2, 1, [&](KernelIRBuilder& ikb, Value j) {
          SinCos angle = bodies_.ropeAngle(ikb, position, j);
          forEach(ikb, ikb.index(0), ikb.index(spec.heads), ikb.index(1), [&](KernelIRBuilder& hkb, Value h) {
            bodies_.ropeRotate(hkb, args_, row, hkb.mul(h, spec.headDim), j, angle);
          });
        });
        if (spec.headDim > spec.ropeDims)
          forEach(kb, kb.index(0), kb.index(spec.heads), kb.index(1), [&](KernelIRBuilder& hkb, Value h) {
            Value head = hkb.mul(h, spec.headDim);
            forEach(hkb, hkb.index(spec.ropeDims), hkb.index(spec.headDim), hkb.index(1),
                    [&](KernelIRBuilder& ckb, Value c) { bodies_.copyValue(ckb, args_, row, ckb.add(head, c)); });
          });
        break;
      }
      case OpKind::KvStore: kvStoreRow(kb, row); break;
      case OpKind::Attention: attentionRow(kb, row); break;
      case OpKind::Embed: {
        Value rowStart = bodies_.tableRowStart(kb, args_[1], row);
        const int64_t slices = spec.width / decoder_->blockValues() * decoder_->slicesPerBlock();
        columns(slices, 1, [&](KernelIRBuilder& ikb, Value s) {
          bodies_.embedSlice(ikb, *decoder_, table_, args_[2], row, rowStart, s);
        });
        break;
      }
    }
  }

  // Every head of query row t: one pass over the positions with a running softmax, the scaled
  // query and the output accumulating in stack buffers, 256-bit vectors along the head.
  void attentionRow(KernelIRBuilder& kb, Value t) {
    const OpSpec& spec = plan_.spec;
    const int64_t D = spec.headDim;
    const int64_t v = plan_.vectorWidth;
    Value positions = bodies_.attentionPositions(kb, args_[3], t);
    auto alongHead = [&](KernelIRBuilder& ikb, const std::function<void(KernelIRBuilder&, Value)>& body) {
      forEach(ikb, ikb.index(0), ikb.index(D), ikb.index(v), body);
    };
    forEach(kb, kb.index(0), kb.index(spec.heads), kb.index(1), [&](KernelIRBuilder& hkb, Value h) {
      Value qColumn = hkb.mul(h, D);
      Value kvColumn = hkb.mul(hkb.div(h, spec.heads / spec.kvHeads), D);
      alongHead(hkb, [&](KernelIRBuilder& ikb, Value d) {
        Value q = loadF32(ikb, args_[0], {t, ikb.add(qColumn, d)}, v);
        storeVector(ikb, ikb.mulF(q, floatLike(ikb, q, spec.scale)), query_, {d});
        storeVector(ikb, ikb.zero(f32Vector(ikb, v)), output_, {d});
      });
      Value lowest = hkb.f32(-std::numeric_limits<float>::infinity());
      Values state =
          forLoop(hkb, hkb.index(0), positions, hkb.index(1), {lowest, hkb.f32(0.0)},
                  [&](KernelIRBuilder& jkb, Value j, mlir::ValueRange carried) {
                    Values dot = forLoop(jkb, jkb.index(0), jkb.index(D), jkb.index(v), {jkb.zero(f32Vector(jkb, v))},
                                         [&](KernelIRBuilder& ikb, Value d, mlir::ValueRange acc) {
                                           Value k = bodies_.loadHalves(ikb, args_[1], j, ikb.add(kvColumn, d), v);
                                           return Values{fusedMulAdd(ikb, loadF32(ikb, query_, {d}, v), k, acc[0])};
                                         });
                    Value score = reduceVector(jkb, mlir::vector::CombiningKind::ADD, dot[0]);
                    OpBodies::SoftmaxStep step = OpBodies::softmaxStep(jkb, carried[0], carried[1], score);
                    alongHead(jkb, [&](KernelIRBuilder& ikb, Value d) {
                      Value value = bodies_.loadHalves(ikb, args_[2], j, ikb.add(kvColumn, d), v);
                      Value rescaled = ikb.mulF(loadF32(ikb, output_, {d}, v), splatF(ikb, step.rescale, v));
                      storeVector(ikb, fusedMulAdd(ikb, value, splatF(ikb, step.weight, v), rescaled), output_, {d});
                    });
                    return Values{step.maximum, step.sum};
                  });
      Value inverse = divF(hkb, hkb.f32(1.0), state[1]);
      alongHead(hkb, [&](KernelIRBuilder& ikb, Value d) {
        storeVector(ikb, ikb.mulF(loadF32(ikb, output_, {d}, v), splatF(ikb, inverse, v)), args_[4],
                    {t, ikb.add(qColumn, d)});
      });
    });
  }

  void kvStoreRow(KernelIRBuilder& kb, Value t) {
    const OpSpec& spec = plan_.spec;
    Value position = kb.add(mlir::arith::IndexCastOp::create(kb.b, kb.loc, kb.b.getIndexType(), args_[2]), t);
    if (spec.cache == KvCacheType::F16) {
      const int64_t v = plan_.vectorWidth;
      forEach(kb, kb.index(0), kb.index(spec.width), kb.index(v), [&](KernelIRBuilder& ikb, Value col) {
        Value values = loadF32(ikb, args_[0], {t, col}, v);
        Value halves =
            mlir::arith::TruncFOp::create(ikb.b, ikb.loc, mlir::VectorType::get({v}, ikb.b.getF16Type()), values);
        storeVector(ikb, halves, args_[1], {position, col});
      });
      return;
    }
    // A block of 32 values per step, in 256-bit vectors.
    forEach(kb, kb.index(0), kb.index(spec.width / 32), kb.index(1), [&](KernelIRBuilder& ikb, Value block) {
      Value x = loadF32(ikb, args_[0], {t, ikb.mul(block, 32)}, 32);
      Value magnitude = absF(ikb, x);
      Value amax = reduceVector(ikb, mlir::vector::CombiningKind::MAXNUMF, magnitude);
      Value blockStart = bodies_.cacheBlockStart(ikb, position, block);
      Value codes;
      Value d;
      if (spec.cache == KvCacheType::Q8_0) {
        d = divF(ikb, amax, ikb.f32(127.0));
        Value scaled = ikb.mulF(x, splatF(ikb, inverseOrZero(ikb, d), 32));
        codes = mlir::arith::TruncIOp::create(ikb.b, ikb.loc, mlir::VectorType::get({32}, ikb.b.getI8Type()),
                                              roundHalfAwayToI32(ikb, scaled));
      } else {
        // The first value of largest magnitude: the lowest lane equal to the maximum.
        auto lanesType = mlir::VectorType::get({32}, ikb.b.getI32Type());
        Value isMax = cmpF(ikb, P::OEQ, magnitude, splatF(ikb, amax, 32));
        Value firstMax =
            reduceVector(ikb, mlir::vector::CombiningKind::MINSI,
                         select(ikb, isMax, ikb.iotaI32(ikb.i32(0), 32), ikb.constantLike(ikb.zero(lanesType), 32)));
        Value m = mlir::memref::LoadOp::create(ikb.b, ikb.loc, args_[0],
                                               mlir::ValueRange{t, ikb.add(ikb.mul(block, 32), ikb.toIndex(firstMax))});
        d = divF(ikb, m, ikb.f32(-8.0));
        Value nibbles = q4Nibble(ikb, x, splatF(ikb, inverseOrZero(ikb, d), 32));
        auto half = [&](int64_t offset) {
          return mlir::vector::ExtractStridedSliceOp::create(ikb.b, ikb.loc, nibbles, llvm::ArrayRef<int64_t>{offset},
                                                             llvm::ArrayRef<int64_t>{16}, llvm::ArrayRef<int64_t>{1})
              .getResult();
        };
        Value packed = ikb.orI(half(0), ikb.shl(half(16), 4));
        codes = mlir::arith::TruncIOp::create(ikb.b, ikb.loc, mlir::VectorType::get({16}, ikb.b.getI8Type()), packed);
      }
      mlir::vector::StoreOp::create(ikb.b, ikb.loc, codes, args_[1], mlir::ValueRange{ikb.add(blockStart, 2)}, false,
                                    llvm::MaybeAlign(1));
      bodies_.storeBlockScale(ikb, halves_, blockStart, d);
    });
  }

  mlir::ModuleOp module_;
  const OpPlan& plan_;
  OpBodies bodies_;
  Values args_;
  std::unique_ptr<QuantDecoder> decoder_;
  WeightViews table_;
  Value halves_;
  Value query_;
  Value output_;
};

}  // namespace

llvm::SmallVector<mlir::Type> opKernelParamTypes(mlir::MLIRContext* context, const OpPlan& plan) {
  mlir::OpBuilder b(context);
  llvm::SmallVector<mlir::Type> types;
  for (const OpParam& param : plan.params) {
    mlir::Type element = elementType(b, param.dtype);
    if (param.role == "scalar") {
      types.push_back(element);
    } else if (param.dtype == "i8") {
      // Raw blocks are addressed by byte offset: one flat dimension.
      int64_t bytes = 1;
      for (int64_t size : param.shape) bytes *= size;
      types.push_back(mlir::MemRefType::get({bytes}, element));
    } else {
      types.push_back(mlir::MemRefType::get(param.shape, element));
    }
  }
  return types;
}

mlir::gpu::GPUFuncOp emitGpuOpKernel(mlir::gpu::GPUModuleOp module, const OpPlan& plan, const TargetInfo& target) {
  return GpuKernel(module, plan, target).emit();
}

mlir::func::FuncOp emitCpuOpKernel(mlir::ModuleOp module, const OpPlan& plan, const TargetInfo&) {
  return CpuKernel(module, plan).emit();
}

}  // namespace llmc::compiler
