#include "llmc/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace llmc {

struct ThreadPool::State {
  std::vector<std::thread> workers;

  std::mutex call_mutex;  // one parallel_for at a time

  std::mutex mutex;  // guards everything below except `next`
  std::condition_variable work_ready;
  std::condition_variable work_done;
  uint64_t generation = 0;  // bumped once per parallel_for; workers run each generation once
  int busy_workers = 0;
  bool stopping = false;
  std::exception_ptr error;

  const std::function<void(int64_t, int64_t)>* body = nullptr;
  int64_t count = 0;
  int64_t chunk = 1;
  std::atomic<int64_t> next{0};

  void run_ranges() {
    for (;;) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= count) return;
      try {
        (*body)(begin, std::min(begin + chunk, count));
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        next.store(count, std::memory_order_relaxed);
      }
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    std::unique_lock lock(mutex);
    for (;;) {
      work_ready.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping) return;
      seen = generation;
      lock.unlock();
      run_ranges();
      lock.lock();
      if (--busy_workers == 0) work_done.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>()) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  state_->workers.reserve(static_cast<size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) state_->workers.emplace_back([s = state_.get()] { s->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work_ready.notify_all();
  for (auto& worker : state_->workers) worker.join();
}

int ThreadPool::threads() const { return static_cast<int>(state_->workers.size()) + 1; }

void ThreadPool::parallel_for(int64_t count, int64_t grain,
                              const std::function<void(int64_t begin, int64_t end)>& body) {
  if (count <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  State& s = *state_;
  if (s.workers.empty() || count <= grain) {
    body(0, count);
    return;
  }
  std::lock_guard call_lock(s.call_mutex);
  // About four ranges per thread balances uneven progress without much handing out.
  const int64_t ranges_wanted = 4 * static_cast<int64_t>(threads());
  {
    std::lock_guard lock(s.mutex);
    s.body = &body;
    s.count = count;
    s.chunk = std::max(grain, (count + ranges_wanted - 1) / ranges_wanted);
    s.next.store(0, std::memory_order_relaxed);
    s.error = nullptr;
    s.busy_workers = static_cast<int>(s.workers.size());
    ++s.generation;
  }
  s.work_ready.notify_all();
  s.run_ranges();
  std::exception_ptr error;
  {
    std::unique_lock lock(s.mutex);
    s.work_done.wait(lock, [&] { return s.busy_workers == 0; });
    s.body = nullptr;
    error = std::exchange(s.error, nullptr);
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace llmc
