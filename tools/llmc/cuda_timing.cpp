#include "cuda_timing.h"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace llmc::cli {
namespace {

void check(const cuda::CudaDriver& cu, cuda::CUresult result, const char* what) {
  if (result != cuda::CUDA_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, cu.error_text(result)));
}

// Milliseconds between two events around `work` on `stream`.
float timed_ms(const cuda::CudaDriver& cu, cuda::CUstream stream, const std::function<void()>& work) {
  cuda::CUevent start = nullptr;
  cuda::CUevent stop = nullptr;
  check(cu, cu.cuEventCreate(&start, 0), "cuEventCreate");
  check(cu, cu.cuEventCreate(&stop, 0), "cuEventCreate");
  check(cu, cu.cuEventRecord(start, stream), "cuEventRecord");
  work();
  check(cu, cu.cuEventRecord(stop, stream), "cuEventRecord");
  check(cu, cu.cuEventSynchronize(stop), "cuEventSynchronize");
  float ms = 0;
  check(cu, cu.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  cu.cuEventDestroy(start);
  cu.cuEventDestroy(stop);
  return ms;
}

}  // namespace

double event_seconds(const cuda::CudaDriver& cu, const std::function<void()>& work, int iterations) {
  const float ms = timed_ms(cu, nullptr, [&] {
    for (int i = 0; i < iterations; ++i) work();
  });
  return ms / 1e3 / iterations;
}

bool has_graphs(const cuda::CudaDriver& cu) {
  return cu.cuStreamCreate && cu.cuStreamDestroy && cu.cuStreamSynchronize && cu.cuStreamBeginCapture &&
         cu.cuStreamEndCapture && cu.cuGraphInstantiate && cu.cuGraphLaunch && cu.cuGraphExecDestroy &&
         cu.cuGraphDestroy;
}

double graph_seconds(const cuda::CudaDriver& cu, const std::function<void(cuda::CUstream)>& work, int iterations) {
  cuda::CUstream stream = nullptr;
  check(cu, cu.cuStreamCreate(&stream, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  cuda::CUgraph graph = nullptr;
  cuda::CUgraphExec exec = nullptr;
  check(cu, cu.cuStreamBeginCapture(stream, cuda::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
  for (int i = 0; i < iterations; ++i) work(stream);
  check(cu, cu.cuStreamEndCapture(stream, &graph), "cuStreamEndCapture");
  check(cu, cu.cuGraphInstantiate(&exec, graph, 0), "cuGraphInstantiate");
  check(cu, cu.cuGraphLaunch(exec, stream), "cuGraphLaunch");  // uploads the graph; not timed
  check(cu, cu.cuStreamSynchronize(stream), "cuStreamSynchronize");
  constexpr int kReplays = 5;
  const float ms = timed_ms(cu, stream, [&] {
    for (int i = 0; i < kReplays; ++i) check(cu, cu.cuGraphLaunch(exec, stream), "cuGraphLaunch");
  });
  cu.cuGraphExecDestroy(exec);
  cu.cuGraphDestroy(graph);
  cu.cuStreamDestroy(stream);
  return ms / 1e3 / (static_cast<double>(kReplays) * iterations);
}

}  // namespace llmc::cli
