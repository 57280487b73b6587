#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <string_view>

namespace revkv::actors {

// Flushes every logger, for a process about to end without destructors (_Exit or exec).
// Not spdlog::shutdown(): that drops the default logger while other threads may still log
// (a gRPC thread, an actor failing its requests), and their next log call dereferences a
// null or freed logger — a SIGSEGV in place of the exit or the restart. The loggers stay.
void flush_logs();

// A write that RocksDB refused leaves the node unable to keep its promises (SPEC: a
// failed write is fatal). Logs the reason and ends the process with a non-zero status;
// restart recovers everything that was acknowledged.
[[noreturn]] void fatal(std::string_view what);

// A core actor's request to another core actor (a shard) failed (`err`): fatal as above,
// unless the node is stopping (`stopping`: NodeContext::stopping) and the actor asked had
// stopped. Node::stop ends the core actors together, so a request in flight then finds its
// receiver down: the caller's work ends there (logged at info with `what`), whatever it left
// undone is recovered at the next start, and its own caller gets no answer (CAF 0.17
// answers no request whose response promise ends with its actor; the doors are closed by
// then). A shard that died while the node was not stopping stays fatal.
void fatal_unless_stopped(std::string_view what, const caf::error& err, bool stopping);

// Cluster mode: this member's in-memory state holds records that will never commit (a
// commit group whose proposal failed when leadership moved). Logs `why` and starts revkvd
// again in this very process — the same program, arguments and environment, every file
// descriptor closed — so it rebuilds from RocksDB and the Raft log exactly as after a crash,
// with no supervisor needed. Exits 70 if that exec fails. Calls the test hook first. The
// log line says `why`, then "restarting in place to " and `to`.
[[noreturn]] void restart_in_place(std::string_view why,
                                   std::string_view to = "rebuild from what was applied");

// Cluster mode: this member applied its own removal from the cluster (member remove) and a
// proposal of its own then failed (a removed leader steps down under its writes in flight).
// It will never serve again on this store, so nothing is rebuilt: the thread first asks for
// the clean stop (`stop`, the SIGTERM path), waits `delay` for the answers already on their
// way (the MemberRemove call itself: etcd delays a removed member's stop alike), then ends
// the process with status 0 — the stop's drain would wait for the failed writes for ever.
[[noreturn]] void exit_removed(std::string_view why, const std::function<void()>& stop,
                               std::chrono::milliseconds delay);

// Test hook: called by fatal() and restart_in_place() instead of ending the process. The power-loss
// test (tests/powerloss/) cuts the power under a node running in the test's own process: every file
// operation fails from then on, and the node must die without taking the test with it. Its handler
// throws, so that the failing actor terminates (CAF turns an exception in a handler into the
// actor's exit) and the test tears the node down. A handler that returns still ends the process.
// Null (the default, and always in production): exit.
using FatalHandler = void (*)(std::string_view what);
void set_fatal_handler_for_test(FatalHandler handler);

}  // namespace revkv::actors
