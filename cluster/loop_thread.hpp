#pragma once

// A libuv loop on a thread of its own, and the one way other threads reach it: post() queues
// a task and wakes the loop (uv_async), which runs queued tasks in the order they were
// posted. libraft is single-threaded on its loop, so every call into it goes through here.
//
// Life cycle: construct (the loop exists, no thread yet; the owner may set up handles on the
// calling thread), start() (the thread runs the loop), post()..., then the owner posts its
// last task with post_last(): it closes the owner's handles and finally calls close_wakeup()
// on the loop thread, after which the loop has nothing left and the thread ends. join()
// waits for that. The destructor closes the loop; the owner must have joined (or never
// started) and closed every handle it opened.

#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <uv.h>

namespace revkv::cluster {

class LoopThread {
 public:
  LoopThread();
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  uv_loop_t* loop() { return &loop_; }

  // Runs the loop on a new thread, named `name` (at most 15 characters are kept).
  void start(const char* name);

  // Queues `task` for the loop thread. False (and `task` dropped) once post_last() was called.
  bool post(std::function<void()> task);

  // Queues the final task: nothing posted later is accepted. False if already called.
  bool post_last(std::function<void()> task);

  // On the loop thread, from the final task (or a callback it started): closes the wake-up
  // handle, the loop's own last handle.
  void close_wakeup();

  // Waits for the loop thread to end (every handle closed). Returns at once if it never
  // started or already ended.
  void join();

  // Without a thread (start() never called): runs the loop on the calling thread until
  // every handle is closed. For an owner whose setup failed before start().
  void run_here();

  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_id_; }

 private:
  static void on_wakeup(uv_async_t* handle);
  void run_queued();

  uv_loop_t loop_{};
  uv_async_t wakeup_{};
  bool wakeup_closed_ = false;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool accepting_ = true;                    // guarded by mutex_
  std::thread thread_;
  std::thread::id loop_thread_id_;
};

}  // namespace revkv::cluster
