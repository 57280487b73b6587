#pragma once

// A function-based stateful actor whose mailbox depth is counted into an atomic that the
// metrics collector reads at scrape time (revkv_shard_mailbox_depth). CAF 0.17 has no
// thread-safe way to ask another actor for its mailbox size, so the actor counts:
// enqueue() (any sender's thread) adds one before the message is queued, consume() (the
// actor's own thread) takes one off once the message is handled or dropped. A message
// left in the mailbox (caf::skip while a shard is paused) stays counted until it is
// handled. Two relaxed atomic adds per message; no lock.

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/invoke_message_result.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>

namespace revkv::actors {

template <class State>
class CountedMailbox : public caf::stateful_actor<State> {
 public:
  using Super = caf::stateful_actor<State>;
  using Init = std::function<caf::behavior(Super*)>;

  // `depth` must outlive the actor (it lives in the NodeContext the actor holds).
  CountedMailbox(caf::actor_config& cfg, std::atomic<int64_t>* depth, Init init)
      : Super(cfg), depth_(depth), init_(std::move(init)) {}

  caf::behavior make_behavior() override { return init_(this); }

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    depth_->fetch_add(1, std::memory_order_relaxed);
    Super::enqueue(std::move(ptr), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    auto result = Super::consume(x);
    if (result != caf::invoke_message_result::skipped)
      depth_->fetch_sub(1, std::memory_order_relaxed);
    return result;
  }

 private:
  std::atomic<int64_t>* depth_;
  Init init_;
};

}  // namespace revkv::actors
