#pragma once

// Thread names that tell revkvd's threads apart in top, perf and /proc (bench/thread-cpu):
// revkv.io (CAF's I/O multiplexer: the brokers), caf.worker (the scheduler), and one per
// detached actor (revkv.backend, revkv.lessor, revkv.maint, revkv.supervise). CAF 0.17 names its
// scheduler workers "caf.multiplexer", like the I/O thread, so they are renamed once the I/O thread
// is known.

namespace revkv::actors {

// Names the calling thread (at most 15 characters are kept).
void name_this_thread(const char* name);

// Called on CAF's I/O thread: names it revkv.io and every other thread of the process still
// called caf.multiplexer (CAF 0.17's name for its scheduler workers) caf.worker.
void name_io_and_worker_threads();

}  // namespace revkv::actors
