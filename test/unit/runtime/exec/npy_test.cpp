// The .npy writer: NumPy's v1.0 layout, the final shape in the header, and nothing left behind
// unless committed.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/npy.h"
#include "test_models.h"

namespace llmc {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Npy, HeaderLayout) {
  const uint64_t shape2[] = {3, 300};
  const std::string h = npy_f32_header(shape2);
  ASSERT_GE(h.size(), 10u);
  EXPECT_EQ(h.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(h[6], '\x01');
  EXPECT_EQ(h[7], '\x00');
  const size_t len = static_cast<unsigned char>(h[8]) | static_cast<size_t>(static_cast<unsigned char>(h[9])) << 8;
  EXPECT_EQ(len + 10, h.size());
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h.back(), '\n');
  EXPECT_NE(h.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 300), }"), std::string::npos) << h;
  const uint64_t shape1[] = {5};
  EXPECT_NE(npy_f32_header(shape1).find("'shape': (5,), }"), std::string::npos);
}

TEST(Npy, RowsAndFinalShape) {
  test::TempModelDir dir;
  const std::string path = dir.file("logits.npy");
  {
    NpyRowWriter w(path, 3);
    const float a[] = {1.0f, 2.0f, 3.0f}, b[] = {-1.5f, 0.0f, 1e30f};
    w.append_row(a);
    w.append_row(b);
    EXPECT_THROW(w.append_row(std::vector<float>{1.0f}), std::invalid_argument);
    EXPECT_FALSE(std::filesystem::exists(path));
    w.commit();
  }
  const std::string bytes = read_all(path);
  const uint64_t shape[] = {2, 3};
  const std::string header = npy_f32_header(shape);
  ASSERT_EQ(bytes.size(), header.size() + 6 * sizeof(float));
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  float values[6];
  std::memcpy(values, bytes.data() + header.size(), sizeof values);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[3], -1.5f);
  EXPECT_EQ(values[5], 1e30f);
  // Only the target file is there: the temporary one was renamed.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
}

TEST(Npy, NothingLeftWithoutCommit) {
  test::TempModelDir dir;
  const std::string path = dir.file("partial.npy");
  {
    NpyRowWriter w(path, 2);
    const float a[] = {1.0f, 2.0f};
    w.append_row(a);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Npy, UnwritablePathNamesTheFile) {
  try {
    NpyRowWriter w("/nonexistent-dir/x.npy", 2);
    ADD_FAILURE() << "created";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.npy: cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace llmc
