#include "tests/actors/harness_watch_stream.hpp"

#include "actors/messages.hpp"
#include "tests/actors/actor_harness.hpp"

namespace revkv::testing {

HarnessWatchStream::HarnessWatchStream(caf::actor_system& sys, caf::actor hub,
                                       actors::NodeContextPtr ctx,
                                       std::chrono::milliseconds timeout)
    : self_(sys, /*hide=*/true), hub_(std::move(hub)), ctx_(std::move(ctx)), timeout_(timeout) {}

std::optional<protocol::WatchResponse> HarnessWatchStream::request(
    const protocol::WatchRequest& request) {
  uint32_t msgid = next_msgid_++;
  if (const auto* create = std::get_if<protocol::WatchCreateRequest>(&request.request)) {
    auto outcome = stream_.create(*create);
    if (auto* rejected = std::get_if<protocol::WatchResponse>(&outcome)) {
      rejected->header = ctx_->header(ctx_->watermark.load());
      return *rejected;
    }
    auto& accepted = std::get<actors::WatchStream::Accepted>(outcome);
    self_->send(hub_, actors::watch_create_atom::value, msgid, accepted.tag,
                std::move(accepted.spec));
    protocol::WatchResponse created;
    created.watch_id = accepted.watch_id;
    created.created = true;
    created.header = ctx_->header(answer(msgid));
    return created;
  }
  if (const auto* cancel = std::get_if<protocol::WatchCancelRequest>(&request.request)) {
    auto tag = stream_.cancel(cancel->watch_id);
    if (!tag) return std::nullopt;
    if (*tag != 0) {
      self_->send(hub_, actors::watch_cancel_atom::value, msgid, *tag);
      answer(msgid);
    }
    protocol::WatchResponse r;
    r.header = ctx_->header(ctx_->watermark.load());
    r.watch_id = cancel->watch_id;
    r.canceled = true;
    return r;
  }
  self_->send(hub_, actors::watch_progress_atom::value, msgid);
  int64_t revision = answer(msgid);
  if (revision < 0) return std::nullopt;
  protocol::WatchResponse r;
  r.header = ctx_->header(revision);
  r.watch_id = -1;
  return r;
}

std::optional<protocol::WatchResponse> HarnessWatchStream::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (inbox_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !receive(left)) break;
  }
  if (inbox_.empty()) return std::nullopt;
  auto out = std::move(inbox_.front());
  inbox_.pop_front();
  return out;
}

int64_t HarnessWatchStream::answer(uint32_t msgid) {
  while (!answers_.contains(msgid)) {
    if (!receive(timeout_)) {
      throw CallTimeout("the watch hub did not answer within " + std::to_string(timeout_.count()) +
                        " ms");
    }
  }
  int64_t revision = answers_[msgid];
  answers_.erase(msgid);
  return revision;
}

bool HarnessWatchStream::receive(std::chrono::milliseconds timeout) {
  bool got = true;
  self_->receive(
      [&](actors::watch_out_atom, actors::WatchDeliveries& deliveries) {
        for (auto& d : deliveries) {
          auto id = stream_.id_of(d.tag);
          if (!id) continue;  // cancelled meanwhile
          d.response.watch_id = *id;
          if (d.response.canceled) stream_.compacted(d.tag);
          inbox_.push_back(std::move(d.response));
        }
      },
      [&](actors::watch_created_atom, uint32_t msgid, uint64_t, int64_t revision) {
        answers_[msgid] = revision;
      },
      [&](actors::watch_progress_atom, uint32_t msgid, int64_t revision) {
        answers_[msgid] = revision;
      },
      [&](actors::watch_cancel_atom, uint32_t msgid) { answers_[msgid] = 0; },
      [&](actors::watch_unpark_atom, uint64_t) {}, caf::after(timeout) >> [&] { got = false; });
  return got;
}

}  // namespace revkv::testing
