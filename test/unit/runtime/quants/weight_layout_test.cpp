#include "llmc/weight_layout.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "llmc/gguf_writer.h"

namespace llmc {
namespace {

TEST(WeightLayout, FieldsCoverEachBlockExactlyInOrder) {
  int planar_types = 0;
  for (const GgmlTypeTraits& traits : ggml_type_table()) {
    const auto fields = row_planar_fields(traits.type);
    if (fields.empty()) continue;
    ++planar_types;
    uint32_t next = 0;
    for (const BlockField& field : fields) {
      EXPECT_EQ(field.offset, next) << traits.name;
      EXPECT_GT(field.bytes, 0u) << traits.name;
      next = field.offset + field.bytes;
    }
    EXPECT_EQ(next, traits.type_size) << traits.name;
  }
  EXPECT_EQ(planar_types, 11);
  EXPECT_TRUE(row_planar_fields(GgmlType::Q4_K).empty());
  EXPECT_TRUE(row_planar_fields(GgmlType::F16).empty());
}

TEST(WeightLayout, Q6KOffsets) {
  // 16 blocks per row (4096 columns): ql at 0, qh at 16 x 128, scales at 16 x 192, d at 16 x 208.
  EXPECT_EQ(weight_byte_offset(GgmlType::Q6_K, WeightLayout::RowPlanar, 16, 3, 5), 3u * 128 + 5);
  EXPECT_EQ(weight_byte_offset(GgmlType::Q6_K, WeightLayout::RowPlanar, 16, 3, 130), 16u * 128 + 3 * 64 + 2);
  EXPECT_EQ(weight_byte_offset(GgmlType::Q6_K, WeightLayout::RowPlanar, 16, 3, 200), 16u * 192 + 3 * 16 + 8);
  EXPECT_EQ(weight_byte_offset(GgmlType::Q6_K, WeightLayout::RowPlanar, 16, 15, 209), 16u * 208 + 15 * 2 + 1);
  EXPECT_EQ(weight_byte_offset(GgmlType::Q6_K, WeightLayout::Blocks, 16, 3, 200), 3u * 210 + 200);
  EXPECT_EQ(weight_byte_offset(GgmlType::Q4_K, WeightLayout::RowPlanar, 16, 3, 20), 3u * 144 + 20);
  EXPECT_THROW(weight_byte_offset(GgmlType::Q6_K, WeightLayout::RowPlanar, 16, 3, 210), std::out_of_range);
}

TEST(WeightLayout, RoundTripsEveryTypeAndMovesEveryByte) {
  for (const GgmlTypeTraits& traits : ggml_type_table()) {
    if (row_planar_fields(traits.type).empty()) continue;
    const uint64_t rows = 3;
    const uint64_t cols = 5 * static_cast<uint64_t>(traits.block_size);
    const uint64_t bytes = rows * *ggml_row_bytes(traits.type, cols);
    std::vector<uint8_t> blocks(bytes);
    fill_random_blocks(traits.type, blocks, 7);
    std::vector<uint8_t> planar(bytes, 0xAB);
    convert_weight_layout(traits.type, rows, cols, blocks, WeightLayout::Blocks, planar, WeightLayout::RowPlanar);
    // Every byte sits where weight_byte_offset says.
    const uint64_t row_bytes = bytes / rows;
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t b = 0; b < 5; ++b)
        for (uint32_t o = 0; o < traits.type_size; ++o)
          ASSERT_EQ(planar[r * row_bytes + weight_byte_offset(traits.type, WeightLayout::RowPlanar, 5, b, o)],
                    blocks[r * row_bytes + b * traits.type_size + o])
              << traits.name << " row " << r << " block " << b << " byte " << o;
    EXPECT_NE(planar, blocks) << traits.name;
    std::vector<uint8_t> back(bytes);
    convert_weight_layout(traits.type, rows, cols, planar, WeightLayout::RowPlanar, back, WeightLayout::Blocks);
    EXPECT_EQ(back, blocks) << traits.name;
  }
}

TEST(WeightLayout, RejectsWrongSizes) {
  std::vector<uint8_t> a(2 * 210), b(2 * 210 - 1);
  EXPECT_THROW(convert_weight_layout(GgmlType::Q6_K, 2, 256, a, WeightLayout::Blocks, b, WeightLayout::RowPlanar),
               std::invalid_argument);
  EXPECT_THROW(convert_weight_layout(GgmlType::Q6_K, 2, 250, a, WeightLayout::Blocks, a, WeightLayout::RowPlanar),
               std::invalid_argument);
  EXPECT_EQ(weight_layout_from_name("row_planar"), WeightLayout::RowPlanar);
  EXPECT_EQ(weight_layout_from_name("blocks"), WeightLayout::Blocks);
  EXPECT_FALSE(weight_layout_from_name("planar"));
}

}  // namespace
}  // namespace llmc
