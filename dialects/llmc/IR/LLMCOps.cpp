#include "llmc/IR/LLMCOps.h"

#include <string>

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir::llmc {

namespace {

// qmatvec keeps one accumulator per vector in registers; past 8 vectors the tiled qmatmul
// kernel is faster (the same split as llama.cpp's mmvq and mmq).
constexpr int64_t kMaxMatVecBatch = 8;

bool isDynamic(int64_t size) { return ShapedType::isDynamic(size); }

// Two sizes disagree only when both are known.
bool conflict(int64_t a, int64_t b) { return !isDynamic(a) && !isDynamic(b) && a != b; }

// A shape as the memref type spells it: "?x4096".
std::string formatShape(MemRefType type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      type.getShape(), os,
      [&](int64_t size) {
        if (isDynamic(size))
          os << '?';
        else
          os << size;
      },
      "x");
  return text;
}

// Operands that an op's ODS constraints already gave the same rank.
LogicalResult verifySameShape(Operation* op, StringRef name, MemRefType type, StringRef refName,
                              MemRefType refType) {
  for (auto [size, refSize] : llvm::zip_equal(type.getShape(), refType.getShape()))
    if (conflict(size, refSize))
      return op->emitOpError() << name << " shape (" << formatShape(type) << ") must match "
                               << refName << " shape (" << formatShape(refType) << ")";
  return success();
}

LogicalResult verifyPositiveFinite(Operation* op, StringRef name, const APFloat& value) {
  if (value.isNegative() || value.isZero() || !value.isFinite())
    return op->emitOpError() << name << " (" << value.convertToDouble()
                             << ") must be a positive finite number";
  return success();
}

// n_heads x head_dim, the row length of a buffer of heads.
FailureOr<int64_t> getHeadsWidth(Operation* op, StringRef headsName, int64_t heads,
                                 int64_t headDim) {
  std::optional<int64_t> width = llvm::checkedMul(heads, headDim);
  if (!width)
    return op->emitOpError() << headsName << " (" << heads << ") x head_dim (" << headDim
                             << ") overflows a 64-bit size";
  return *width;
}

LogicalResult verifyBlockMultiple(Operation* op, StringRef name, int64_t size, QuantType type) {
  int64_t blockSize = getBlockSize(type);
  if (size % blockSize != 0)
    return op->emitOpError() << name << " (" << size << ") must be a multiple of the "
                             << stringifyQuantType(type) << " block size (" << blockSize
                             << ")";
  return success();
}

// A rows x cols matrix stored as raw ggml blocks (weights, embedding tables).
LogicalResult verifyBlockMatrix(Operation* op, StringRef name, MemRefType bytes, QuantType type,
                                int64_t rows, int64_t cols) {
  if (failed(verifyBlockMultiple(op, "cols", cols, type))) return failure();
  std::optional<int64_t> rowBytes = getRowBytes(type, cols);
  std::optional<int64_t> totalBytes = rowBytes ? llvm::checkedMul(rows, *rowBytes) : std::nullopt;
  if (!totalBytes)
    return op->emitOpError() << "rows (" << rows << ") x cols (" << cols << ") of "
                             << stringifyQuantType(type) << " overflows a 64-bit byte size";
  if (conflict(bytes.getDimSize(0), *totalBytes))
    return op->emitOpError() << name << " holds " << bytes.getDimSize(0) << " bytes but rows ("
                             << rows << ") x cols (" << cols << ") of "
                             << stringifyQuantType(type) << " take " << *totalBytes;
  return success();
}

// The row count of [batch, width] operands x and y, when either knows it.
int64_t getStaticBatch(MemRefType x, MemRefType y) {
  return isDynamic(x.getDimSize(0)) ? y.getDimSize(0) : x.getDimSize(0);
}

template <typename QuantizedMatrixOp>
LogicalResult verifyQuantizedMatrix(QuantizedMatrixOp op) {
  auto rows = static_cast<int64_t>(op.getRows());
  auto cols = static_cast<int64_t>(op.getCols());
  MemRefType x = op.getX().getType();
  MemRefType y = op.getY().getType();
  if (failed(verifyBlockMatrix(op, "w", op.getW().getType(), op.getQuant(), rows, cols)))
    return failure();
  if (conflict(x.getDimSize(1), cols))
    return op.emitOpError() << "x row length (" << x.getDimSize(1) << ") must equal cols ("
                            << cols << ")";
  if (conflict(y.getDimSize(1), rows))
    return op.emitOpError() << "y row length (" << y.getDimSize(1) << ") must equal rows ("
                            << rows << ")";
  if (conflict(x.getDimSize(0), y.getDimSize(0)))
    return op.emitOpError() << "y has " << y.getDimSize(0) << " rows but x has "
                            << x.getDimSize(0);
  return success();
}

// A K or V cache whose rows each hold `rowValues` values (dynamic when unknown), a whole number
// of blocks for a quantized cache.
LogicalResult verifyCache(Operation* op, StringRef name, MemRefType cache, KvCacheType kv,
                          int64_t rowValues) {
  QuantType storage = getStorageType(kv);
  Type elementType = cache.getElementType();
  if (kv == KvCacheType::F16) {
    if (!elementType.isF16())
      return op->emitOpError() << name << " element type must be f16 for kv_cache<f16>, got "
                               << elementType;
  } else if (!elementType.isInteger(8)) {
    return op->emitOpError() << name << " element type must be i8 (raw "
                             << stringifyKvCacheType(kv) << " blocks) for kv_cache<"
                             << stringifyKvCacheType(kv) << ">, got " << elementType;
  }
  if (isDynamic(rowValues)) return success();
  std::optional<int64_t> rowSize =
      kv == KvCacheType::F16 ? std::optional<int64_t>(rowValues) : getRowBytes(storage, rowValues);
  if (!rowSize)
    return op->emitOpError() << "a row of " << rowValues << " values as "
                             << stringifyKvCacheType(kv) << " overflows a 64-bit size";
  if (conflict(cache.getDimSize(1), *rowSize))
    return op->emitOpError() << name << " row length (" << cache.getDimSize(1) << ") must be "
                             << *rowSize << " to hold " << rowValues << " values as "
                             << stringifyKvCacheType(kv);
  return success();
}

template <typename ElementwiseBinaryOp>
LogicalResult verifyElementwiseBinary(ElementwiseBinaryOp op) {
  MemRefType lhs = op.getLhs().getType();
  MemRefType rhs = op.getRhs().getType();
  if (rhs.getRank() == 1) {
    if (conflict(rhs.getDimSize(0), lhs.getDimSize(1)))
      return op.emitOpError() << "rhs length (" << rhs.getDimSize(0)
                              << ") must equal the row length of lhs (" << lhs.getDimSize(1)
                              << ")";
  } else if (failed(verifySameShape(op, "rhs", rhs, "lhs", lhs))) {
    return failure();
  }
  return verifySameShape(op, "out", op.getOut().getType(), "lhs", lhs);
}

}  // namespace

LogicalResult QMatVecOp::verify() {
  if (failed(verifyQuantizedMatrix(*this))) return failure();
  int64_t batch = getStaticBatch(getX().getType(), getY().getType());
  if (isDynamic(batch))
    return emitOpError("batch must be static: x or y needs a static row count");
  if (batch < 1 || batch > kMaxMatVecBatch)
    return emitOpError() << "batch (" << batch << ") must be in 1.." << kMaxMatVecBatch
                         << "; larger batches use llmc.qmatmul";
  return success();
}

LogicalResult QMatMulOp::verify() {
  if (failed(verifyQuantizedMatrix(*this))) return failure();
  int64_t batch = getStaticBatch(getX().getType(), getY().getType());
  if (!isDynamic(batch) && batch <= kMaxMatVecBatch)
    return emitOpError() << "batch (" << batch << ") must be greater than " << kMaxMatVecBatch
                         << "; batches of 1.." << kMaxMatVecBatch << " use llmc.qmatvec";
  if (TuningAttr tuning = getTuningAttr(); tuning && tuning.getGroupWarps() != 0)
    return emitOpError() << "tuning group_warps (" << tuning.getGroupWarps()
                         << ") applies to llmc.qmatvec only; llmc.qmatmul tiles by rows_per_block and warps";
  if (TuningAttr tuning = getTuningAttr(); tuning && tuning.getPrefetch() != 0)
    return emitOpError() << "tuning prefetch (" << tuning.getPrefetch() << ") applies to llmc.qmatvec only";
  if (TuningAttr tuning = getTuningAttr(); tuning && tuning.getRowSteps() != 1)
    return emitOpError() << "tuning row_steps (" << tuning.getRowSteps() << ") applies to llmc.qmatvec only";
  if (TuningAttr tuning = getTuningAttr(); tuning && tuning.getMinBlocks() != 0)
    return emitOpError() << "tuning min_blocks (" << tuning.getMinBlocks() << ") applies to llmc.qmatvec only";
  return success();
}

LogicalResult RmsNormOp::verify() {
  MemRefType x = getX().getType();
  MemRefType weight = getWeight().getType();
  if (conflict(weight.getDimSize(0), x.getDimSize(1)))
    return emitOpError() << "weight length (" << weight.getDimSize(0)
                         << ") must equal the row length of x (" << x.getDimSize(1) << ")";
  if (failed(verifySameShape(*this, "out", getOut().getType(), "x", x))) return failure();
  if (Value q8 = getQ8()) {
    const int64_t width = x.getDimSize(1);
    if (!isDynamic(width) && width % 32 != 0)
      return emitOpError() << "q8: the row length (" << width << ") must be a multiple of 32";
    const int64_t rows = x.getDimSize(0);
    const int64_t bytes = llvm::cast<MemRefType>(q8.getType()).getDimSize(0);
    if (!isDynamic(rows) && !isDynamic(width) && !isDynamic(bytes) && bytes != rows * width + rows * width / 4)
      return emitOpError() << "q8 holds " << bytes << " bytes; " << rows << " rows of " << width
                           << " values take " << rows * width + rows * width / 4
                           << " (the codes, then 8 bytes of scales per 32)";
  }
  return verifyPositiveFinite(*this, "eps", getEps());
}

LogicalResult RopeOp::verify() {
  auto dims = static_cast<int64_t>(getDims());
  auto headDim = static_cast<int64_t>(getHeadDim());
  MemRefType x = getX().getType();
  MemRefType positions = getPositions().getType();
  if (dims % 2 != 0) return emitOpError() << "dims (" << dims << ") must be even";
  if (dims > headDim)
    return emitOpError() << "dims (" << dims << ") must not exceed head_dim (" << headDim << ")";
  FailureOr<int64_t> width =
      getHeadsWidth(*this, "n_heads", static_cast<int64_t>(getNHeads()), headDim);
  if (failed(width)) return failure();
  if (conflict(x.getDimSize(1), *width))
    return emitOpError() << "x row length (" << x.getDimSize(1) << ") must equal n_heads ("
                         << getNHeads() << ") x head_dim (" << headDim << ") = " << *width;
  if (conflict(positions.getDimSize(0), x.getDimSize(0)))
    return emitOpError() << "positions length (" << positions.getDimSize(0)
                         << ") must equal the row count of x (" << x.getDimSize(0) << ")";
  if (failed(verifySameShape(*this, "out", getOut().getType(), "x", x))) return failure();
  return verifyPositiveFinite(*this, "freq_base", getFreqBase());
}

LogicalResult SwiGluOp::verify() {
  MemRefType gate = getGate().getType();
  if (failed(verifySameShape(*this, "up", getUp().getType(), "gate", gate))) return failure();
  return verifySameShape(*this, "out", getOut().getType(), "gate", gate);
}

LogicalResult SoftmaxOp::verify() {
  if (failed(verifySameShape(*this, "out", getOut().getType(), "x", getX().getType())))
    return failure();
  if (std::optional<APFloat> scale = getScale())
    return verifyPositiveFinite(*this, "scale", *scale);
  return success();
}

LogicalResult AddOp::verify() { return verifyElementwiseBinary(*this); }

LogicalResult MulOp::verify() { return verifyElementwiseBinary(*this); }

LogicalResult EmbedOp::verify() {
  auto rows = static_cast<int64_t>(getRows());
  auto cols = static_cast<int64_t>(getCols());
  MemRefType out = getOut().getType();
  MemRefType ids = getIds().getType();
  if (failed(verifyBlockMatrix(*this, "table", getTable().getType(), getQuant(), rows, cols)))
    return failure();
  if (conflict(out.getDimSize(1), cols))
    return emitOpError() << "out row length (" << out.getDimSize(1) << ") must equal cols ("
                         << cols << ")";
  if (conflict(ids.getDimSize(0), out.getDimSize(0)))
    return emitOpError() << "ids length (" << ids.getDimSize(0)
                         << ") must equal the row count of out (" << out.getDimSize(0) << ")";
  return success();
}

LogicalResult ArgMaxOp::verify() {
  MemRefType logits = getLogits().getType();
  MemRefType out = getOut().getType();
  if (conflict(out.getDimSize(0), logits.getDimSize(0)))
    return emitOpError() << "out length (" << out.getDimSize(0)
                         << ") must equal the row count of logits (" << logits.getDimSize(0)
                         << ")";
  return success();
}

LogicalResult KvStoreOp::verify() {
  MemRefType src = getSrc().getType();
  MemRefType cache = getCache().getType();
  int64_t rowValues = src.getDimSize(1);
  if (getKv() != KvCacheType::F16 && !isDynamic(rowValues) &&
      failed(verifyBlockMultiple(*this, "src row length", rowValues, getStorageType(getKv()))))
    return failure();
  if (failed(verifyCache(*this, "cache", cache, getKv(), rowValues))) return failure();
  if (!isDynamic(src.getDimSize(0)) && !isDynamic(cache.getDimSize(0)) &&
      src.getDimSize(0) > cache.getDimSize(0))
    return emitOpError() << "src has " << src.getDimSize(0) << " rows but the cache holds "
                         << cache.getDimSize(0) << " positions";
  return success();
}

LogicalResult AttentionOp::verify() {
  auto nHeads = static_cast<int64_t>(getNHeads());
  auto nKvHeads = static_cast<int64_t>(getNKvHeads());
  auto headDim = static_cast<int64_t>(getHeadDim());
  MemRefType q = getQ().getType();
  MemRefType kCache = getKCache().getType();
  if (nHeads % nKvHeads != 0)
    return emitOpError() << "n_heads (" << nHeads << ") must be a multiple of n_kv_heads ("
                         << nKvHeads << ")";
  // A quantized block must not straddle two heads: each head is dequantized on its own.
  if (getKv() != KvCacheType::F16 &&
      failed(verifyBlockMultiple(*this, "head_dim", headDim, getStorageType(getKv()))))
    return failure();
  FailureOr<int64_t> qWidth = getHeadsWidth(*this, "n_heads", nHeads, headDim);
  if (failed(qWidth)) return failure();
  if (conflict(q.getDimSize(1), *qWidth))
    return emitOpError() << "q row length (" << q.getDimSize(1) << ") must equal n_heads ("
                         << nHeads << ") x head_dim (" << headDim << ") = " << *qWidth;
  if (failed(verifySameShape(*this, "out", getOut().getType(), "q", q))) return failure();
  // n_kv_heads <= n_heads, so this product cannot overflow once n_heads x head_dim did not.
  int64_t kvWidth = nKvHeads * headDim;
  if (failed(verifyCache(*this, "k_cache", kCache, getKv(), kvWidth)) ||
      failed(verifyCache(*this, "v_cache", getVCache().getType(), getKv(), kvWidth)) ||
      failed(verifySameShape(*this, "v_cache", getVCache().getType(), "k_cache", kCache)))
    return failure();
  return verifyPositiveFinite(*this, "scale", getScale());
}

}  // namespace mlir::llmc

#define GET_OP_CLASSES
#include "llmc/IR/LLMCOps.cpp.inc"
