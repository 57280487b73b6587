#include "cluster/loop_thread.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <pthread.h>
#include <string>
#include <utility>

namespace revkv::cluster {

namespace {

// A libuv call that cannot fail on a healthy system (loop and handle setup); failing
// there leaves nothing sensible to do.
void check_uv(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "revkv cluster: %s: %s\n", what, uv_strerror(rc));
    std::abort();
  }
}

}  // namespace

LoopThread::LoopThread() {
  check_uv(uv_loop_init(&loop_), "uv_loop_init");
  check_uv(uv_async_init(&loop_, &wakeup_, &LoopThread::on_wakeup), "uv_async_init");
  wakeup_.data = this;
  loop_thread_id_ = std::this_thread::get_id();
}

LoopThread::~LoopThread() {
  join();
  if (!wakeup_closed_) {
    // Never started, or the owner never posted its last task: close what is ours.
    {
      std::lock_guard lock(mutex_);
      accepting_ = false;
    }
    close_wakeup();
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  if (uv_loop_close(&loop_) != 0) {
    std::fprintf(stderr, "revkv cluster: a libuv handle was left open at shutdown\n");
  }
}

void LoopThread::start(const char* name) {
  std::string thread_name(name);
  thread_ = std::thread([this, thread_name] {
    pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
  loop_thread_id_ = thread_.get_id();
}

bool LoopThread::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (!accepting_) return false;
  queue_.push_back(std::move(task));
  // Under the lock: post_last() cannot run in between, so the handle is still open.
  uv_async_send(&wakeup_);
  return true;
}

bool LoopThread::post_last(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (!accepting_) return false;
  accepting_ = false;
  queue_.push_back(std::move(task));
  uv_async_send(&wakeup_);
  return true;
}

void LoopThread::close_wakeup() {
  if (wakeup_closed_) return;
  wakeup_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
}

void LoopThread::join() {
  if (thread_.joinable()) thread_.join();
}

void LoopThread::run_here() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void LoopThread::on_wakeup(uv_async_t* handle) {
  static_cast<LoopThread*>(handle->data)->run_queued();
}

void LoopThread::run_queued() {
  // uv_async_send coalesces wake-ups: drain everything queued so far.
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  for (auto& task : batch) {
    // Tasks run inside libuv's C frames, which an exception must not unwind through; the
    // owner's tasks handle their own errors, so one escaping is a bug: stop with a message.
    try {
      task();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "revkv cluster: fatal: a loop task threw: %s\n", e.what());
      std::abort();
    } catch (...) {
      std::fprintf(stderr, "revkv cluster: fatal: a loop task threw an unknown exception\n");
      std::abort();
    }
  }
}

}  // namespace revkv::cluster
