#include "tests/powerloss/load.hpp"

#include "actors/request_path.hpp"
#include "actors/routing.hpp"
#include "tests/actors/harness_door.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>

namespace revkv::testing {

struct Load::Client {
  size_t index = 0;
  std::mt19937_64 rng;
  std::mutex mutex;  // guards door and stopping
  caf::actor door;
  bool stopping = false;
  // Keys of this client that exist (their last write was an acked put): deletable.
  std::vector<std::string> live_keys;
  uint64_t sequence = 0;
};

namespace {

using Outcome = std::optional<actors::Answer>;  // nullopt: no answer came

template <class Resp>
const Resp* response_of(const Outcome& answer) {
  if (!answer) return nullptr;
  const auto* response = std::get_if<actors::Response>(&*answer);
  return response ? std::get_if<Resp>(response) : nullptr;
}

// An error answer that says the request was refused before it could land: the NOSPACE
// alarm refuses writes. Any other failure leaves the request's fate unknown.
bool refused(const Outcome& answer) {
  if (!answer) return false;
  const auto* error = std::get_if<storage::Error>(&*answer);
  return error != nullptr && error->code() == storage::Errc::no_space;
}

WriteOp make_op(WriteOp::Kind kind, size_t client,
                std::vector<std::pair<std::string, std::string>> puts = {},
                std::vector<std::string> deletes = {}, int64_t lease = 0) {
  WriteOp op;
  op.kind = kind;
  op.client = client;
  op.puts = std::move(puts);
  op.deletes = std::move(deletes);
  op.lease = lease;
  return op;
}

}  // namespace

Load::Load(caf::actor_system& sys, const actors::Node& node, const PowerCutFs& fs, History& history,
           LoadOptions options)
    : sys_(sys), node_(node), fs_(fs), history_(history), options_(options) {
  for (size_t i = 0; i < options_.clients; ++i) {
    auto client = std::make_unique<Client>();
    client->index = i;
    client->rng.seed(options_.seed * 1000003 + i);
    clients_.push_back(std::move(client));
  }
  for (auto& client : clients_) {
    threads_.emplace_back([this, c = client.get()] {
      run(*c);
      std::lock_guard lock(finished_mutex_);
      ++finished_;
      finished_changed_.notify_all();
    });
  }
}

Load::~Load() {
  stop();
  join();
}

void Load::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool Load::wait_finished(const std::function<bool()>& also,
                         std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(finished_mutex_);
  // `also` (the power going off) has no notification of its own: look at it often.
  while (finished_ < clients_.size() && !also()) {
    if (finished_changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                                  std::chrono::milliseconds(2))) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
  }
  return finished_ == clients_.size();
}

void Load::stop() {
  for (auto& client : clients_) {
    std::lock_guard lock(client->mutex);
    client->stopping = true;
    if (client->door) caf::anon_send_exit(client->door, caf::exit_reason::user_shutdown);
  }
}

void Load::run(Client& c) {
  caf::scoped_actor self{sys_, /*hide=*/true};
  {
    std::lock_guard lock(c.mutex);
    if (c.stopping) return;
    c.door = spawn_harness_door(sys_, node_.context(), node_.routes(), caf::actor{self});
  }
  const size_t shards = node_.routes().shards.size();
  auto call = [&](actors::Request request) -> Outcome {
    Outcome out;
    caf::actor door;
    {
      std::lock_guard lock(c.mutex);
      if (c.stopping) return out;
      door = c.door;
    }
    self->request(door, options_.reply_timeout, harness_call_atom::value, std::move(request))
        .receive([&](actors::Answer& a) { out = std::move(a); }, [](caf::error&) {});
    return out;
  };
  auto name = [&](const std::string& prefix) {
    return prefix + std::to_string(c.index) + "/" + std::to_string(++c.sequence);
  };
  // Sends a write and records it: true when acked, false when refused, nullopt when the
  // client must stop (no answer, or an answer that leaves the write's fate unknown).
  auto write = [&](WriteOp op, actors::Request request, auto revision_of) -> std::optional<bool> {
    size_t index = history_.sent(std::move(op));
    auto answer = call(std::move(request));
    if (refused(answer)) {
      history_.refused(index);
      return false;
    }
    auto revision = revision_of(answer);
    if (!revision) return std::nullopt;
    history_.acked(index, *revision, fs_.operations());
    return true;
  };
  for (size_t n = 0; n < options_.requests_per_client && !fs_.power_off(); ++n) {
    int dice = static_cast<int>(c.rng() % 100);
    if (c.index == 0 && dice >= 85) {
      // Maintenance, from one client: its effects are not revisions.
      int what = dice - 85;
      if (what < 5) {
        int64_t prefix = history_.known_prefix() - static_cast<int64_t>(c.rng() % 3);
        if (prefix <= 0) continue;
        auto answer = call(protocol::CompactionRequest{prefix, c.rng() % 2 == 0});
        if (!answer) return;
        if (response_of<storage::CompactResponse>(answer)) ++maintenance_.compactions;
      } else if (what < 8) {
        auto answer = call(protocol::DefragmentRequest{});
        if (!answer) return;
        if (response_of<protocol::DefragmentResponse>(answer)) ++maintenance_.defragments;
      } else if (what < 11) {
        auto answer = call(protocol::SnapshotRequest{});
        if (!answer) return;
        if (response_of<protocol::SnapshotResponse>(answer)) ++maintenance_.snapshots;
      } else {
        for (bool raise : {true, false}) {
          history_.alarm_sent(raise);
          protocol::AlarmRequest alarm;
          alarm.action =
              raise ? protocol::AlarmAction::activate : protocol::AlarmAction::deactivate;
          alarm.alarm = protocol::AlarmType::nospace;
          alarm.member_id = node_.context()->member_id;
          if (!response_of<protocol::AlarmResponse>(call(alarm))) return;
          history_.alarm_acked(raise);
          ++maintenance_.alarm_changes;
        }
      }
      continue;
    }
    if (dice < 45) {
      // A put on one of the client's few keys: keys get several versions.
      std::string key = "k/" + std::to_string(c.index) + "/" + std::to_string(c.rng() % 6);
      std::string value = name("v");
      auto op = make_op(WriteOp::Kind::put, c.index, {{key, value}});
      storage::PutRequest put{key, value};
      auto acked = write(op, put, [](const Outcome& a) -> std::optional<int64_t> {
        const auto* r = response_of<storage::PutResponse>(a);
        return r ? std::optional<int64_t>(r->revision) : std::nullopt;
      });
      if (!acked) return;
      if (*acked && std::find(c.live_keys.begin(), c.live_keys.end(), key) == c.live_keys.end()) {
        c.live_keys.push_back(key);
      }
    } else if (dice < 70) {
      // A txn writing three new keys spread over several shards: all or nothing.
      std::string base = name("t/");
      storage::TxnRequest txn;
      auto op = make_op(WriteOp::Kind::txn, c.index);
      for (const char* part : {"/a", "/b", "/c"}) {
        std::string key = base + part;
        op.puts.emplace_back(key, base);
        storage::RequestOp put;
        put.op = storage::PutRequest{key, base};
        txn.success.push_back(std::move(put));
      }
      for (int salt = 0; actors::single_shard(txn, shards) && salt < 64; ++salt) {
        auto& last = std::get<storage::PutRequest>(txn.success.back().op);
        last.key = base + "/c" + std::to_string(salt);
        op.puts.back().first = last.key;
      }
      if (!write(op, txn, [](const Outcome& a) -> std::optional<int64_t> {
            const auto* r = response_of<storage::TxnResponse>(a);
            return r ? std::optional<int64_t>(r->revision) : std::nullopt;
          }))
        return;
    } else if (dice < 82) {
      if (c.live_keys.empty()) continue;
      size_t pick = c.rng() % c.live_keys.size();
      std::string key = c.live_keys[pick];
      c.live_keys.erase(c.live_keys.begin() + static_cast<std::ptrdiff_t>(pick));
      auto op = make_op(WriteOp::Kind::del, c.index, {}, {key});
      storage::DeleteRangeRequest del;
      del.key = key;
      if (!write(op, del, [](const Outcome& a) -> std::optional<int64_t> {
            const auto* r = response_of<storage::DeleteRangeResponse>(a);
            return r ? std::optional<int64_t>(r->revision) : std::nullopt;
          }))
        return;
    } else {
      // A lease: granted, given keys, revoked (which deletes them in one revision).
      int64_t id = static_cast<int64_t>((c.index + 1) * 1000000 + ++c.sequence);
      history_.lease_sent(id);
      auto granted = call(protocol::LeaseGrantRequest{3600, id});
      if (refused(granted)) continue;
      if (!response_of<protocol::LeaseGrantResponse>(granted)) return;
      history_.lease_granted(id);
      std::vector<std::string> keys;
      std::vector<int64_t> put_revisions;
      for (int i = 0; i < 2; ++i) {
        std::string key = "l/" + std::to_string(id) + "/" + std::to_string(i);
        auto op = make_op(WriteOp::Kind::put, c.index, {{key, "leased"}}, {}, id);
        storage::PutRequest put{key, "leased", id};
        std::optional<int64_t> revision;
        auto acked = write(op, put, [&](const Outcome& a) -> std::optional<int64_t> {
          const auto* r = response_of<storage::PutResponse>(a);
          if (r) revision = r->revision;
          return r ? std::optional<int64_t>(r->revision) : std::nullopt;
        });
        if (!acked) return;
        if (*acked) {
          keys.push_back(key);
          put_revisions.push_back(*revision);
        }
      }
      auto op = make_op(WriteOp::Kind::revoke, c.index, {}, keys, id);
      size_t index = history_.sent(op);
      auto revoked = call(protocol::LeaseRevokeRequest{id});
      if (refused(revoked)) {
        history_.refused(index);
        continue;
      }
      const auto* r = response_of<protocol::LeaseRevokeResponse>(revoked);
      if (!r) return;
      uint64_t at = fs_.operations();
      if (keys.empty()) {
        history_.acked(index, 0, at);
        continue;
      }
      // The revoke's answer carries the revision current when it answered, not the one it
      // made: find the revision at which its first key disappeared.
      int64_t low = put_revisions.front() + 1, high = r->header.revision;
      while (low < high) {
        int64_t mid = low + (high - low) / 2;
        storage::RangeRequest get;
        get.key = keys.front();
        get.revision = mid;
        auto seen = call(get);
        if (!seen) return;
        const auto* range = response_of<storage::RangeResponse>(seen);
        if (range && range->kvs.empty()) {
          high = mid;
        } else {
          low = mid + 1;  // still there (or compacted: below the revoke, so still there)
        }
      }
      history_.acked(index, low, at);
    }
  }
}

}  // namespace revkv::testing
