#pragma once

// The gRPC door actors of one server, shared by every service: a call goes to the next
// door in turn (an atomic counter). With them, the ledger of the unary answers each client
// connection has not taken yet (etcdapi/answer_ledger.hpp). Why not one door per client: gRPC does
// not expose the HTTP/2 connection to handlers, and a client's concurrent calls carry no order
// anyway (docs/NODE.md "The gRPC door").

#include "etcdapi/answer_ledger.hpp"
#include "etcdapi/grpc_door.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace revkv::etcdapi {

class Doors {
 public:
  // `doors` not empty.
  // `unsent_answer_limit`: see AnswerLedger.
  Doors(std::vector<caf::actor> doors, uint64_t unsent_answer_limit)
      : doors_(std::move(doors)), answers_(std::make_shared<AnswerLedger>(unsent_answer_limit)) {}
  Doors(const Doors&) = delete;
  Doors& operator=(const Doors&) = delete;

  const caf::actor& next() {
    return doors_[next_.fetch_add(1, std::memory_order_relaxed) % doors_.size()];
  }
  // Hands `call` to the next door; call->done runs once, on that door's thread.
  void submit(CallPtr call) { submit_to(next(), std::move(call)); }
  static void submit_to(const caf::actor& door, CallPtr call);

  AnswerLedger& answers() { return *answers_; }
  // For what may outlive the doors (an answer the door actors give at their exit).
  const std::shared_ptr<AnswerLedger>& shared_answers() const { return answers_; }

 private:
  std::vector<caf::actor> doors_;
  std::atomic<size_t> next_{0};
  std::shared_ptr<AnswerLedger> answers_;
};

}  // namespace revkv::etcdapi
