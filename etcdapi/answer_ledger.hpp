#pragma once

// What the gRPC server holds for each client connection in unary answers that the client
// has not taken: gRPC finishes a unary call (OnDone) only once its answer has passed the
// connection's HTTP/2 flow control, so an answer counted from Finish to OnDone is one the
// node still holds. A client that sends calls and never reads would otherwise make the
// node hold every answer (docs/NODE.md "What a slow connection costs").
//
// Connections are told apart by gRPC's peer string: "fd:N" for every client connection,
// since the client port hands gRPC each one by its descriptor (unique while the
// connection lives; every call of a closed connection ends, and with it its count). The
// JSON gateway's in-process channel (another name) is one peer for all of its HTTP
// connections; it reads every answer as soon as it comes and bounds what it holds per HTTP
// connection itself, so it is never refused here.

#include <atomic>
#include <cstdint>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace revkv::etcdapi {

class AnswerLedger {
 public:
  // `limit`: answer bytes a connection may have unsent before its next call is refused.
  explicit AnswerLedger(uint64_t limit) : limit_(limit) {}
  AnswerLedger(const AnswerLedger&) = delete;
  AnswerLedger& operator=(const AnswerLedger&) = delete;

  // Whether a new call of `peer` is served: its unsent answers are within the limit.
  bool admits(const std::string& peer) const;
  void add(const std::string& peer, uint64_t bytes);
  void remove(const std::string& peer, uint64_t bytes);
  // Unsent answer bytes of `peer` (tests, metrics).
  uint64_t unsent(const std::string& peer) const;
  // A leadership drain (actors/leadership_drain.hpp) waits until gRPC is done with every
  // call finished after start_drain(): `finishing` (which outlives the ledger) counts them.
  // Before a drain a call costs one relaxed load here.
  std::shared_ptr<const std::atomic<int64_t>> start_drain() {
    draining_.store(true, std::memory_order_relaxed);
    return finishing_;
  }
  bool count_finishing() {
    if (!draining_.load(std::memory_order_relaxed)) return false;
    finishing_->fetch_add(1);
    return true;
  }
  void counted_done() { finishing_->fetch_sub(1); }

 private:
  const uint64_t limit_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint64_t> unsent_;  // only peers with unsent answers
  std::atomic<bool> draining_{false};
  std::shared_ptr<std::atomic<int64_t>> finishing_ = std::make_shared<std::atomic<int64_t>>(0);
};

// A unary call's reactor whose answer stays on the ledger until gRPC is done with the
// call. gRPC's callback API owns a reactor through OnDone, where it deletes itself.
class LedgerReactor : public grpc::ServerUnaryReactor {
 public:
  LedgerReactor(AnswerLedger& ledger, std::string peer) : ledger_(ledger), peer_(std::move(peer)) {}

  // Whether the call's connection is within the ledger's limit.
  bool admitted() const { return ledger_.admits(peer_); }
  // Finishes the call with an answer of `bytes` (its serialized size).
  void finish(const grpc::Status& status, uint64_t bytes);

  void OnDone() override;
  // OnDone (a ledger update and the delete) and OnCancel (nothing) are trivial and never
  // call into gRPC, so gRPC may run them on the thread that completes the call instead of
  // handing each call's end to its executor thread: one thread wake-up less per call.
  // gRPC marks this hook as its own, for reactors with trivial reactions, which these are;
  // docs/NODE.md "The gRPC door" says what it saves.
  bool InternalInlineable() override { return true; }

 private:
  AnswerLedger& ledger_;
  const std::string peer_;
  uint64_t bytes_ = 0;
  bool counted_ = false;  // finished during a leadership drain
};

}  // namespace revkv::etcdapi
