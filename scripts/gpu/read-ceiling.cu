// The ceiling a single launch reaches on this GPU: a read-only kernel (16-byte loads through the
// read-only path, grid-stride over the bytes) over the mat-vec benchmark's byte counts, with the
// same 256 MiB rotation kernel-check uses, timed launch by launch and replayed from a CUDA graph,
// next to a 512 MiB device-to-device copy. It is the reference the generated mat-vec kernels are
// judged against, not part of llmc: scripts/gpu-check.sh builds and runs it where nvcc exists.
//
//   nvcc -O3 -arch=native -o read-ceiling scripts/gpu/read-ceiling.cu && ./read-ceiling
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
__global__ void readsum(const uint4* __restrict__ p, size_t n16, unsigned* out) {
  unsigned acc = 0;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n16; i += 4 * stride) {
    uint4 a = __ldg(p + i), b = __ldg(p + i + stride), c = __ldg(p + i + 2 * stride), d = __ldg(p + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n16; i += stride) { uint4 a = __ldg(p + i); acc ^= a.x ^ a.y ^ a.z ^ a.w; }
  if (acc == 0x12345678u) out[0] = acc;
}
// A warp per row: each warp reads its row's bytes (row_bytes, multiple of 16) contiguously.
__global__ void readrows(const uint4* __restrict__ p, int rows, int row16, unsigned* out) {
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= rows) return;
  const uint4* r = p + (size_t)warp * row16;
  unsigned acc = 0;
  #pragma unroll 4
  for (int i = lane; i < row16; i += 32) { uint4 a = __ldg(r + i); acc ^= a.x ^ a.y ^ a.z ^ a.w; }
  if (acc == 0x12345678u) out[0] = acc;
}
// The same, built for overlapped launches (programmatic dependent launch, sm_90): each block lets
// the next grid start, prefetches its rows into L2, waits for the previous grid, then reads. The
// measure of what overlapping a mat-vec with its predecessor could gain (docs/compiler.md: on an
// H200 it gained 10% at 9.4 MB and lost 17-21% at 33 MB, so llmc's kernels do not do it).
__global__ void readrows_overlapped(const uint4* __restrict__ p, int rows, int row16, unsigned* out) {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
  int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  const uint4* r = p + (size_t)min(warp, rows - 1) * row16;
  for (int line = lane; line < row16 / 8; line += 32) asm volatile("prefetch.global.L2 [%0];" ::"l"(r + 8 * line));
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  if (warp >= rows) return;
  unsigned acc = 0;
  #pragma unroll 4
  for (int i = lane; i < row16; i += 32) { uint4 a = __ldg(r + i); acc ^= a.x ^ a.y ^ a.z ^ a.w; }
  if (acc == 0x12345678u) out[0] = acc;
}
int main() {
  int sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  size_t total = 256u << 20;
  char* pool; cudaMalloc(&pool, total + (64u << 20)); cudaMemset(pool, 1, total);
  unsigned* out; cudaMalloc(&out, 4);
  cudaStream_t st; cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  // copy
  { char* dst; cudaMalloc(&dst, 512u << 20); char* src; cudaMalloc(&src, 512u << 20);
    cudaMemcpyAsync(dst, src, 512u << 20, cudaMemcpyDeviceToDevice, st);
    cudaEventRecord(a, st); for (int i = 0; i < 20; ++i) cudaMemcpyAsync(dst, src, 512u << 20, cudaMemcpyDeviceToDevice, st);
    cudaEventRecord(b, st); cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b);
    printf("copy 512MiB: %.1f GB/s r+w\n", 2.0 * 20 * (512u << 20) / (ms / 1e3) / 1e9); cudaFree(dst); cudaFree(src); }
  struct Shape { const char* name; size_t bytes; int rows; };
  std::vector<Shape> shapes = {{"q4_0 4096x4096", 4096ull * 2304, 4096}, {"q4_0 14336 rows x 4096", 14336ull * 2304, 14336},
                               {"q4_0 4096 rows x 14336", 4096ull * 8064, 4096}, {"q8_0 4096x4096", 4096ull * 4352, 4096}, {"q6_K 4096x4096", 4096ull * 3360, 4096},
                               {"256MiB", 256ull << 20, 0}};
  for (auto& s : shapes) {
    size_t copies = s.bytes >= total ? 1 : total / s.bytes;
    const int iters = 300;
    for (int mode = 0; mode < 3; ++mode) for (int bps : {2, 4, 8, 16, -1}) {
      if (bps == -1 && s.rows == 0) continue;
      if (mode == 2 && bps != -1) continue;  // overlapped: the warp-per-row kernel only
      int threads = 256;
      int grid = bps > 0 ? sms * bps : (s.rows * 32 + threads - 1) / threads;
      auto launch = [&](int k) {
        const uint4* p = (const uint4*)(pool + (k % copies) * s.bytes);
        if (mode == 2) {
          cudaLaunchAttribute attribute{};
          attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
          attribute.val.programmaticStreamSerializationAllowed = 1;
          cudaLaunchConfig_t config{};
          config.gridDim = grid; config.blockDim = threads; config.stream = st;
          config.attrs = &attribute; config.numAttrs = 1;
          cudaLaunchKernelEx(&config, readrows_overlapped, p, s.rows, (int)(s.bytes / s.rows / 16), out);
        } else if (bps > 0) readsum<<<grid, threads, 0, st>>>(p, s.bytes / 16, out);
        else readrows<<<grid, threads, 0, st>>>(p, s.rows, (int)(s.bytes / s.rows / 16), out);
      };
      float ms;
      if (mode == 0) {
        for (int k = 0; k < 3; ++k) launch(k);
        cudaEventRecord(a, st); for (int k = 0; k < iters; ++k) launch(k); cudaEventRecord(b, st);
        cudaEventSynchronize(b); cudaEventElapsedTime(&ms, a, b); ms /= iters;
      } else {  // replayed from a graph; mode 2 with overlapped launches
        cudaGraph_t g; cudaGraphExec_t e;
        cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal);
        for (int k = 0; k < iters; ++k) launch(k);
        cudaStreamEndCapture(st, &g); cudaGraphInstantiate(&e, g, 0); cudaGraphLaunch(e, st); cudaStreamSynchronize(st);
        cudaEventRecord(a, st); for (int r = 0; r < 5; ++r) cudaGraphLaunch(e, st); cudaEventRecord(b, st);
        cudaEventSynchronize(b); cudaEventElapsedTime(&ms, a, b); ms /= 5 * iters;
        cudaGraphExecDestroy(e); cudaGraphDestroy(g);
      }
      printf("%-30s %-6s %s=%-3d %8.2f us %8.1f GB/s read\n", s.name, mode == 2 ? "graph+overlap" : mode ? "graph" : "stream", bps > 0 ? "blocks/SM" : "warp/row ",
             bps > 0 ? bps : 0, ms * 1e3, s.bytes / (ms / 1e3) / 1e9);
    }
  }
  cudaError_t err = cudaGetLastError(); printf("status: %s\n", cudaGetErrorString(err));
}
