#include "cuda_timing.h"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace llmc::cli {
namespace {

void check(const cuda::CudaDriver& cu, cuda::CUresult result, const char* what) {
  if (result != cuda::CUDA_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, cu.error_text(result)));
}

// Milliseconds between two events around `work` on `stream`; the events are released however
// `work` ends.
float timed_ms(const cuda::CudaDriver& cu, cuda::CUstream stream, const std::function<void()>& work) {
  struct Events {
    const cuda::CudaDriver& cu;
    cuda::CUevent start = nullptr;
    cuda::CUevent stop = nullptr;
    ~Events() {
      if (start) cu.cuEventDestroy(start);
      if (stop) cu.cuEventDestroy(stop);
    }
  } e{cu};
  check(cu, cu.cuEventCreate(&e.start, 0), "cuEventCreate");
  check(cu, cu.cuEventCreate(&e.stop, 0), "cuEventCreate");
  check(cu, cu.cuEventRecord(e.start, stream), "cuEventRecord");
  work();
  check(cu, cu.cuEventRecord(e.stop, stream), "cuEventRecord");
  check(cu, cu.cuEventSynchronize(e.stop), "cuEventSynchronize");
  float ms = 0;
  check(cu, cu.cuEventElapsedTime(&ms, e.start, e.stop), "cuEventElapsedTime");
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
  // Whatever fails, the capture is ended and everything made here is released: a stream left
  // capturing would make the thread's later allocations and copies fail.
  struct Resources {
    const cuda::CudaDriver& cu;
    cuda::CUstream stream = nullptr;
    cuda::CUgraph graph = nullptr;
    cuda::CUgraphExec exec = nullptr;
    bool capturing = false;
    ~Resources() {
      if (capturing) {
        cuda::CUgraph partial = nullptr;
        if (cu.cuStreamEndCapture(stream, &partial) == cuda::CUDA_SUCCESS && partial) cu.cuGraphDestroy(partial);
      }
      if (exec) cu.cuGraphExecDestroy(exec);
      if (graph) cu.cuGraphDestroy(graph);
      if (stream) cu.cuStreamDestroy(stream);
    }
  } r{cu};
  check(cu, cu.cuStreamCreate(&r.stream, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  check(cu, cu.cuStreamBeginCapture(r.stream, cuda::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
  r.capturing = true;
  for (int i = 0; i < iterations; ++i) work(r.stream);
  r.capturing = false;
  check(cu, cu.cuStreamEndCapture(r.stream, &r.graph), "cuStreamEndCapture");
  check(cu, cu.cuGraphInstantiate(&r.exec, r.graph, 0), "cuGraphInstantiate");
  check(cu, cu.cuGraphLaunch(r.exec, r.stream), "cuGraphLaunch");  // uploads the graph; not timed
  check(cu, cu.cuStreamSynchronize(r.stream), "cuStreamSynchronize");
  constexpr int kReplays = 5;
  const float ms = timed_ms(cu, r.stream, [&] {
    for (int i = 0; i < kReplays; ++i) check(cu, cu.cuGraphLaunch(r.exec, r.stream), "cuGraphLaunch");
  });
  return ms / 1e3 / (static_cast<double>(kReplays) * iterations);
}

}  // namespace llmc::cli
