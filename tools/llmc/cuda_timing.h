// Timing of CUDA work for llmc kernel-check, shared by the mat-vec and the op checks: event-timed
// launches, and launches recorded once into a CUDA graph and replayed. Failures throw
// std::runtime_error naming the driver call.
#pragma once

#include <functional>

#include "llmc/cuda_driver.h"

namespace llmc::cli {

// Seconds per call of `work` (which launches on the null stream), `iterations` calls between two
// events.
double event_seconds(const cuda::CudaDriver& cu, const std::function<void()>& work, int iterations);

// Whether the driver has the stream-capture and graph entry points graph_seconds needs.
bool has_graphs(const cuda::CudaDriver& cu);

// Seconds per call of `work`, with `iterations` calls recorded once into a CUDA graph and the
// graph replayed: the launches then cost the GPU's gap between kernels, not the host's launch
// rate, as in a decode step a runtime replays from a graph. `work` launches on the stream given.
double graph_seconds(const cuda::CudaDriver& cu, const std::function<void(cuda::CUstream)>& work, int iterations);

}  // namespace llmc::cli
