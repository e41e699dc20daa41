// The prefill product's kernel bodies, written once for every GPU target, and the x86 function.
//
// GPU: one workgroup per (tileRows x tileTokens) tile of y. Each K-step, the workgroup's threads
// first fill two tiles of workgroup memory: the step's activations of the tile's tokens (plain f32
// copies) and the step's weights of the tile's rows, dequantized once by the qmatvec decoders.
// Both are stored K-major and in the decoders' slice order: a slice's groups need not be adjacent
// columns (Q4_0's low and high nibbles are 16 apart), but weights and activations are permuted
// alike, so the dot product over a step does not care. After a barrier each thread accumulates
// its threadRows x threadTokens register block from vectors of the two tiles.
//
// x86-64: rows [row_begin, row_end) in steps of rowsPerStep rows, dequantized into a stack buffer
// once, then dotted with every token row, tokensPerStep tokens at a time, in 256-bit FMAs.
#include "QMatMulEmitter.h"

#include <algorithm>
#include <functional>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "KernelIRBuilder.h"
#include "QMatVecEmitter.h"
#include "QuantDecoders.h"

namespace llmc::compiler {

using mlir::Value;

namespace {


Value laneOf(KernelIRBuilder& kb, Value vector, int64_t i) {
  return mlir::vector::ExtractOp::create(kb.b, kb.loc, vector, llvm::ArrayRef<int64_t>{i});
}

// The alignment in bytes of an f32 offset that is a multiple of `values` (a 16-byte aligned buffer).
int64_t alignmentOf(int64_t values) {
  int64_t align = 4;
  while (align < 16 && (values * 4) % (align * 2) == 0) align *= 2;
  return align;
}

Value loadF32(KernelIRBuilder& kb, Value buffer, mlir::ValueRange indices, int64_t n) {
  return mlir::vector::LoadOp::create(kb.b, kb.loc, mlir::VectorType::get({n}, kb.b.getF32Type()), buffer, indices,
                                      false, llvm::MaybeAlign(alignmentOf(n)));
}

void storeF32(KernelIRBuilder& kb, Value value, Value buffer, mlir::ValueRange indices) {
  const int64_t n = llvm::cast<mlir::VectorType>(value.getType()).getNumElements();
  mlir::vector::StoreOp::create(kb.b, kb.loc, value, buffer, indices, false, llvm::MaybeAlign(alignmentOf(n)));
}

int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0) return d;
  return 1;
}

// Slice `slice` of a row (an index over the row's slices): its block and its part in the block.
struct SliceAt {
  Value block;
  Value part;
};

SliceAt sliceAt(KernelIRBuilder& kb, const QMatMulPlan& plan, Value slice) {
  return {kb.div(slice, plan.slicesPerBlock), kb.rem(slice, plan.slicesPerBlock)};
}

// The first column of group `g` (an index below groupsPerSlice) of the slice: groupOffset takes a
// constant group, so every group's offset is built and the right one selected.
Value groupColumn(KernelIRBuilder& kb, const QuantDecoder& decoder, const SliceAt& at, Value g) {
  Value first = kb.mul(at.block, decoder.blockValues());
  Value offset = decoder.groupOffset(kb, at.part, 0);
  for (int i = 1; i < decoder.groupsPerSlice(); ++i) {
    Value isGroup =
        mlir::arith::CmpIOp::create(kb.b, kb.loc, mlir::arith::CmpIPredicate::eq, g, kb.index(i));
    offset = mlir::arith::SelectOp::create(kb.b, kb.loc, isGroup, decoder.groupOffset(kb, at.part, i), offset);
  }
  return kb.add(first, offset);
}

Value tokenCount(KernelIRBuilder& kb, Value tokens) {
  return mlir::arith::IndexCastOp::create(kb.b, kb.loc, kb.b.getIndexType(), tokens);
}

}  // namespace

llvm::SmallVector<mlir::Type> qmatmulParamTypes(mlir::MLIRContext* context, const QMatMulPlan& plan) {
  mlir::OpBuilder b(context);
  return {mlir::MemRefType::get({plan.weightBytes}, b.getI8Type()),
          mlir::MemRefType::get({plan.maxTokens, plan.cols}, b.getF32Type()),
          mlir::MemRefType::get({plan.maxTokens, plan.rows}, b.getF32Type()), b.getI64Type()};
}

mlir::gpu::GPUFuncOp emitGpuQMatMul(mlir::gpu::GPUModuleOp module, const QMatMulPlan& plan, const TargetInfo& target) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = module.getLoc();
  const int64_t tileRows = plan.tileRows;
  const int64_t tileTokens = plan.tileTokens;
  const int64_t stepValues = plan.stepValues;
  const int64_t threadRows = plan.threadRows;
  const int64_t threadTokens = plan.threadTokens;
  const int64_t groups = plan.groupsPerSlice;
  const int64_t k = plan.groupLength;

  // Tiles stored K-major (value kk of the step, then the row or the token): a thread's block reads
  // threadRows consecutive rows and threadTokens consecutive tokens as vectors, and the lanes that
  // fill a tile write consecutive words (rows, or tokens, of one value).
  mlir::Attribute shared = target.sharedMemorySpace(context);
  auto tile = [&](int64_t size) {
    return mlir::MemRefType::get({size}, b.getF32Type(), mlir::MemRefLayoutAttrInterface(), shared);
  };
  llvm::SmallVector<mlir::Type> workgroup = {tile(stepValues * tileRows), tile(stepValues * tileTokens)};
  auto func = createKernel(b, loc, plan.kernelName, b.getFunctionType(qmatmulParamTypes(context, plan), {}), workgroup,
                           "qmatmul", plan.blockX);

  b.setInsertionPointToStart(&func.getBody().front());
  KernelIRBuilder kb(b, loc);
  Value x = func.getArgument(1);
  Value y = func.getArgument(2);
  Value tokens = tokenCount(kb, func.getArgument(3));
  Value weightTile = func.getWorkgroupAttributions()[0];
  Value tokenTile = func.getWorkgroupAttributions()[1];
  WeightViews weights = kb.weightViews(func.getArgument(0), plan.weightBytes);
  auto decoder = makeQuantDecoder(
      plan.quant, plan.laneBytes, plan.cols,
      makeTableProvider(module, mlir::gpu::AddressSpaceAttr::get(context, mlir::gpu::AddressSpace::Global), plan.kernelName),
      plan.layout);

  Value thread = mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
  Value firstRow = kb.mul(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x), tileRows);
  Value firstToken = kb.mul(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::y), tileTokens);
  // Rows and tokens past the end (last tiles) repeat the last one, and nothing is stored for them.
  Value lastRow = kb.index(plan.rows - 1);
  Value lastToken = kb.add(tokens, -1);
  Value blockRow = kb.mul(kb.div(thread, plan.threadTokenGroups), threadRows);
  Value blockToken = kb.mul(kb.rem(thread, plan.threadTokenGroups), threadTokens);
  Value threads = kb.index(plan.blockX);

  auto accType = mlir::VectorType::get({threadTokens}, b.getF32Type());
  Values zeros(threadRows, kb.zero(accType));
  // One K-step: fill both tiles, then accumulate from them.
  auto kStep = [&](KernelIRBuilder& ikb, Value step, mlir::ValueRange carried) {
    Value firstSlice = ikb.mul(step, plan.slicesPerStep);
    // Activations: item = (slice group, token); a group's k values go to k rows of the tile.
    forEach(ikb, thread, ikb.index(tileTokens * plan.slicesPerStep * groups), threads,
            [&](KernelIRBuilder& jkb, Value item) {
              Value n = jkb.rem(item, tileTokens);
              Value group = jkb.div(item, tileTokens);  // slice s of the step, group g: s x groups + g
              SliceAt at = sliceAt(jkb, plan, jkb.add(firstSlice, jkb.div(group, groups)));
              Value column = groupColumn(jkb, *decoder, at, jkb.rem(group, groups));
              Value token = jkb.minIndex(jkb.add(firstToken, n), lastToken);
              Value values = loadF32(jkb, x, {token, column}, k);
              Value at0 = jkb.add(jkb.mul(jkb.mul(group, k), tileTokens), n);
              for (int64_t i = 0; i < k; ++i)
                mlir::memref::StoreOp::create(jkb.b, jkb.loc, laneOf(jkb, values, i), tokenTile,
                                              mlir::ValueRange{jkb.add(at0, i * tileTokens)});
            });
    // Weights: item = (slice, row), dequantized once for every token of the tile.
    forEach(ikb, thread, ikb.index(tileRows * plan.slicesPerStep), threads, [&](KernelIRBuilder& jkb, Value item) {
      Value r = jkb.rem(item, tileRows);
      Value s = jkb.div(item, tileRows);
      SliceAt at = sliceAt(jkb, plan, jkb.add(firstSlice, s));
      Value row = jkb.minIndex(jkb.add(firstRow, r), lastRow);
      Values values = decoder->dequantize(jkb, weights, BlockRef{jkb.mul(row, plan.rowBytes), at.block}, at.part);
      Value at0 = jkb.add(jkb.mul(jkb.mul(s, groups * k), tileRows), r);
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t i = 0; i < k; ++i)
          mlir::memref::StoreOp::create(jkb.b, jkb.loc, laneOf(jkb, values[g], i), weightTile,
                                        mlir::ValueRange{jkb.add(at0, (g * k + i) * tileRows)});
    });
    mlir::gpu::BarrierOp::create(ikb.b, ikb.loc);
    // The register block: per value kk of the step, threadRows weights times threadTokens
    // activations, one vector FMA per row.
    const int64_t unroll = largestDivisorAtMost(stepValues, 4);
    auto multiply = [&](KernelIRBuilder& jkb, Value kk0, mlir::ValueRange in) {
      Values acc(in.begin(), in.end());
      for (int64_t u = 0; u < unroll; ++u) {
        Value kk = jkb.add(kk0, u);
        Value w = loadF32(jkb, weightTile, {jkb.add(jkb.mul(kk, tileRows), blockRow)}, threadRows);
        Value xs = loadF32(jkb, tokenTile, {jkb.add(jkb.mul(kk, tileTokens), blockToken)}, threadTokens);
        for (int64_t i = 0; i < threadRows; ++i)
          acc[i] = mlir::vector::FMAOp::create(jkb.b, jkb.loc, jkb.splat(laneOf(jkb, w, i), threadTokens), xs, acc[i]);
      }
      return acc;
    };
    Values next = forLoop(ikb, ikb.index(0), ikb.index(stepValues), ikb.index(unroll), carried, multiply);
    // The next step refills the tiles only when every thread is done with them.
    mlir::gpu::BarrierOp::create(ikb.b, ikb.loc);
    return next;
  };
  Values accs = forLoop(kb, kb.index(0), kb.index(plan.steps), kb.index(1), zeros, kStep);

  for (int64_t i = 0; i < threadRows; ++i) {
    Value row = kb.add(kb.add(firstRow, blockRow), i);
    emitIf(kb, kb.lessThan(row, kb.index(plan.rows)), [&] {
      for (int64_t j = 0; j < threadTokens; ++j) {
        Value token = kb.add(kb.add(firstToken, blockToken), j);
        emitIf(kb, kb.lessThan(token, tokens), [&] {
          mlir::memref::StoreOp::create(kb.b, kb.loc, laneOf(kb, accs[i], j), y, mlir::ValueRange{token, row});
        });
      }
    });
  }
  mlir::gpu::ReturnOp::create(b, loc);
  return func;
}

mlir::func::FuncOp emitCpuQMatMul(mlir::ModuleOp module, const QMatMulPlan& plan, const TargetInfo&) {
  mlir::MLIRContext* context = module.getContext();
  mlir::OpBuilder b(context);
  b.setInsertionPointToEnd(module.getBody());
  mlir::Location loc = module.getLoc();
  llvm::SmallVector<mlir::Type> inputs = qmatmulParamTypes(context, plan);
  inputs.append({b.getIndexType(), b.getIndexType()});
  auto func = mlir::func::FuncOp::create(b, loc, plan.kernelName, b.getFunctionType(inputs, {}));
  func->setAttr(kKernelRoleAttr, b.getStringAttr("qmatmul"));
  b.setInsertionPointToStart(func.addEntryBlock());
  KernelIRBuilder kb(b, loc);
  Value x = func.getArgument(1);
  Value y = func.getArgument(2);
  Value tokens = tokenCount(kb, func.getArgument(3));
  Value rowBegin = func.getArgument(4);
  Value rowEnd = func.getArgument(5);
  WeightViews weights = kb.weightViews(func.getArgument(0), plan.weightBytes);
  auto decoder = makeQuantDecoder(plan.quant, plan.laneBytes, plan.cols,
                                  makeTableProvider(module, mlir::Attribute(), plan.kernelName), plan.layout);
  const int64_t rowsPerStep = plan.rowsPerStep;
  const int64_t tokensPerStep = plan.tokensPerStep;
  const int64_t width = plan.vectorWidth;
  const int64_t cols = plan.cols;
  // The step's rows, dequantized: row i at [i x cols, (i + 1) x cols). F32 rows are read where
  // they are (a copy would also become a memcpy call, which the objects cannot link).
  const bool inPlace = plan.quant == mlir::llmc::QuantType::F32;
  Value rowBuffer = inPlace ? kb.viewAs(func.getArgument(0), plan.weightBytes, b.getF32Type())
                            : mlir::memref::AllocaOp::create(b, loc,
                                                             mlir::MemRefType::get({rowsPerStep * cols}, b.getF32Type()),
                                                             b.getI64IntegerAttr(32))
                                  .getResult();

  forEach(kb, rowBegin, rowEnd, kb.index(rowsPerStep), [&](KernelIRBuilder& ikb, Value firstRow) {
    // Rows past the range (the last step) repeat its last row, and nothing is stored for them.
    Value lastRow = ikb.add(rowEnd, -1);
    Values rowStarts;
    Values rowValues;  // where row i's values start in rowBuffer
    for (int64_t i = 0; i < rowsPerStep; ++i) {
      Value row = ikb.minIndex(ikb.add(firstRow, i), lastRow);
      rowStarts.push_back(ikb.mul(row, plan.rowBytes));
      rowValues.push_back(inPlace ? ikb.mul(row, cols) : ikb.index(i * cols));
    }
    if (!inPlace)
      forEach(ikb, ikb.index(0), ikb.index(plan.slicesPerRow), ikb.index(1), [&](KernelIRBuilder& jkb, Value slice) {
      SliceAt at = sliceAt(jkb, plan, slice);
      Values columns;
      for (int g = 0; g < plan.groupsPerSlice; ++g) columns.push_back(groupColumn(jkb, *decoder, at, jkb.index(g)));
      for (int64_t i = 0; i < rowsPerStep; ++i) {
        Values values = decoder->dequantize(jkb, weights, BlockRef{rowStarts[i], at.block}, at.part);
        for (size_t g = 0; g < values.size(); ++g) storeF32(jkb, values[g], rowBuffer, {jkb.add(columns[g], i * cols)});
      }
      });

    Value lastToken = ikb.add(tokens, -1);
    forEach(ikb, ikb.index(0), tokens, ikb.index(tokensPerStep), [&](KernelIRBuilder& jkb, Value firstToken) {
      Values tokenRows;
      for (int64_t j = 0; j < tokensPerStep; ++j) tokenRows.push_back(jkb.minIndex(jkb.add(firstToken, j), lastToken));
      auto vectorType = mlir::VectorType::get({width}, jkb.b.getF32Type());
      Values zeros(rowsPerStep * tokensPerStep, jkb.zero(vectorType));
      // Accumulator i x tokensPerStep + j: row i, token j. Each activation vector feeds every row,
      // each weight vector every token.
      Values accs = forLoop(jkb, jkb.index(0), jkb.index(cols), jkb.index(width), zeros,
                            [&](KernelIRBuilder& lkb, Value col, mlir::ValueRange carried) {
                              Values acc(carried.begin(), carried.end());
                              Values xs;
                              for (Value t : tokenRows) xs.push_back(loadF32(lkb, x, {t, col}, width));
                              for (int64_t i = 0; i < rowsPerStep; ++i) {
                                Value w = loadF32(lkb, rowBuffer, {lkb.add(rowValues[i], col)}, width);
                                for (int64_t j = 0; j < tokensPerStep; ++j) {
                                  Value& a = acc[i * tokensPerStep + j];
                                  a = mlir::vector::FMAOp::create(lkb.b, lkb.loc, w, xs[j], a);
                                }
                              }
                              return acc;
                            });
      for (int64_t i = 0; i < rowsPerStep; ++i) {
        Value row = jkb.add(firstRow, i);
        Value rowInRange = jkb.lessThan(row, rowEnd);
        for (int64_t j = 0; j < tokensPerStep; ++j) {
          Value total = mlir::vector::ReductionOp::create(jkb.b, jkb.loc, mlir::vector::CombiningKind::ADD,
                                                          accs[i * tokensPerStep + j]);
          Value inRange = mlir::arith::AndIOp::create(jkb.b, jkb.loc, rowInRange,
                                                      jkb.lessThan(jkb.add(firstToken, j), tokens));
          emitIf(jkb, inRange, [&] {
            mlir::memref::StoreOp::create(jkb.b, jkb.loc, total, y, mlir::ValueRange{tokenRows[j], row});
          });
        }
      }
    });
  });
  mlir::func::ReturnOp::create(b, loc);
  return func;
}

}  // namespace llmc::compiler
