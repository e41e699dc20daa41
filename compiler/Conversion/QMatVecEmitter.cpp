// One kernel body for every target. Lanes (GPU threads; the single CPU thread) walk the slices of
// the rows they own; each slice's activations are loaded once and used for every row of the
// workgroup. Partial sums are vectors (f32 method) or scalars (int8 method), reduced at the end:
// within a warp by butterfly shuffles, across warps through workgroup memory.
#include "QMatVecEmitter.h"

#include <optional>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "KernelIRBuilder.h"
#include "KernelMath.h"
#include "QuantDecoders.h"

namespace llmc::compiler {

using mlir::Value;

namespace {

mlir::MemRefType weightType(mlir::MLIRContext* context, const QMatVecPlan& plan) {
  return mlir::MemRefType::get({plan.weightBytes}, mlir::IntegerType::get(context, 8));
}
mlir::MemRefType activationType(mlir::MLIRContext* context, const QMatVecPlan& plan) {
  return mlir::MemRefType::get({plan.batch, plan.cols}, mlir::Float32Type::get(context));
}
mlir::MemRefType scratchType(mlir::MLIRContext* context, const QMatVecPlan& plan) {
  return mlir::MemRefType::get({plan.scratchBytes}, mlir::IntegerType::get(context, 8));
}
mlir::MemRefType outputType(mlir::MLIRContext* context, const QMatVecPlan& plan) {
  return mlir::MemRefType::get({plan.batch, plan.rows}, mlir::Float32Type::get(context));
}

// Where activations come from: f32 rows, or the int8 scratch the quantizer wrote.
struct ActivationSource {
  Value x;           // memref<B x C x f32> (f32 method)
  Value quads;       // memref<B*C/4 x i32> (int8 method)
  Value floats;      // memref<scratch/4 x f32>: (scale, scaled sum) pairs after the codes
  int64_t pairsAt = 0;  // float index of block 0's (scale, scale x sum of codes) pair
};

class RowDotBuilder {
 public:
  RowDotBuilder(KernelIRBuilder& kb, const QMatVecPlan& plan, const TargetInfo& target, const QuantDecoder& decoder,
                const WeightViews& weights, const ActivationSource& activations)
      : kb_(kb), plan_(plan), target_(target), decoder_(decoder), w_(weights), x_(activations) {}

  int64_t accumulatorCount() const { return plan_.tuning.rowsPerBlock * plan_.batch; }

  // GPU lanes keep one f32 per row and vector (registers are per lane); a CPU keeps a SIMD vector.
  mlir::Type accumulatorType() const {
    if (plan_.method == DotMethod::Int8 || target_.isGpu()) return kb_.b.getF32Type();
    return mlir::VectorType::get({plan_.groupLength}, kb_.b.getF32Type());
  }

  llvm::SmallVector<Value> zeroAccumulators() {
    return llvm::SmallVector<Value>(accumulatorCount(), kb_.zero(accumulatorType()));
  }

  // Runs slices lane, lane + laneCount, ... of every row in `rowStarts` (byte offsets) and returns
  // the accumulators: entry i * batch + b for row i and vector b.
  llvm::SmallVector<Value> walkRows(llvm::ArrayRef<Value> rowStarts, Value lane, int64_t laneCount) {
    const int64_t total = plan_.slicesPerRow;
    const int64_t unroll = plan_.tuning.unroll;
    const int64_t stride = laneCount * unroll;
    const int64_t mainSteps = total / stride;
    llvm::SmallVector<Value> accs = zeroAccumulators();
    if (mainSteps > 0) {
      auto loop = mlir::scf::ForOp::create(
          kb_.b, kb_.loc, kb_.index(0), kb_.index(mainSteps), kb_.index(1), accs,
          [&](mlir::OpBuilder& b, mlir::Location loc, Value step, mlir::ValueRange iterArgs) {
            KernelIRBuilder inner(b, loc);
            RowDotBuilder body(inner, plan_, target_, decoder_, w_, x_);
            llvm::SmallVector<Value> current(iterArgs.begin(), iterArgs.end());
            Value first = inner.add(inner.mul(step, stride), lane);
            for (int64_t u = 0; u < unroll; ++u) current = body.slice(rowStarts, inner.add(first, u * laneCount), current);
            mlir::scf::YieldOp::create(b, loc, current);
          });
      accs.assign(loop.getResults().begin(), loop.getResults().end());
    }
    const int64_t done = mainSteps * stride;
    for (int64_t first = done; first < total; first += laneCount) {
      Value s = kb_.add(lane, first);
      if (first + laneCount <= total) {
        accs = slice(rowStarts, s, accs);
        continue;
      }
      // The last, partial round: lanes past the end compute the row's last slice again and keep
      // their sums. No branch, so that the round's loads issue with the rounds before it.
      Value valid = kb_.lessThan(s, kb_.index(total));
      llvm::SmallVector<Value> next = slice(rowStarts, kb_.minIndex(s, kb_.index(total - 1)), accs);
      for (size_t i = 0; i < accs.size(); ++i)
        accs[i] = mlir::arith::SelectOp::create(kb_.b, kb_.loc, valid, next[i], accs[i]);
    }
    return accs;
  }

  // An accumulator as one f32.
  Value total(Value acc) {
    if (!llvm::isa<mlir::VectorType>(acc.getType())) return acc;
    return mlir::vector::ReductionOp::create(kb_.b, kb_.loc, mlir::vector::CombiningKind::ADD, acc);
  }

 private:
  llvm::SmallVector<Value> slice(llvm::ArrayRef<Value> rowStarts, Value s, llvm::ArrayRef<Value> accs) {
    const int64_t S = plan_.slicesPerBlock;
    Value block = kb_.div(s, S);
    Value part = kb_.rem(s, S);
    Value blockFirstValue = kb_.mul(block, decoder_.blockValues());
    llvm::SmallVector<Value> offsets;
    for (int g = 0; g < plan_.groupsPerSlice; ++g)
      offsets.push_back(kb_.add(blockFirstValue, decoder_.groupOffset(kb_, part, g)));

    llvm::SmallVector<Value> next(accs.begin(), accs.end());
    const int64_t batch = plan_.batch;
    if (plan_.method == DotMethod::Int8) {
      std::vector<llvm::SmallVector<Int8Activations>> xs(batch);
      for (int64_t b = 0; b < batch; ++b) xs[b] = int8Activations(b, offsets);
      for (size_t i = 0; i < rowStarts.size(); ++i) {
        const BlockRef ref{rowStarts[i], block};
        for (int64_t b = 0; b < batch; ++b) {
          Value term = decoder_.dotInt8(kb_, target_, w_, ref, part, xs[b]);
          next[i * batch + b] = kb_.addF(next[i * batch + b], term);
        }
      }
      return next;
    }
    std::vector<llvm::SmallVector<Value>> xs(batch);
    for (int64_t b = 0; b < batch; ++b)
      for (Value offset : offsets) xs[b].push_back(f32Activations(b, offset));
    for (size_t i = 0; i < rowStarts.size(); ++i) {
      llvm::SmallVector<Value> values = decoder_.dequantize(kb_, w_, BlockRef{rowStarts[i], block}, part);
      for (int64_t b = 0; b < batch; ++b) {
        Value& acc = next[i * batch + b];
        for (size_t g = 0; g < values.size(); ++g) acc = multiplyAdd(values[g], xs[b][g], acc);
      }
    }
    return next;
  }

  // acc + sum(w * x): one vector FMA into a vector accumulator, or a chain of scalar
  // multiply-adds (contractible into FMAs) into a scalar one.
  Value multiplyAdd(Value w, Value x, Value acc) {
    if (llvm::isa<mlir::VectorType>(acc.getType())) return mlir::vector::FMAOp::create(kb_.b, kb_.loc, w, x, acc);
    auto contract = mlir::arith::FastMathFlags::contract;
    for (int64_t i = 0; i < plan_.groupLength; ++i) {
      Value product = mlir::arith::MulFOp::create(kb_.b, kb_.loc, lane(w, i), lane(x, i), contract);
      acc = mlir::arith::AddFOp::create(kb_.b, kb_.loc, acc, product, contract);
    }
    return acc;
  }

  Value lane(Value vector, int64_t i) {
    return mlir::vector::ExtractOp::create(kb_.b, kb_.loc, vector, llvm::ArrayRef<int64_t>{i});
  }

  Value f32Activations(int64_t b, Value offset) {
    const int64_t k = plan_.groupLength;
    auto type = mlir::VectorType::get({k}, kb_.b.getF32Type());
    return mlir::vector::LoadOp::create(kb_.b, kb_.loc, type, x_.x, mlir::ValueRange{kb_.index(b), offset}, false,
                                        llvm::MaybeAlign(std::min<int64_t>(4 * k, 16)));
  }

  // The int8 activations of each group of a slice (group offsets from the row's first value) in
  // vector b. A block's scale and scaled sum sit side by side, and the blocks of a slice's groups
  // are consecutive: their pairs load as one vector.
  llvm::SmallVector<Int8Activations> int8Activations(int64_t b, llvm::ArrayRef<Value> offsets) {
    const int64_t k = plan_.groupLength;
    const int64_t runBlocks = decoder_.activationBlocksPerSlice();
    auto type = mlir::VectorType::get({k / 4}, kb_.b.getI32Type());
    Value firstBlock = kb_.div(kb_.add(offsets.front(), b * plan_.cols), 32);
    auto pairsType = mlir::VectorType::get({2 * runBlocks}, kb_.b.getF32Type());
    Value pairs = mlir::vector::LoadOp::create(kb_.b, kb_.loc, pairsType, x_.floats,
                                               mlir::ValueRange{kb_.add(kb_.mul(firstBlock, 2), x_.pairsAt)}, false,
                                               llvm::MaybeAlign(std::min<int64_t>(8 * runBlocks, 16)));
    llvm::SmallVector<Int8Activations> result;
    const int64_t groups = static_cast<int64_t>(offsets.size());
    for (int64_t g = 0; g < groups; ++g) {
      Value at = kb_.add(offsets[g], b * plan_.cols);
      Int8Activations x;
      x.quads = mlir::vector::LoadOp::create(kb_.b, kb_.loc, type, x_.quads, mlir::ValueRange{kb_.div(at, 4)}, false,
                                             llvm::MaybeAlign(std::min<int64_t>(k, 16)));
      const int64_t pair = runBlocks > 1 ? g * runBlocks / groups : 0;
      x.scale = mlir::vector::ExtractOp::create(kb_.b, kb_.loc, pairs, llvm::ArrayRef<int64_t>{2 * pair});
      x.scaledSum = mlir::vector::ExtractOp::create(kb_.b, kb_.loc, pairs, llvm::ArrayRef<int64_t>{2 * pair + 1});
      result.push_back(x);
    }
    return result;
  }

  KernelIRBuilder& kb_;
  const QMatVecPlan& plan_;
  const TargetInfo& target_;
  const QuantDecoder& decoder_;
  const WeightViews& w_;
  const ActivationSource& x_;
};

ActivationSource int8Source(KernelIRBuilder& kb, const QMatVecPlan& plan, Value scratch) {
  ActivationSource source;
  const int64_t values = plan.batch * plan.cols;
  source.quads = kb.viewAs(scratch, plan.scratchBytes, kb.b.getI32Type());
  source.floats = kb.viewAs(scratch, plan.scratchBytes, kb.b.getF32Type());
  source.pairsAt = values / 4;
  return source;
}

// Sum over the lanes of a warp: a butterfly leaves the total in every lane.
Value warpSum(KernelIRBuilder& kb, const TargetInfo& target, Value value, int lanes) {
  for (int offset = lanes / 2; offset >= 1; offset /= 2) {
    Value other = target.shuffleXor(kb.b, kb.loc, value, offset);
    value = llvm::isa<mlir::FloatType>(value.getType()) ? kb.addF(value, other) : kb.add(value, other);
  }
  return value;
}

Value warpMax(KernelIRBuilder& kb, const TargetInfo& target, Value value, int lanes) {
  for (int offset = lanes / 2; offset >= 1; offset /= 2)
    value = kb.maxF(value, target.shuffleXor(kb.b, kb.loc, value, offset));
  return value;
}

Value equals(KernelIRBuilder& kb, Value a, int64_t c) {
  return mlir::arith::CmpIOp::create(kb.b, kb.loc, mlir::arith::CmpIPredicate::eq, a, kb.constantLike(a, c));
}

// One lane's value of a block of 32 quantized as ggml's quantize_row_q8_1: d = amax / 127,
// code = round(x / d) half away from zero; also d * sum(codes) over the block. The 32 lanes of
// a block must be 32 consecutive lanes of one warp, all active.
struct QuantizedLane {
  Value code;  // i32
  Value scale;
  Value scaledSum;
};

QuantizedLane quantizeLane(KernelIRBuilder& kb, const TargetInfo& target, Value value) {
  mlir::OpBuilder& b = kb.b;
  mlir::Location loc = kb.loc;
  // |x| and rounding in integer arithmetic: the GPU conversions would turn the LLVM intrinsics
  // into libdevice / ocml calls, which llmc does not link.
  Value bits = mlir::arith::BitcastOp::create(b, loc, b.getI32Type(), value);
  Value magnitude = mlir::arith::BitcastOp::create(b, loc, b.getF32Type(), kb.andI(bits, 0x7FFFFFFF));
  Value amax = warpMax(kb, target, magnitude, 32);
  Value d = mlir::arith::DivFOp::create(b, loc, amax, kb.f32(127.0));
  Value isZero = mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OEQ, d, kb.f32(0.0));
  Value inverse = mlir::arith::SelectOp::create(b, loc, isZero, kb.f32(0.0),
                                                mlir::arith::DivFOp::create(b, loc, kb.f32(1.0), d));
  Value scaled = kb.mulF(magnitude, inverse);  // 0..127, so truncation and the fraction are exact
  Value whole = mlir::arith::FPToSIOp::create(b, loc, b.getI32Type(), scaled);
  Value fraction = kb.subF(scaled, kb.sToF32(whole));
  Value roundsUp = mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OGE, fraction, kb.f32(0.5));
  Value rounded = mlir::arith::SelectOp::create(b, loc, roundsUp, kb.add(whole, kb.i32(1)), whole);
  Value negative = mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::slt, bits, kb.i32(0));
  Value code = mlir::arith::SelectOp::create(b, loc, negative,
                                             mlir::arith::SubIOp::create(b, loc, kb.i32(0), rounded), rounded);
  Value codeSum = warpSum(kb, target, code, 32);
  return {code, d, kb.mulF(d, kb.sToF32(codeSum))};
}

// Copies x into workgroup memory, quantized to int8 blocks for the int8 method. Each thread
// takes whole blocks of 32 values (every blockX-th block): eight 16-byte loads in flight, no
// shuffles, so the copy costs about one memory latency per round.
ActivationSource stageActivations(KernelIRBuilder& kb, const QMatVecPlan& plan, Value x,
                                  llvm::ArrayRef<mlir::BlockArgument> staged, Value thread) {
  const int64_t values = plan.batch * plan.cols;
  const int64_t blocks = values / 32;
  const bool int8 = plan.method == DotMethod::Int8;
  auto f32x32 = mlir::VectorType::get({32}, kb.b.getF32Type());
  ActivationSource source;
  mlir::scf::ForOp::create(
      kb.b, kb.loc, thread, kb.index(blocks), kb.index(plan.blockX), mlir::ValueRange{},
      [&](mlir::OpBuilder& b, mlir::Location loc, Value block, mlir::ValueRange) {
        KernelIRBuilder ib(b, loc);
        // Rows are whole blocks of 32 (cols % 32 == 0), so a block never spans two rows.
        Value first = ib.mul(block, 32);
        mlir::ValueRange at{ib.div(first, plan.cols), ib.rem(first, plan.cols)};
        Value v = mlir::vector::LoadOp::create(b, loc, f32x32, x, at, false, llvm::MaybeAlign(16));
        if (!int8) {
          mlir::vector::StoreOp::create(b, loc, v, staged[0], at, false, llvm::MaybeAlign(16));
          mlir::scf::YieldOp::create(b, loc);
          return;
        }
        QuantizedBlock32 q = quantizeBlock32(ib, v);
        mlir::vector::StoreOp::create(b, loc, q.codes, staged[0], mlir::ValueRange{first}, false, llvm::MaybeAlign(16));
        mlir::memref::StoreOp::create(b, loc, q.scale, staged[1], mlir::ValueRange{ib.mul(block, 2)});
        mlir::memref::StoreOp::create(b, loc, q.scaledSum, staged[1], mlir::ValueRange{ib.add(ib.mul(block, 2), 1)});
        mlir::scf::YieldOp::create(b, loc);
      });
  if (!int8) {
    source.x = staged[0];
    return source;
  }
  Value codes = staged[0];
  auto quadsType = mlir::MemRefType::get({values / 4}, kb.b.getI32Type(), mlir::MemRefLayoutAttrInterface(),
                                         llvm::cast<mlir::MemRefType>(codes.getType()).getMemorySpace());
  source.quads = mlir::memref::ViewOp::create(kb.b, kb.loc, quadsType, codes, kb.index(0), mlir::ValueRange{});
  source.floats = staged[1];
  source.pairsAt = 0;
  return source;
}

// Asks for block `block` of rows_per_block rows in L2 before any lane loads them: thread t takes
// cache lines t, t + blockX, ... of the rows' bytes. The requests hold no registers, so all the
// rows are in flight at once, whatever the lanes' loads leave room for. Lines past the weights'
// end are clamped to their last byte.
void prefetchRows(KernelIRBuilder& kb, const QMatVecPlan& plan, const TargetInfo& target, Value w, Value block,
                  Value thread) {
  constexpr int64_t kLine = 128;
  const int64_t bytes = plan.tuning.rowsPerBlock * plan.rowBytes;
  const int64_t lines = (bytes + kLine - 1) / kLine + 1;  // + 1: the rows need not start on a line
  Value first = kb.minIndex(kb.mul(block, bytes), kb.index(plan.weightBytes - 1));
  Value last = kb.minIndex(kb.add(first, bytes - 1), kb.index(plan.weightBytes - 1));
  mlir::scf::ForOp::create(kb.b, kb.loc, thread, kb.index(lines), kb.index(plan.blockX), mlir::ValueRange{},
                           [&](mlir::OpBuilder& b, mlir::Location loc, Value line, mlir::ValueRange) {
                             KernelIRBuilder ib(b, loc);
                             Value at = ib.minIndex(ib.add(first, ib.mul(line, kLine)), last);
                             target.prefetchToL2(b, loc, w, at);
                             mlir::scf::YieldOp::create(b, loc);
                           });
}

}  // namespace

mlir::gpu::GPUFuncOp emitGpuQMatVec(mlir::gpu::GPUModuleOp module, const QMatVecPlan& plan, const TargetInfo& target) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = module.getLoc();
  const int64_t rowsPerBlock = plan.tuning.rowsPerBlock;
  const int64_t warps = plan.tuning.warps;
  const int64_t groupRows = plan.rowsPerGroup;
  const int64_t groupSums = groupRows * plan.batch;  // partial sums per warp
  const bool crossWarp = plan.warpsPerGroup > 1;
  const bool int8 = plan.method == DotMethod::Int8;

  mlir::Attribute sharedSpace = target.sharedMemorySpace(context);
  auto sharedOf = [&](llvm::ArrayRef<int64_t> shape, mlir::Type element) {
    return mlir::MemRefType::get(shape, element, mlir::MemRefLayoutAttrInterface(), sharedSpace);
  };
  const int64_t values = plan.batch * plan.cols;
  llvm::SmallVector<mlir::Type> inputs = {weightType(context, plan),
                                          plan.needsQuantizer() ? scratchType(context, plan) : activationType(context, plan),
                                          outputType(context, plan)};
  // Workgroup memory: cross-warp partial sums, then the staged activations (int8 codes and their
  // block scales and scaled sums, or f32 rows).
  llvm::SmallVector<mlir::Type> workgroup;
  if (crossWarp) workgroup.push_back(sharedOf({warps * groupSums}, b.getF32Type()));
  if (plan.stagedActivations && int8) {
    workgroup.push_back(sharedOf({values}, b.getI8Type()));
    workgroup.push_back(sharedOf({2 * (values / 32)}, b.getF32Type()));
  } else if (plan.stagedActivations) {
    workgroup.push_back(sharedOf({plan.batch, plan.cols}, b.getF32Type()));
  }
  auto func = createKernel(b, loc, plan.kernelName, b.getFunctionType(inputs, {}), workgroup, "qmatvec", plan.blockX);
  if (plan.tuning.minBlocks > 0) target.setMinResidentWorkgroups(func, plan.tuning.minBlocks, plan.blockX);

  b.setInsertionPointToStart(&func.getBody().front());
  KernelIRBuilder kb(b, loc);
  Value w = func.getArgument(0);
  Value y = func.getArgument(2);
  WeightViews weights = kb.weightViews(w, plan.weightBytes);
  Value thread = mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
  Value group = mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x);
  const int64_t steps = plan.tuning.rowSteps;
  if (plan.tuning.prefetch > 0) prefetchRows(kb, plan, target, w, kb.mul(group, steps), thread);
  if (plan.gridDependency) {
    // Nothing above reads what the prior grid writes: only weights were asked for. Then the next
    // grid may start: at most one grid of a chain runs ahead.
    target.waitForPriorGrid(b, loc);
    target.startDependentGrids(b, loc);
    func->setAttr(kGridDependencyAttr, b.getUnitAttr());
  }
  ActivationSource activations;
  if (plan.needsQuantizer()) {
    activations = int8Source(kb, plan, func.getArgument(1));
  } else if (!plan.stagedActivations) {
    activations.x = func.getArgument(1);
  } else {
    auto staged = func.getWorkgroupAttributions().drop_front(crossWarp ? 1 : 0);
    activations = stageActivations(kb, plan, func.getArgument(1), staged, thread);
    mlir::gpu::BarrierOp::create(b, loc);
  }
  auto decoder = makeQuantDecoder(plan.quant, 4 * plan.tuning.vectorWidth, plan.cols,
                                  makeTableProvider(module,
                                                    mlir::gpu::AddressSpaceAttr::get(context, mlir::gpu::AddressSpace::Global),
                                                    plan.kernelName),
                                  plan.layout);

  // The workgroup's blocks of rows_per_block rows: one (block `group`), or `steps` in turn
  // (blocks group x steps ...), the rest of the kernel built inside a loop over them. Each step
  // first asks for the next step's rows in L2 when the tuning prefetches.
  Value block = group;
  std::optional<mlir::OpBuilder::InsertionGuard> insideSteps;
  if (steps > 1) {
    auto loop = mlir::scf::ForOp::create(b, loc, kb.index(0), kb.index(steps), kb.index(1));
    insideSteps.emplace(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    block = kb.add(kb.mul(group, steps), loop.getInductionVar());
    if (plan.tuning.prefetch > 0) prefetchRows(kb, plan, target, w, kb.add(block, 1), thread);
  }

  // This thread's row group: its rows, and its lane among the group's warpsPerGroup warps.
  const int64_t groupLanes = plan.warpsPerGroup * target.warpSize();
  Value rowGroup = kb.div(thread, groupLanes);
  Value groupLane = kb.rem(thread, groupLanes);
  Value firstRow = kb.add(kb.mul(block, rowsPerBlock), kb.mul(rowGroup, groupRows));
  llvm::SmallVector<Value> rowStarts;
  for (int64_t i = 0; i < groupRows; ++i) {
    // Rows past the end (last workgroup) compute row `rows - 1` again and store nothing.
    Value row = kb.minIndex(kb.add(firstRow, i), kb.index(plan.rows - 1));
    rowStarts.push_back(kb.mul(row, plan.rowBytes));
  }

  RowDotBuilder rowDot(kb, plan, target, *decoder, weights, activations);
  llvm::SmallVector<Value> accs = rowDot.walkRows(rowStarts, groupLane, groupLanes);
  llvm::SmallVector<Value> partials;
  for (Value acc : accs) partials.push_back(warpSum(kb, target, rowDot.total(acc), target.warpSize()));

  auto storeRow = [&](KernelIRBuilder& inner, Value row, Value vector, Value value) {
    auto store = [&] { mlir::memref::StoreOp::create(inner.b, inner.loc, value, y, mlir::ValueRange{vector, row}); };
    if (plan.rows % (rowsPerBlock * steps) == 0) {
      store();
    } else {
      emitIf(inner, inner.lessThan(row, inner.index(plan.rows)), store);
    }
  };

  Value lane = kb.rem(thread, target.warpSize());
  if (!crossWarp) {
    // One warp per group: its first lane holds the totals.
    emitIf(kb, equals(kb, lane, 0), [&] {
      for (int64_t i = 0; i < groupRows; ++i)
        for (int64_t v = 0; v < plan.batch; ++v)
          storeRow(kb, kb.add(firstRow, i), kb.index(v), partials[i * plan.batch + v]);
    });
  } else {
    // Warp w's partial sums at scratch[w * groupSums ...]; the warps of group g are consecutive.
    Value scratch = func.getWorkgroupAttributions().front();
    Value warp = kb.div(thread, target.warpSize());
    emitIf(kb, equals(kb, lane, 0), [&] {
      for (int64_t j = 0; j < groupSums; ++j)
        mlir::memref::StoreOp::create(b, loc, partials[j], scratch, mlir::ValueRange{kb.add(kb.mul(warp, groupSums), j)});
    });
    mlir::gpu::BarrierOp::create(b, loc);
    // Threads t, t + blockX, ... < rows_per_block x batch finish sum j of group g.
    mlir::scf::ForOp::create(
        b, loc, thread, kb.index(rowsPerBlock * plan.batch), kb.index(plan.blockX), mlir::ValueRange{},
        [&](mlir::OpBuilder& ib, mlir::Location iloc, Value t, mlir::ValueRange) {
          KernelIRBuilder k(ib, iloc);
          Value g = k.div(t, groupSums);
          Value j = k.rem(t, groupSums);
          Value base = k.add(k.mul(g, plan.warpsPerGroup * groupSums), j);
          Value sum = mlir::memref::LoadOp::create(ib, iloc, scratch, mlir::ValueRange{base});
          for (int64_t other = 1; other < plan.warpsPerGroup; ++other) {
            Value next = mlir::memref::LoadOp::create(ib, iloc, scratch, mlir::ValueRange{k.add(base, other * groupSums)});
            sum = k.addF(sum, next);
          }
          Value row = k.add(k.add(k.mul(block, rowsPerBlock), k.mul(g, groupRows)), k.div(j, plan.batch));
          storeRow(k, row, k.rem(j, plan.batch), sum);
          mlir::scf::YieldOp::create(ib, iloc);
        });
    // The next step's warps write the partial sums again: after every thread has read them.
    if (steps > 1) mlir::gpu::BarrierOp::create(b, loc);
  }
  insideSteps.reset();
  mlir::gpu::ReturnOp::create(b, loc);
  return func;
}

mlir::gpu::GPUFuncOp emitGpuQuantizeActivations(mlir::gpu::GPUModuleOp module, const QMatVecPlan& plan,
                                                const TargetInfo& target) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = module.getLoc();
  llvm::SmallVector<mlir::Type> inputs = {activationType(context, plan), scratchType(context, plan)};
  auto func = createKernel(b, loc, plan.quantizeKernelName, b.getFunctionType(inputs, {}), {}, "quantize_q8",
                           plan.quantizeBlockX);

  b.setInsertionPointToStart(&func.getBody().front());
  KernelIRBuilder kb(b, loc);
  Value x = func.getArgument(0);
  ActivationSource out = int8Source(kb, plan, func.getArgument(1));
  Value codes = kb.viewAs(func.getArgument(1), plan.scratchBytes, b.getI8Type());
  const int64_t values = plan.batch * plan.cols;

  // One lane per value, 32 lanes per block; every lane takes part in the shuffles (a block is
  // never split between the valid and the out-of-range lanes, as values % 32 == 0).
  // The product behind it may start now (sm_90, launched overlapping): it streams its weights in
  // and waits for this grid before reading the scratch.
  target.startDependentGrids(b, loc);
  Value thread = mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
  Value group = mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x);
  Value index = kb.add(kb.mul(group, plan.quantizeBlockX), thread);
  Value valid = kb.lessThan(index, kb.index(values));
  Value clamped = kb.minIndex(index, kb.index(values - 1));
  Value value = mlir::memref::LoadOp::create(b, loc, x, mlir::ValueRange{kb.div(clamped, plan.cols), kb.rem(clamped, plan.cols)});
  QuantizedLane q = quantizeLane(kb, target, value);
  emitIf(kb, valid, [&] {
    Value byte = mlir::arith::TruncIOp::create(b, loc, b.getI8Type(), q.code);
    mlir::memref::StoreOp::create(b, loc, byte, codes, mlir::ValueRange{index});
    emitIf(kb, equals(kb, kb.rem(index, 32), 0), [&] {
      Value block = kb.div(index, 32);
      Value at = kb.add(kb.mul(block, 2), out.pairsAt);
      mlir::memref::StoreOp::create(b, loc, q.scale, out.floats, mlir::ValueRange{at});
      mlir::memref::StoreOp::create(b, loc, q.scaledSum, out.floats, mlir::ValueRange{kb.add(at, 1)});
    });
  });
  mlir::gpu::ReturnOp::create(b, loc);
  return func;
}

mlir::func::FuncOp emitCpuQMatVec(mlir::ModuleOp module, const QMatVecPlan& plan, const TargetInfo& target) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = module.getLoc();
  llvm::SmallVector<mlir::Type> inputs = {weightType(context, plan), activationType(context, plan),
                                          outputType(context, plan), b.getIndexType(), b.getIndexType()};
  auto func = mlir::func::FuncOp::create(b, loc, plan.kernelName, b.getFunctionType(inputs, {}));
  func->setAttr(kKernelRoleAttr, b.getStringAttr("qmatvec"));
  mlir::Block* entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  KernelIRBuilder kb(b, loc);
  Value w = func.getArgument(0);
  Value y = func.getArgument(2);
  Value rowBegin = func.getArgument(3);
  Value rowEnd = func.getArgument(4);
  WeightViews weights = kb.weightViews(w, plan.weightBytes);
  ActivationSource activations;
  activations.x = func.getArgument(1);
  auto decoder = makeQuantDecoder(plan.quant, 4 * plan.tuning.vectorWidth, plan.cols,
                                  makeTableProvider(module, mlir::Attribute(), plan.kernelName), plan.layout);
  const int64_t rowsPerStep = plan.tuning.rowsPerBlock;

  mlir::scf::ForOp::create(
      b, loc, rowBegin, rowEnd, kb.index(rowsPerStep), mlir::ValueRange{},
      [&](mlir::OpBuilder& inner, mlir::Location innerLoc, Value firstRow, mlir::ValueRange) {
        KernelIRBuilder ib(inner, innerLoc);
        Value lastRow = ib.add(rowEnd, -1);
        llvm::SmallVector<Value> rowStarts;
        for (int64_t i = 0; i < rowsPerStep; ++i)
          rowStarts.push_back(ib.mul(ib.minIndex(ib.add(firstRow, i), lastRow), plan.rowBytes));
        RowDotBuilder rowDot(ib, plan, target, *decoder, weights, activations);
        llvm::SmallVector<Value> accs = rowDot.walkRows(rowStarts, ib.index(0), 1);
        for (int64_t i = 0; i < rowsPerStep; ++i) {
          Value row = ib.add(firstRow, i);
          llvm::SmallVector<Value> totals;
          for (int64_t v = 0; v < plan.batch; ++v) totals.push_back(rowDot.total(accs[i * plan.batch + v]));
          emitIf(ib, ib.lessThan(row, rowEnd), [&] {
            for (int64_t v = 0; v < plan.batch; ++v)
              mlir::memref::StoreOp::create(inner, innerLoc, totals[v], y, mlir::ValueRange{ib.index(v), row});
          });
        }
        mlir::scf::YieldOp::create(inner, innerLoc);
      });
  mlir::func::ReturnOp::create(b, loc);
  return func;
}

}  // namespace llmc::compiler
