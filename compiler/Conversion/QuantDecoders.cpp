// The ggml block layouts (runtime/src/devices/cpu/quant_blocks.h is the reference) as IR. Each
// decoder mirrors the reference dequantizer's arithmetic; the int8 forms follow the same integer
// identities as ggml's vec_dot kernels (codes times int8 activations, scales applied per block).
#include "QuantDecoders.h"

#include <algorithm>
#include <array>

#include "llmc/compiler/TargetInfo.h"
#include "llmc/weight_layout.h"

namespace llmc::compiler {

using mlir::Value;
using mlir::llmc::QuantType;

namespace {

// The largest power of two that divides every non-zero argument (16 at most: the buffer's own).
int64_t commonAlign(std::initializer_list<int64_t> values) {
  int64_t align = 16;
  for (int64_t v : values)
    if (v != 0) align = std::min(align, v & -v);
  return align;
}

// The group length: `laneBytes` of packed data, at most `limit`, a power of two.
int64_t groupLengthFor(int64_t laneBytes, int64_t limit) {
  int64_t k = 4;
  while (k * 2 <= std::min(laneBytes, limit)) k *= 2;
  return k;
}

mlir::VectorType quadsType(KernelIRBuilder& kb, int64_t k) { return mlir::VectorType::get({k / 4}, kb.b.getI32Type()); }

Value asQuads(KernelIRBuilder& kb, Value bytes) {
  auto type = llvm::cast<mlir::VectorType>(bytes.getType());
  return mlir::vector::BitCastOp::create(kb.b, kb.loc, quadsType(kb, type.getNumElements()), bytes);
}

Value lane(KernelIRBuilder& kb, Value vector, int64_t i) {
  return mlir::vector::ExtractOp::create(kb.b, kb.loc, vector, llvm::ArrayRef<int64_t>{i});
}

// Sum over the quads of dot4(codes[i], activations[i]), as i32.
Value dotQuads(KernelIRBuilder& kb, const TargetInfo& target, llvm::ArrayRef<Value> codes, Value activations, Value acc) {
  for (size_t i = 0; i < codes.size(); ++i)
    acc = target.dot4(kb.b, kb.loc, codes[i], lane(kb, activations, static_cast<int64_t>(i)), acc);
  return acc;
}

// values[i] = table[indices[i]] for 4-bit indices (vector<k x i8>), as f32.
Value lookup(KernelIRBuilder& kb, Value table, Value indices) {
  auto type = llvm::cast<mlir::VectorType>(indices.getType());
  const int64_t k = type.getNumElements();
  auto maskType = mlir::VectorType::get({k}, kb.b.getI1Type());
  Value mask = mlir::arith::ConstantOp::create(kb.b, kb.loc, maskType,
                                               mlir::DenseElementsAttr::get(maskType, true));
  auto resultType = mlir::VectorType::get({k}, kb.b.getF32Type());
  Value passThrough = kb.zero(resultType);
  return mlir::vector::GatherOp::create(kb.b, kb.loc, resultType, table, mlir::ValueRange{kb.index(0)},
                                        kb.extU32(indices), mask, passThrough);
}

// Bit 4 of each byte of the result is bit `i` of `bits` for byte i (the fifth bit of Q5 codes,
// four at a time, as llama.cpp spreads it).
Value spreadFifthBits(KernelIRBuilder& kb, Value bits) {
  Value result = kb.andI(kb.shl(bits, 4), 0x10);
  result = kb.orI(result, kb.andI(kb.shl(bits, 11), 0x1000));
  result = kb.orI(result, kb.andI(kb.shl(bits, 18), 0x100000));
  return kb.orI(result, kb.andI(kb.shl(bits, 25), 0x10000000));
}

Value shrDynamic(KernelIRBuilder& kb, Value value, Value amount) {
  return mlir::arith::ShRUIOp::create(kb.b, kb.loc, value, amount);
}

//===----------------------------------------------------------------------===//
// F32, F16, BF16: a "block" is one group of k values.
//===----------------------------------------------------------------------===//

class FloatRowDecoder final : public QuantDecoder {
 public:
  FloatRowDecoder(QuantType type, int64_t k, int64_t elementBytes)
      : QuantDecoder(k, k * elementBytes, k, 1, 1), type_(type) {}

  Value groupOffset(KernelIRBuilder& kb, Value, int) const override { return kb.index(0); }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& ref,
                                      Value) const override {
    const int64_t k = groupLength();
    auto f32Type = mlir::VectorType::get({k}, kb.b.getF32Type());
    Value block = at(kb, ref, 0);
    if (type_ == QuantType::F32) {
      auto type = mlir::VectorType::get({k}, kb.b.getI32Type());
      Value bits = mlir::vector::LoadOp::create(kb.b, kb.loc, type, w.words, mlir::ValueRange{kb.div(block, 4)}, false,
                                                llvm::MaybeAlign(std::min<int64_t>(4 * k, 16)));
      return {mlir::vector::BitCastOp::create(kb.b, kb.loc, f32Type, bits)};
    }
    auto type = mlir::VectorType::get({k}, kb.b.getI16Type());
    Value bits = mlir::vector::LoadOp::create(kb.b, kb.loc, type, w.halves, mlir::ValueRange{kb.div(block, 2)}, false,
                                              llvm::MaybeAlign(std::min<int64_t>(2 * k, 16)));
    if (type_ == QuantType::BF16) return {kb.bf16BitsToF32(bits)};
    Value halves = mlir::vector::BitCastOp::create(kb.b, kb.loc, mlir::VectorType::get({k}, kb.b.getF16Type()), bits);
    return {mlir::arith::ExtFOp::create(kb.b, kb.loc, f32Type, halves)};
  }

 private:
  QuantType type_;
};

//===----------------------------------------------------------------------===//
// 32-value blocks with 16 bytes of nibbles (element j low, j + 16 high): Q4_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL, MXFP4. A slice is k bytes of nibbles: groups at j0 and 16 + j0.
//===----------------------------------------------------------------------===//

class NibbleBlockDecoder final : public QuantDecoder {
 public:
  NibbleBlockDecoder(QuantType type, int64_t bytes, int64_t k, TableProvider tables)
      : QuantDecoder(32, bytes, k, 2, 16 / k), type_(type), tables_(std::move(tables)) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int g) const override {
    return kb.add(kb.mul(part, groupLength()), g == 0 ? 0 : 16);
  }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    const int64_t k = groupLength();
    Value bytes = loadCodes(kb, w, block, part);
    Value low = kb.andI(bytes, 0x0F);
    Value high = kb.shrU(bytes, 4);
    auto scaled = [&](Value values, Value d) { return kb.mulF(values, kb.splat(d, k)); };
    switch (type_) {
      case QuantType::Q4_0: {
        Value d = kb.loadF16(w, at(kb, block, 0));
        return {scaled(kb.sToF32(kb.subI(low, 8)), d), scaled(kb.sToF32(kb.subI(high, 8)), d)};
      }
      case QuantType::Q4_1: {
        Value d = kb.loadF16(w, at(kb, block, 0));
        Value m = kb.splat(kb.loadF16(w, at(kb, block, 2)), k);
        return {kb.addF(scaled(kb.uToF32(low), d), m), kb.addF(scaled(kb.uToF32(high), d), m)};
      }
      case QuantType::Q5_0:
      case QuantType::Q5_1: {
        const bool hasMin = type_ == QuantType::Q5_1;
        Value d = kb.loadF16(w, at(kb, block, 0));
        Value qh = kb.splat(loadHighBits(kb, w, block), k);
        Value j0 = kb.toI32(kb.mul(part, k));
        auto code = [&](Value nibbles, Value firstBit) {
          Value fifth = kb.shl(kb.andI(shrDynamic(kb, qh, kb.iotaI32(firstBit, k)), 1), 4);
          return kb.orI(kb.extU32(nibbles), fifth);
        };
        Value lowCode = code(low, j0);
        Value highCode = code(high, kb.add(j0, 16));
        if (hasMin) {
          Value m = kb.splat(kb.loadF16(w, at(kb, block, 2)), k);
          return {kb.addF(scaled(kb.uToF32(lowCode), d), m), kb.addF(scaled(kb.uToF32(highCode), d), m)};
        }
        return {scaled(kb.sToF32(kb.subI(lowCode, 16)), d), scaled(kb.sToF32(kb.subI(highCode, 16)), d)};
      }
      case QuantType::IQ4_NL: {
        static constexpr float kGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
        Value table = tables_(kb, "llmc_iq4nl_grid", kGrid);
        Value d = kb.splat(kb.loadF16(w, at(kb, block, 0)), k);
        return {kb.mulF(d, lookup(kb, table, low)), kb.mulF(d, lookup(kb, table, high))};
      }
      case QuantType::MXFP4: {
        // ggml's E2M1 grid holds doubled values; the E8M0 scale is halved to match.
        static constexpr float kGrid[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
        Value table = tables_(kb, "llmc_mxfp4_grid", kGrid);
        Value d = kb.splat(halfE8M0(kb, kb.loadU8(w, at(kb, block, 0))), k);
        return {kb.mulF(lookup(kb, table, low), d), kb.mulF(lookup(kb, table, high), d)};
      }
      default: return {};
    }
  }

  bool hasInt8Dot() const override {
    return type_ == QuantType::Q4_0 || type_ == QuantType::Q4_1 || type_ == QuantType::Q5_0 ||
           type_ == QuantType::Q5_1;
  }

  Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, const BlockRef& block, Value part,
                llvm::ArrayRef<Int8Activations> x) const override {
    const int64_t k = groupLength();
    Value quads = asQuads(kb, loadCodes(kb, w, block, part));
    const bool fiveBit = type_ == QuantType::Q5_0 || type_ == QuantType::Q5_1;
    const bool hasMin = type_ == QuantType::Q4_1 || type_ == QuantType::Q5_1;
    Value qh;
    Value j0;
    if (fiveBit) {
      qh = loadHighBits(kb, w, block);
      j0 = kb.toI32(kb.mul(part, k));
    }
    llvm::SmallVector<Value> lowCodes;
    llvm::SmallVector<Value> highCodes;
    for (int64_t i = 0; i < k / 4; ++i) {
      Value word = lane(kb, quads, i);
      Value low = kb.andI(word, 0x0F0F0F0F);
      Value high = kb.andI(kb.shrU(word, 4), 0x0F0F0F0F);
      if (fiveBit) {
        low = kb.orI(low, spreadFifthBits(kb, shrDynamic(kb, qh, kb.add(j0, 4 * i))));
        high = kb.orI(high, spreadFifthBits(kb, shrDynamic(kb, qh, kb.add(j0, 16 + 4 * i))));
      }
      lowCodes.push_back(low);
      highCodes.push_back(high);
    }
    Value sum = dotQuads(kb, target, lowCodes, x[0].quads, kb.i32(0));
    sum = dotQuads(kb, target, highCodes, x[1].quads, sum);
    // The slice covers 2k of the block's 32 activations: its share of the block's offset or min
    // term is 2k/32 of d_x * sum(q_x); the shares of a block's slices add up to the whole term.
    const double share = static_cast<double>(2 * k) / 32.0;
    Value d = kb.loadF16(w, at(kb, block, 0));
    Value dot = kb.mulF(x[0].scale, kb.sToF32(sum));
    if (hasMin) {
      Value m = kb.loadF16(w, at(kb, block, 2));
      return kb.addF(kb.mulF(d, dot), kb.mulF(m, kb.mulF(x[0].scaledSum, kb.f32(share))));
    }
    const double offset = fiveBit ? 16.0 : 8.0;
    return kb.mulF(d, kb.subF(dot, kb.mulF(x[0].scaledSum, kb.f32(offset * share))));
  }

 private:
  int64_t codesOffset() const {
    switch (type_) {
      case QuantType::Q4_1: return 4;
      case QuantType::Q5_0: return 6;
      case QuantType::Q5_1: return 8;
      case QuantType::MXFP4: return 1;
      default: return 2;
    }
  }

  Value loadCodes(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value part) const {
    const int64_t k = groupLength();
    return kb.loadBytes(w, at(kb, block, codesOffset(), kb.mul(part, k)), k, alignAt(codesOffset(), k));
  }

  // Q5_0, Q5_1: the 32 fifth bits, one 32-bit word.
  Value loadHighBits(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block) const {
    const int64_t offset = type_ == QuantType::Q5_1 ? 4 : 2;
    return kb.loadU32(w, at(kb, block, offset), alignAt(offset));
  }

  // 2^(e - 128) as ggml decodes MXFP4's E8M0 scale (half the OCP value; e < 2 are subnormals).
  static Value halfE8M0(KernelIRBuilder& kb, Value e) {
    Value subnormal = mlir::arith::ShLIOp::create(kb.b, kb.loc, kb.i32(0x00200000), e);
    Value normal = kb.shl(kb.subI(e, 1), 23);
    Value bits = mlir::arith::SelectOp::create(kb.b, kb.loc, kb.lessThan(e, kb.i32(2)), subnormal, normal);
    return mlir::arith::BitcastOp::create(kb.b, kb.loc, kb.b.getF32Type(), bits);
  }

  QuantType type_;
  TableProvider tables_;
};

//===----------------------------------------------------------------------===//
// Q8_0: d, then 32 int8 codes. A slice is k codes.
//===----------------------------------------------------------------------===//

class Q8_0Decoder final : public QuantDecoder {
 public:
  explicit Q8_0Decoder(int64_t k) : QuantDecoder(32, 34, k, 1, 32 / k) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int) const override { return kb.mul(part, groupLength()); }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    Value d = kb.loadF16(w, at(kb, block, 0));
    return {kb.mulF(kb.sToF32(loadCodes(kb, w, block, part)), kb.splat(d, groupLength()))};
  }

  bool hasInt8Dot() const override { return true; }

  Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, const BlockRef& block, Value part,
                llvm::ArrayRef<Int8Activations> x) const override {
    Value quads = asQuads(kb, loadCodes(kb, w, block, part));
    llvm::SmallVector<Value> codes;
    for (int64_t i = 0; i < groupLength() / 4; ++i) codes.push_back(lane(kb, quads, i));
    Value sum = dotQuads(kb, target, codes, x[0].quads, kb.i32(0));
    return kb.mulF(kb.mulF(kb.loadF16(w, at(kb, block, 0)), x[0].scale), kb.sToF32(sum));
  }

 private:
  Value loadCodes(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value part) const {
    const int64_t k = groupLength();
    return kb.loadBytes(w, at(kb, block, 2, kb.mul(part, k)), k, alignAt(2, k));
  }
};

//===----------------------------------------------------------------------===//
// Q4_K, Q5_K: d, dmin, 12 bytes of 6-bit scales and mins, [Q5_K: 32 bytes of fifth bits],
// 128 bytes of nibbles; 32 bytes hold chunk c: low nibbles are sub-block 2c, high ones 2c + 1.
// A slice is k bytes of one chunk.
//===----------------------------------------------------------------------===//

class KQuant4Decoder final : public QuantDecoder {
 public:
  KQuant4Decoder(bool fiveBit, int64_t k)
      : QuantDecoder(256, fiveBit ? 176 : 144, k, 2, 4 * (32 / k)), fiveBit_(fiveBit) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int g) const override {
    return kb.add(kb.add(kb.mul(chunk(kb, part), 64), kb.mul(kb.rem(part, partsPerChunk()), groupLength())), g * 32);
  }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    const int64_t k = groupLength();
    Value c = chunk(kb, part);
    Value l0 = kb.mul(kb.rem(part, partsPerChunk()), k);
    Value bytes = loadNibbles(kb, w, block, c, l0);
    Header header = loadHeader(kb, w, block);
    const ChunkScales scales = chunkScales(kb, header, c);
    llvm::SmallVector<Value> values;
    for (int g = 0; g < 2; ++g) {
      Value sub = kb.add(kb.mul(c, 2), g);
      Value scale = scales.scale[g];
      Value min = scales.min[g];
      Value code = kb.extU32(g == 0 ? kb.andI(bytes, 0x0F) : kb.shrU(bytes, 4));
      if (fiveBit_) {
        Value high = kb.extU32(loadHighBits(kb, w, block, l0));
        Value bit = shrDynamic(kb, high, kb.splat(kb.toI32(sub), k));
        code = kb.orI(code, kb.shl(kb.andI(bit, 1), 4));
      }
      // d1 * q - m1 with d1 = d * scale and m1 = dmin * min, the reference's grouping.
      Value d1 = kb.splat(kb.mulF(header.d, kb.uToF32(scale)), k);
      Value m1 = kb.splat(kb.mulF(header.dmin, kb.uToF32(min)), k);
      values.push_back(kb.subF(kb.mulF(d1, kb.uToF32(code)), m1));
    }
    return values;
  }

  bool hasInt8Dot() const override { return true; }
  int64_t activationBlocksPerSlice() const override { return 2; }  // sub-blocks 2c and 2c + 1

  Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, const BlockRef& block, Value part,
                llvm::ArrayRef<Int8Activations> x) const override {
    const int64_t k = groupLength();
    Value c = chunk(kb, part);
    Value l0 = kb.mul(kb.rem(part, partsPerChunk()), k);
    Value quads = asQuads(kb, loadNibbles(kb, w, block, c, l0));
    Value highQuads = fiveBit_ ? asQuads(kb, loadHighBits(kb, w, block, l0)) : Value();
    Header header = loadHeader(kb, w, block);
    const ChunkScales scales = chunkScales(kb, header, c);
    Value dotTerm = kb.f32(0);
    Value minTerm = kb.f32(0);
    for (int g = 0; g < 2; ++g) {
      Value sub = kb.add(kb.mul(c, 2), g);
      llvm::SmallVector<Value> codes;
      for (int64_t i = 0; i < k / 4; ++i) {
        Value word = lane(kb, quads, i);
        Value code = kb.andI(g == 0 ? word : kb.shrU(word, 4), 0x0F0F0F0F);
        if (fiveBit_) {
          Value bits = shrDynamic(kb, lane(kb, highQuads, i), kb.toI32(sub));
          code = kb.orI(code, kb.shl(kb.andI(bits, 0x01010101), 4));
        }
        codes.push_back(code);
      }
      Value sum = dotQuads(kb, target, codes, x[g].quads, kb.i32(0));
      dotTerm = kb.addF(dotTerm, kb.mulF(kb.mulF(kb.uToF32(scales.scale[g]), x[g].scale), kb.sToF32(sum)));
      minTerm = kb.addF(minTerm, kb.mulF(kb.uToF32(scales.min[g]), x[g].scaledSum));
    }
    // A sub-block is one activation block of 32, so each slice takes k/32 of its min term.
    const double share = static_cast<double>(k) / 32.0;
    return kb.subF(kb.mulF(header.d, dotTerm), kb.mulF(header.dmin, kb.mulF(minTerm, kb.f32(share))));
  }

 private:
  // The block's first 16 bytes: d and dmin (two f16), then 12 bytes of 6-bit scales and mins.
  struct Header {
    Value d;
    Value dmin;
    Value words[3];  // the scale bytes as three little-endian words
  };

  int64_t partsPerChunk() const { return 32 / groupLength(); }
  Value chunk(KernelIRBuilder& kb, Value part) const { return kb.div(part, partsPerChunk()); }
  int64_t nibblesOffset() const { return fiveBit_ ? 48 : 16; }

  // One 16-byte load where the block is 16-byte aligned (always, in rows of 144- or 176-byte
  // blocks), rather than four word loads.
  Header loadHeader(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block) const {
    Value words = asQuads(kb, kb.loadBytes(w, at(kb, block, 0), 16, alignAt(0)));
    auto toF32 = [&](Value bits) -> Value {
      Value half = mlir::arith::TruncIOp::create(kb.b, kb.loc, kb.b.getI16Type(), bits);
      Value f16 = mlir::arith::BitcastOp::create(kb.b, kb.loc, kb.b.getF16Type(), half);
      return mlir::arith::ExtFOp::create(kb.b, kb.loc, kb.b.getF32Type(), f16);
    };
    Value first = lane(kb, words, 0);
    return {toF32(first), toF32(kb.shrU(first, 16)), {lane(kb, words, 1), lane(kb, words, 2), lane(kb, words, 3)}};
  }

  Value loadNibbles(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value c, Value l0) const {
    return kb.loadBytes(w, at(kb, block, nibblesOffset(), kb.add(kb.mul(c, 32), l0)), groupLength(),
                        alignAt(nibblesOffset(), groupLength()));
  }

  Value loadHighBits(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value l0) const {
    return kb.loadBytes(w, at(kb, block, 16, l0), groupLength(), alignAt(16, groupLength()));
  }

  // Scales and mins (6 bits each, i32) of chunk c's sub-blocks 2c and 2c + 1 (entry g for 2c + g).
  struct ChunkScales {
    Value scale[2];
    Value min[2];
  };

  // The 12 bytes at offset 4 hold, for sub-block j < 4, its scale in the low 6 bits of byte j and
  // its min in those of byte j + 4; for j >= 4, the low 4 bits of scale and min in the nibbles of
  // byte j + 4 and their top 2 bits in the top bits of bytes j - 4 and j. A chunk's two sub-blocks
  // sit side by side in every field, so both decode at once as 16-bit pairs (the halves of the
  // header words selected by c's low bit), one select per value for c < 2 against c >= 2.
  static ChunkScales chunkScales(KernelIRBuilder& kb, const Header& header, Value c) {
    Value isLow = kb.lessThan(c, kb.index(2));
    Value shift = kb.shl(kb.toI32(kb.rem(c, 2)), 4);
    auto half = [&](Value word) { return mlir::arith::ShRUIOp::create(kb.b, kb.loc, word, shift).getResult(); };
    Value a = half(header.words[0]);
    Value b = half(header.words[1]);
    Value n = half(header.words[2]);
    Value lowScales = kb.andI(a, 0x3F3F);
    Value lowMins = kb.andI(b, 0x3F3F);
    Value highScales = kb.orI(kb.andI(n, 0x0F0F), kb.andI(kb.shrU(a, 2), 0x3030));
    Value highMins = kb.orI(kb.andI(kb.shrU(n, 4), 0x0F0F), kb.andI(kb.shrU(b, 2), 0x3030));
    Value pairScales = mlir::arith::SelectOp::create(kb.b, kb.loc, isLow, lowScales, highScales);
    Value pairMins = mlir::arith::SelectOp::create(kb.b, kb.loc, isLow, lowMins, highMins);
    ChunkScales result;
    for (int g = 0; g < 2; ++g) {
      result.scale[g] = kb.andI(kb.shrU(pairScales, 8 * g), 0x3F);
      result.min[g] = kb.andI(kb.shrU(pairMins, 8 * g), 0x3F);
    }
    return result;
  }

  bool fiveBit_;
};

//===----------------------------------------------------------------------===//
// Q6_K: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, d. Per half h of 128
// values, element 32g + l takes a nibble of ql[64h + 32(g % 2) + l] (low for g < 2) and bits
// 2g..2g+1 of qh[32h + l]; its scale is scales[8h + 2g + l / 16]. A slice is k positions l.
//===----------------------------------------------------------------------===//

class Q6_KDecoder final : public QuantDecoder {
 public:
  explicit Q6_KDecoder(int64_t k) : QuantDecoder(256, 210, k, 4, 2 * (32 / k)) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int g) const override {
    return kb.add(kb.add(kb.mul(half(kb, part), 128), kb.mul(kb.rem(part, partsPerHalf()), groupLength())), 32 * g);
  }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    const int64_t k = groupLength();
    Codes codes = loadCodes(kb, w, block, part);
    auto scales = loadScales(kb, w, block, part);
    Value d = kb.loadF16(w, at(kb, block, 208));
    auto pair = [&](Value nibbles, int shift) {
      return kb.orI(nibbles, kb.shl(kb.andI(kb.shrU(codes.qh, shift), 3), 4));
    };
    const Value sixBit[4] = {pair(kb.andI(codes.ql0, 0x0F), 0), pair(kb.andI(codes.ql1, 0x0F), 2),
                             pair(kb.shrU(codes.ql0, 4), 4), pair(kb.shrU(codes.ql1, 4), 6)};
    llvm::SmallVector<Value> values;
    for (int g = 0; g < 4; ++g) {
      Value code = kb.subI(kb.extU32(sixBit[g]), 32);
      // (d * scale) * code, the reference's grouping.
      Value dScale = kb.splat(kb.mulF(d, kb.sToF32(scales[g])), k);
      values.push_back(kb.mulF(dScale, kb.sToF32(code)));
    }
    return values;
  }

  bool hasInt8Dot() const override { return true; }
  int64_t activationBlocksPerSlice() const override { return 4; }  // blocks 4h .. 4h + 3

  Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, const BlockRef& block, Value part,
                llvm::ArrayRef<Int8Activations> x) const override {
    // Codes assembled four at a time in 32-bit words: byte-vector arithmetic would be split into
    // byte moves on GPUs.
    const int64_t k = groupLength();
    Codes bytes = loadCodes(kb, w, block, part);
    Value ql0 = asQuads(kb, bytes.ql0);
    Value ql1 = asQuads(kb, bytes.ql1);
    Value qh = asQuads(kb, bytes.qh);
    auto scales = loadScales(kb, w, block, part);
    Value total = kb.f32(0);
    // The weights are code - 32 with codes 0..63, which are also valid signed bytes: the dot
    // takes the codes as they are, plus -32 x the sum of the activations, one more dot per word
    // that does not depend on the row (shared by the rows of a workgroup).
    const llvm::SmallVector<Value> minus32(k / 4, kb.i32(static_cast<int32_t>(0xE0E0E0E0u)));
    for (int g = 0; g < 4; ++g) {
      llvm::SmallVector<Value> codes;
      for (int64_t i = 0; i < k / 4; ++i) {
        Value nibbles = lane(kb, g % 2 == 0 ? ql0 : ql1, i);
        if (g >= 2) nibbles = kb.shrU(nibbles, 4);
        Value pairs = kb.andI(kb.shrU(lane(kb, qh, i), 2 * g), 0x03030303);
        codes.push_back(kb.orI(kb.andI(nibbles, 0x0F0F0F0F), kb.shl(pairs, 4)));
      }
      Value bias = dotQuads(kb, target, minus32, x[g].quads, kb.i32(0));
      Value sum = kb.add(dotQuads(kb, target, codes, x[g].quads, kb.i32(0)), bias);
      Value term = kb.mulF(kb.mulF(kb.sToF32(scales[g]), x[g].scale), kb.sToF32(sum));
      total = kb.addF(total, term);
    }
    return kb.mulF(kb.loadF16(w, at(kb, block, 208)), total);
  }

 private:
  struct Codes {
    Value ql0;  // vector<k x i8>: low nibbles of groups 0 and 2
    Value ql1;  // groups 1 and 3
    Value qh;   // bit pairs of the four groups
  };

  int64_t partsPerHalf() const { return 32 / groupLength(); }
  Value half(KernelIRBuilder& kb, Value part) const { return kb.div(part, partsPerHalf()); }

  Codes loadCodes(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value part) const {
    const int64_t k = groupLength();
    Value h = half(kb, part);
    Value l0 = kb.mul(kb.rem(part, partsPerHalf()), k);
    Value low = kb.add(kb.mul(h, 64), l0);
    return {kb.loadBytes(w, at(kb, block, 0, low), k, alignAt(0, k)),
            kb.loadBytes(w, at(kb, block, 0, kb.add(low, 32)), k, alignAt(0, k)),
            kb.loadBytes(w, at(kb, block, 128, kb.add(kb.mul(h, 32), l0)), k, alignAt(128, k))};
  }

  // The int8 scales (as i32) of the slice's four groups: scales[8h + l0 / 16 + 2g] (k <= 16 keeps
  // a slice inside one scale), all within the half's 8 bytes, read as two words.
  std::array<Value, 4> loadScales(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value part) const {
    Value h = half(kb, part);
    Value l0 = kb.mul(kb.rem(part, partsPerHalf()), groupLength());
    Value words = asQuads(kb, kb.loadBytes(w, at(kb, block, 192, kb.mul(h, 8)), 8, alignAt(192, 8)));
    // Byte l0 / 16 + 2 (g % 2) of word g / 2, sign-extended: shifted to the top, then back.
    Value up = mlir::arith::SubIOp::create(kb.b, kb.loc, kb.i32(24), kb.shl(kb.toI32(kb.div(l0, 16)), 3));
    std::array<Value, 4> scales;
    for (int g = 0; g < 4; ++g) {
      Value word = lane(kb, words, g / 2);
      Value top = mlir::arith::ShLIOp::create(kb.b, kb.loc, word, g % 2 == 0 ? up : kb.subI(up, 16));
      scales[g] = mlir::arith::ShRSIOp::create(kb.b, kb.loc, top, kb.i32(24));
    }
    return scales;
  }
};

//===----------------------------------------------------------------------===//
// Q2_K and Q3_K: 2-bit codes, per half h of 128 values element 32s + j takes bits 2s..2s+1 of
// qs[32h + j]; 16-value sub-block 8h + 2s + j / 16. Q3_K's third bit is bit 4h + s of hmask[j]
// (set means no -4). A slice is k positions j (k <= 16).
//===----------------------------------------------------------------------===//

class KQuant2Decoder final : public QuantDecoder {
 public:
  KQuant2Decoder(bool threeBit, int64_t k) : QuantDecoder(256, threeBit ? 110 : 84, k, 4, 2 * (32 / k)), threeBit_(threeBit) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int g) const override {
    return kb.add(kb.add(kb.mul(half(kb, part), 128), kb.mul(kb.rem(part, partsPerHalf()), groupLength())), 32 * g);
  }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    const int64_t k = groupLength();
    Value h = half(kb, part);
    Value j0 = kb.mul(kb.rem(part, partsPerHalf()), k);
    const int64_t qsOffset = threeBit_ ? 32 : 16;
    Value qs = kb.loadBytes(w, at(kb, block, qsOffset, kb.add(kb.mul(h, 32), j0)), k, alignAt(qsOffset, k));
    Value d = kb.loadF16(w, at(kb, block, threeBit_ ? 108 : 80));
    Value hmask = threeBit_ ? kb.loadBytes(w, at(kb, block, 0, j0), k, alignAt(0, k)) : Value();
    llvm::SmallVector<Value> values;
    for (int s = 0; s < 4; ++s) {
      Value sub = kb.add(kb.add(kb.mul(h, 8), kb.div(j0, 16)), 2 * s);
      Value low = kb.extU32(kb.andI(kb.shrU(qs, 2 * s), 3));
      if (threeBit_) {
        // bit 4h + s of hmask: set means the code stands, clear means code - 4.
        Value bitIndex = kb.add(kb.toI32(kb.mul(h, 4)), kb.i32(s));
        Value bit = kb.andI(shrDynamic(kb, kb.extU32(hmask), kb.splat(bitIndex, k)), 1);
        Value code = kb.subI(kb.orI(low, kb.shl(bit, 2)), 4);
        Value dl = kb.splat(kb.mulF(d, kb.sToF32(q3kScale(kb, w, block, sub))), k);
        values.push_back(kb.mulF(dl, kb.sToF32(code)));
      } else {
        Value packed = kb.loadU8(w, at(kb, block, 0, sub));
        Value dmin = kb.loadF16(w, at(kb, block, 82));
        Value dl = kb.splat(kb.mulF(d, kb.uToF32(kb.andI(packed, 0x0F))), k);
        Value ml = kb.splat(kb.mulF(dmin, kb.uToF32(kb.shrU(packed, 4))), k);
        values.push_back(kb.subF(kb.mulF(dl, kb.uToF32(low)), ml));
      }
    }
    return values;
  }

 private:
  int64_t partsPerHalf() const { return 32 / groupLength(); }
  Value half(KernelIRBuilder& kb, Value part) const { return kb.div(part, partsPerHalf()); }

  // Signed 6-bit scale i (0..15): low nibble from byte i (i < 8) or the high nibble of byte i - 8,
  // top two bits from bits 2 * (i / 4) of byte 8 + i % 4; stored biased by 32.
  Value q3kScale(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block, Value i) const {
    Value isLow = kb.lessThan(i, kb.index(8));
    Value lowByte = kb.loadU8(w, at(kb, block, 96, kb.rem(i, 8)));
    Value low = mlir::arith::SelectOp::create(kb.b, kb.loc, isLow, kb.andI(lowByte, 0x0F), kb.shrU(lowByte, 4));
    Value highByte = kb.loadU8(w, at(kb, block, 104, kb.rem(i, 4)));
    Value high = kb.andI(shrDynamic(kb, highByte, kb.toI32(kb.mul(kb.div(i, 4), 2))), 3);
    return kb.subI(kb.orI(low, kb.shl(high, 4)), 32);
  }

  bool threeBit_;
};

//===----------------------------------------------------------------------===//
// IQ4_XS: d, high scale bits (u16), low scale nibbles (4 bytes), 128 bytes of IQ4_NL indices:
// 32-value sub-block ib takes bytes 16ib.. (low nibble j, high nibble j + 16). A slice is k
// bytes of one sub-block.
//===----------------------------------------------------------------------===//

class Iq4XsDecoder final : public QuantDecoder {
 public:
  Iq4XsDecoder(int64_t k, TableProvider tables) : QuantDecoder(256, 136, k, 2, 8 * (16 / k)), tables_(std::move(tables)) {}

  Value groupOffset(KernelIRBuilder& kb, Value part, int g) const override {
    return kb.add(kb.add(kb.mul(kb.div(part, partsPerSub()), 32), kb.mul(kb.rem(part, partsPerSub()), groupLength())),
                  g * 16);
  }

  llvm::SmallVector<Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                      Value part) const override {
    static constexpr float kGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    const int64_t k = groupLength();
    Value ib = kb.div(part, partsPerSub());
    Value j0 = kb.mul(kb.rem(part, partsPerSub()), k);
    Value bytes = kb.loadBytes(w, at(kb, block, 8, kb.add(kb.mul(ib, 16), j0)), k, alignAt(8, k));
    Value lowScale = kb.andI(shrDynamic(kb, kb.loadU8(w, at(kb, block, 4, kb.div(ib, 2))),
                                        kb.toI32(kb.mul(kb.rem(ib, 2), 4))),
                             0x0F);
    Value highScale = kb.andI(shrDynamic(kb, kb.loadU16(w, at(kb, block, 2)), kb.toI32(kb.mul(ib, 2))), 3);
    Value scale = kb.subI(kb.orI(lowScale, kb.shl(highScale, 4)), 32);
    Value dl = kb.splat(kb.mulF(kb.loadF16(w, at(kb, block, 0)), kb.sToF32(scale)), k);
    Value table = tables_(kb, "llmc_iq4nl_grid", kGrid);
    return {kb.mulF(dl, lookup(kb, table, kb.andI(bytes, 0x0F))), kb.mulF(dl, lookup(kb, table, kb.shrU(bytes, 4)))};
  }

 private:
  int64_t partsPerSub() const { return 16 / groupLength(); }
  TableProvider tables_;
};

}  // namespace

void QuantDecoder::setLayout(QuantType type, mlir::llmc::WeightLayout layout, int64_t cols) {
  layout_ = effectiveLayout(type, layout);
  blocksPerRow_ = cols / blockValues_;
  rowBytes_ = blocksPerRow_ * blockBytes_;
  fields_.clear();
  if (layout_ == mlir::llmc::WeightLayout::RowPlanar)
    for (const llmc::BlockField& field : llmc::row_planar_fields(static_cast<llmc::GgmlType>(type)))
      fields_.push_back({field.offset, field.bytes});
  // The file's layout is the same scheme with one field, the whole block.
  if (fields_.empty()) fields_.push_back({0, blockBytes_});
}

const QuantDecoder::Field& QuantDecoder::fieldOf(int64_t offset) const {
  for (const Field& field : fields_)
    if (offset < field.offset + field.bytes) return field;
  llvm::report_fatal_error("QuantDecoder: block offset past the last field");
}

// Byte `offset` of a block sits in the run of its field: the row's first byte, then the runs of the
// fields before it (blocksPerRow x field offset), then this block's share of the run.
Value QuantDecoder::at(KernelIRBuilder& kb, const BlockRef& block, int64_t offset, Value within) const {
  const Field& field = fieldOf(offset);
  Value address = kb.add(kb.add(block.rowStart, kb.mul(block.index, field.bytes)),
                         blocksPerRow_ * field.offset + (offset - field.offset));
  return within ? kb.add(address, within) : address;
}

int64_t QuantDecoder::alignAt(int64_t offset, int64_t withinAlign) const {
  // Rows start at multiples of the row's bytes.
  const Field& field = fieldOf(offset);
  return commonAlign({rowBytes_, blocksPerRow_ * field.offset, field.bytes, offset - field.offset, withinAlign});
}

mlir::llmc::WeightLayout effectiveLayout(QuantType type, mlir::llmc::WeightLayout requested) {
  if (requested == mlir::llmc::WeightLayout::RowPlanar &&
      !llmc::row_planar_fields(static_cast<llmc::GgmlType>(type)).empty())
    return requested;
  return mlir::llmc::WeightLayout::Blocks;
}

Value QuantDecoder::dotInt8(KernelIRBuilder&, const TargetInfo&, const WeightViews&, const BlockRef&, Value,
                            llvm::ArrayRef<Int8Activations>) const {
  return {};
}

bool hasQMatVecKernel(QuantType type) {
  switch (type) {
    case QuantType::F32:
    case QuantType::F16:
    case QuantType::BF16:
    case QuantType::Q4_0:
    case QuantType::Q4_1:
    case QuantType::Q5_0:
    case QuantType::Q5_1:
    case QuantType::Q8_0:
    case QuantType::Q2_K:
    case QuantType::Q3_K:
    case QuantType::Q4_K:
    case QuantType::Q5_K:
    case QuantType::Q6_K:
    case QuantType::IQ4_NL:
    case QuantType::IQ4_XS:
    case QuantType::MXFP4: return true;
  }
  return false;
}

namespace {

std::unique_ptr<QuantDecoder> makeBlocksDecoder(QuantType type, int64_t laneBytes, int64_t cols, TableProvider tables) {
  switch (type) {
    case QuantType::F32:
    case QuantType::F16:
    case QuantType::BF16: {
      const int64_t elementBytes = type == QuantType::F32 ? 4 : 2;
      int64_t k = std::max<int64_t>(1, laneBytes / elementBytes);
      while (k > 1 && cols % k != 0) k /= 2;
      return std::make_unique<FloatRowDecoder>(type, k, elementBytes);
    }
    case QuantType::Q4_0: return std::make_unique<NibbleBlockDecoder>(type, 18, groupLengthFor(laneBytes, 16), tables);
    case QuantType::Q4_1: return std::make_unique<NibbleBlockDecoder>(type, 20, groupLengthFor(laneBytes, 16), tables);
    case QuantType::Q5_0: return std::make_unique<NibbleBlockDecoder>(type, 22, groupLengthFor(laneBytes, 16), tables);
    case QuantType::Q5_1: return std::make_unique<NibbleBlockDecoder>(type, 24, groupLengthFor(laneBytes, 16), tables);
    case QuantType::IQ4_NL: return std::make_unique<NibbleBlockDecoder>(type, 18, groupLengthFor(laneBytes, 16), tables);
    case QuantType::MXFP4: return std::make_unique<NibbleBlockDecoder>(type, 17, groupLengthFor(laneBytes, 16), tables);
    case QuantType::Q8_0: return std::make_unique<Q8_0Decoder>(groupLengthFor(laneBytes, 32));
    case QuantType::Q4_K: return std::make_unique<KQuant4Decoder>(false, groupLengthFor(laneBytes, 32));
    case QuantType::Q5_K: return std::make_unique<KQuant4Decoder>(true, groupLengthFor(laneBytes, 32));
    case QuantType::Q6_K: return std::make_unique<Q6_KDecoder>(groupLengthFor(laneBytes, 16));
    case QuantType::Q2_K: return std::make_unique<KQuant2Decoder>(false, groupLengthFor(laneBytes, 16));
    case QuantType::Q3_K: return std::make_unique<KQuant2Decoder>(true, groupLengthFor(laneBytes, 16));
    case QuantType::IQ4_XS: return std::make_unique<Iq4XsDecoder>(groupLengthFor(laneBytes, 16), tables);
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<QuantDecoder> makeQuantDecoder(QuantType type, int64_t laneBytes, int64_t cols, TableProvider tables,
                                               mlir::llmc::WeightLayout layout) {
  std::unique_ptr<QuantDecoder> decoder = makeBlocksDecoder(type, laneBytes, cols, std::move(tables));
  if (decoder) decoder->setLayout(type, layout, cols);
  return decoder;
}

}  // namespace llmc::compiler
