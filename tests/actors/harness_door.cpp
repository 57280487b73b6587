#include "tests/actors/harness_door.hpp"

#include "actors/messages.hpp"
#include "actors/request_path.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <memory>

namespace revkv::testing {
namespace {

class HarnessDoor : public caf::event_based_actor, public actors::DoorSink {
 public:
  HarnessDoor(caf::actor_config& cfg, actors::NodeContextPtr ctx, actors::Routes routes,
              caf::actor listener, actors::RequestPath::ReadTurns turns = {},
              std::shared_ptr<std::atomic<uint64_t>> unsent = nullptr)
      : caf::event_based_actor(cfg),
        listener_(std::move(listener)),
        unsent_(std::move(unsent)),
        path_(
            std::make_unique<actors::RequestPath>(this, std::move(ctx), std::move(routes), *this)) {
    path_->take_reads_in_turns(turns);
  }

  const char* name() const override { return "harness_door"; }

  caf::behavior make_behavior() override {
    caf::message_handler own{
        [this](harness_call_atom, actors::Request& request) -> caf::result<actors::Answer> {
          auto rp = make_response_promise();
          uint64_t id = next_id_++;
          promises_.emplace(id, rp);
          path_->submit(id, std::move(request), std::chrono::steady_clock::now());
          return rp;
        },
        [this](actors::node_failed_atom, const std::string& reason) {
          path_->fail(actors::unavailable(reason));
        },
    };
    return own.or_else(path_->handlers());
  }

  void on_exit() override {
    // Requests still waiting fail now instead of at their callers' deadlines (a test that
    // closes a door mid-request, as the power-loss test does at its cut, waits for none).
    for (auto& [id, rp] : promises_)
      rp.deliver(caf::make_error(caf::sec::request_receiver_down));
    promises_.clear();
    path_.reset();
    listener_ = nullptr;
  }

  void answer(uint64_t id, protocol::Method, actors::Answer answer) override {
    auto it = promises_.find(id);
    if (it == promises_.end()) return;
    it->second.deliver(std::move(answer));
    promises_.erase(it);
  }

  void watch_response(protocol::WatchResponse response) override {
    send(listener_, harness_watch_atom::value, std::move(response));
  }

  void snapshot_chunk(uint64_t id, std::string_view blob, uint64_t remaining) override {
    send(listener_, harness_chunk_atom::value,
         protocol::SnapshotChunk{static_cast<uint32_t>(id), std::string(blob), remaining});
  }

  // In process nothing waits, unless the test says so.
  uint64_t unsent_bytes() const override { return unsent_ ? unsent_->load() : 0; }

 private:
  caf::actor listener_;
  std::shared_ptr<std::atomic<uint64_t>> unsent_;
  std::unique_ptr<actors::RequestPath> path_;
  std::map<uint64_t, caf::response_promise> promises_;
  uint64_t next_id_ = 1;
};

}  // namespace

caf::actor spawn_harness_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                              actors::Routes routes, caf::actor listener) {
  return sys.spawn<HarnessDoor>(std::move(ctx), std::move(routes), std::move(listener));
}

caf::actor spawn_harness_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                              actors::Routes routes, caf::actor listener,
                              actors::RequestPath::ReadTurns turns,
                              std::shared_ptr<std::atomic<uint64_t>> unsent) {
  return sys.spawn<HarnessDoor>(std::move(ctx), std::move(routes), std::move(listener), turns,
                                std::move(unsent));
}

}  // namespace revkv::testing
