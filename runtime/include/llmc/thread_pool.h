// A small pool of persistent worker threads for data-parallel loops (row ranges of a matvec).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace llmc {

class ThreadPool {
 public:
  // `threads` counts the calling thread, which always takes part in parallel_for; the pool starts
  // threads - 1 workers. 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const;

  // Runs body(begin, end) over contiguous ranges covering [0, count), each at least `grain` items
  // long (except possibly the last), on the workers and the calling thread; returns when every
  // range is done. If a range throws, no further ranges start and the first exception is rethrown
  // here. Calls from several threads are serialized; body must not call parallel_for on the same
  // pool.
  void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& body);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llmc
