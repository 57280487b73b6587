#include "tests/powerloss/verify.hpp"

#include "actors/node.hpp"
#include "actors/request_path.hpp"
#include "storage/store.hpp"
#include "tests/actors/harness_door.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <optional>

namespace revkv::testing {
namespace {

using Ops = std::vector<WriteOp>;

struct Reopened {
  protocol::HashKVResponse hash;
  bool alarm = false;
};

// The node on the real directory (no power-cut file system), asked for HashKV at its
// current revision, then stopped.
std::optional<Reopened> reopen_node(caf::actor_system& sys, const VerifyInput& input,
                                    Verdict& verdict) {
  actors::NodeConfig config;
  config.data_dir = input.data_dir;
  config.listen = false;
  config.options.shards = input.shards;
  config.backend.sync = false;
  auto started = actors::Node::start(sys, config);
  if (!started.ok()) {
    verdict.failures.push_back("the node does not reopen: " + started.error().message());
    return std::nullopt;
  }
  auto& node = **started;
  Reopened out;
  out.alarm = node.context()->nospace_alarm.load();
  {
    caf::scoped_actor self{sys, /*hide=*/true};
    auto door = spawn_harness_door(sys, node.context(), node.routes(), caf::actor{self});
    std::optional<actors::Answer> answer;
    self->request(door, std::chrono::seconds(30), harness_call_atom::value,
                  actors::Request{protocol::HashKVRequest{0}})
        .receive([&](actors::Answer& a) { answer = std::move(a); }, [](caf::error&) {});
    caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
    const auto* response = answer ? std::get_if<actors::Response>(&*answer) : nullptr;
    const auto* hash = response ? std::get_if<protocol::HashKVResponse>(response) : nullptr;
    if (hash == nullptr) {
      verdict.failures.push_back("the reopened node does not answer HashKV");
    } else {
      out.hash = *hash;
    }
  }
  if (auto stopped = node.stop(); !stopped.ok()) {
    verdict.failures.push_back("the reopened node does not stop: " + stopped.error().message());
  }
  return out;
}

// Which request made each revision: the acked ones by their answers, the rest found by
// their records among the requests in flight. Checks gaps and half-applied revisions.
std::map<int64_t, size_t> attribute_revisions(const Ops& ops,
                                              const std::map<int64_t, Effects>& records,
                                              int64_t compact, int64_t current, Verdict& verdict) {
  std::map<int64_t, size_t> made_by;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].outcome != WriteOp::Outcome::acked || ops[i].revision == 0) continue;
    if (!made_by.emplace(ops[i].revision, i).second) {
      verdict.failures.push_back("two acked requests got revision " +
                                 std::to_string(ops[i].revision));
    }
  }
  std::vector<bool> used(ops.size(), false);
  // Revision 1 is the empty store's: the first write makes revision 2.
  for (int64_t r = std::max<int64_t>(compact + 1, 2); r <= current; ++r) {
    auto record = records.find(r);
    if (record == records.end()) {
      verdict.failures.push_back("gap: revision " + std::to_string(r) + " has no record");
      continue;
    }
    if (auto acked = made_by.find(r); acked != made_by.end()) {
      if (record->second != expected_effects(ops[acked->second])) {
        verdict.failures.push_back("revision " + std::to_string(r) + " does not hold " +
                                   ops[acked->second].describe() + " (half-applied?)");
      }
      continue;
    }
    bool found = false;
    for (size_t i = 0; i < ops.size() && !found; ++i) {
      if (used[i] || ops[i].outcome != WriteOp::Outcome::in_flight) continue;
      if (expected_effects(ops[i]) != record->second) continue;
      used[i] = found = true;
      made_by.emplace(r, i);
      ++verdict.in_flight_landed;
    }
    if (!found) {
      verdict.failures.push_back(
          "revision " + std::to_string(r) + " holds records of no request (" +
          std::to_string(record->second.size()) + " records; half-applied or unknown)");
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].outcome == WriteOp::Outcome::in_flight && !used[i]) ++verdict.in_flight_lost;
  }
  return made_by;
}

// Applies the requests that made revisions 1..current to a fresh engine, compacts it as
// the reopened one is, and compares HashKV.
void compare_with_replay(const Ops& ops, const std::map<int64_t, size_t>& made_by,
                         const VerifyInput& input, const Reopened& node, int64_t compact,
                         Verdict& verdict) {
  storage::StoreOptions scratch;
  scratch.backend.sync = false;  // a scratch copy: its durability is not under test
  auto opened = storage::Store::open(input.scratch_dir, scratch);
  if (!opened.ok()) {
    verdict.failures.push_back("replay store: " + opened.error().message());
    return;
  }
  auto& replay = **opened;
  std::set<int64_t> leases;
  for (const auto& [r, i] : made_by)
    if (ops[i].lease != 0) leases.insert(ops[i].lease);
  for (int64_t id : leases) {
    if (!replay.lease_grant(id, 3600).ok()) {
      verdict.failures.push_back("replay: lease grant failed");
      return;
    }
  }
  for (int64_t r = 2; r <= verdict.revision; ++r) {
    auto it = made_by.find(r);
    if (it == made_by.end()) {
      verdict.failures.push_back("replay: no request is known for revision " + std::to_string(r));
      return;
    }
    const WriteOp& op = ops[it->second];
    storage::Status applied;
    switch (op.kind) {
      case WriteOp::Kind::put: {
        auto put = replay.put({op.puts[0].first, op.puts[0].second, op.lease});
        if (!put.ok()) applied = put.error();
        break;
      }
      case WriteOp::Kind::txn: {
        storage::TxnRequest txn;
        for (const auto& [k, v] : op.puts) {
          storage::RequestOp put;
          put.op = storage::PutRequest{k, v};
          txn.success.push_back(std::move(put));
        }
        auto done = replay.txn(txn);
        if (!done.ok()) applied = done.error();
        break;
      }
      case WriteOp::Kind::del: {
        storage::DeleteRangeRequest del;
        del.key = op.deletes[0];
        auto done = replay.delete_range(del);
        if (!done.ok()) applied = done.error();
        break;
      }
      case WriteOp::Kind::revoke: {
        auto done = replay.lease_revoke(op.lease);
        if (!done.ok()) applied = done.error();
        break;
      }
    }
    if (!applied.ok() || replay.current_revision() != r) {
      verdict.failures.push_back("replay: " + op.describe() + " did not make revision " +
                                 std::to_string(r));
      return;
    }
  }
  if (compact > 0 && !replay.compact(compact, /*physical=*/true).ok()) {
    verdict.failures.push_back("replay: compaction at " + std::to_string(compact) + " failed");
    return;
  }
  // Both at the current revision (0), as the node was asked: HashKV at exactly a compaction's
  // revision answers the hash kept from that compaction, a different quantity (etcd).
  auto hash = replay.hash_kv(0);
  if (!hash.ok()) {
    verdict.failures.push_back("replay: HashKV failed: " + hash.error().message());
    return;
  }
  if (hash->hash != node.hash.hash || hash->compact_revision != node.hash.compact_revision) {
    verdict.failures.push_back("HashKV of the reopened node (" + std::to_string(node.hash.hash) +
                               ", compacted at " + std::to_string(node.hash.compact_revision) +
                               ") differs from the replay's (" + std::to_string(hash->hash) +
                               ", compacted at " + std::to_string(hash->compact_revision) +
                               ") at revision " + std::to_string(verdict.revision));
  }
}

}  // namespace

Verdict verify_after_cut(caf::actor_system& sys, const VerifyInput& input) {
  Verdict verdict;
  const Ops& ops = input.history.ops;
  auto node = reopen_node(sys, input, verdict);
  if (!node) return verdict;

  auto opened = storage::Store::open(input.data_dir);
  if (!opened.ok()) {
    verdict.failures.push_back("the engine does not open the reopened data: " +
                               opened.error().message());
    return verdict;
  }
  auto& store = **opened;
  verdict.revision = store.current_revision();
  verdict.compact_revision = std::max<int64_t>(store.compact_revision(), 0);
  const int64_t compact = verdict.compact_revision;
  if (verdict.revision != node->hash.header.revision) {
    verdict.failures.push_back("the node reopened at revision " +
                               std::to_string(node->hash.header.revision) + ", the engine at " +
                               std::to_string(verdict.revision));
  }

  std::map<int64_t, Effects> records;
  if (verdict.revision > compact) {
    auto events = store.events(compact + 1, verdict.revision);
    if (!events.ok()) {
      verdict.failures.push_back("reading the history failed: " + events.error().message());
      return verdict;
    }
    for (const auto& e : *events) {
      records[e.kv.mod_revision].emplace(
          e.type == storage::Event::Type::put ? 0 : 1, e.kv.key,
          e.type == storage::Event::Type::put ? e.kv.value : std::string{});
    }
  }
  auto made_by = attribute_revisions(ops, records, compact, verdict.revision, verdict);

  // Durability of what was acknowledged.
  std::set<int64_t> revoked_leases;
  for (const auto& [r, i] : made_by)
    if (r <= verdict.revision && ops[i].kind == WriteOp::Kind::revoke) {
      revoked_leases.insert(ops[i].lease);
    }
  for (const auto& op : ops) {
    if (op.outcome != WriteOp::Outcome::acked) continue;
    ++verdict.acked_writes;
    if (op.revision <= verdict.revision) continue;
    ++verdict.acked_lost;
    // The write's WAL append is numbered at most acked_at_operation; appends numbered below
    // the horizon were synced.
    if (input.every_ack_durable || op.acked_at_operation < input.durable_horizon) {
      verdict.failures.push_back("acknowledged write lost: " + op.describe() + " at revision " +
                                 std::to_string(op.revision) + " (reopened at " +
                                 std::to_string(verdict.revision) + ")");
    }
  }
  // Leases: an acked grant survives unless its revoke landed; a landed revoke removed it.
  for (int64_t id : input.history.leases_sent) {
    bool exists = store.lease_exists(id);
    bool revoke_landed = revoked_leases.contains(id);
    bool revoke_acked = false;
    for (const auto& op : ops) {
      if (op.kind == WriteOp::Kind::revoke && op.lease == id &&
          op.outcome == WriteOp::Outcome::acked && op.revision <= verdict.revision) {
        revoke_acked = true;
      }
    }
    if ((revoke_landed || (revoke_acked && input.every_ack_durable)) && exists) {
      verdict.failures.push_back("lease " + std::to_string(id) + " outlived its revoke");
    }
    bool granted = input.history.leases_granted.contains(id);
    if (granted && input.every_ack_durable && !revoke_landed && !revoke_acked && !exists) {
      // A revoke in flight without keys leaves no record: it may have landed unseen.
      bool revoke_without_keys_in_flight = false;
      for (const auto& op : ops) {
        if (op.kind == WriteOp::Kind::revoke && op.lease == id && op.deletes.empty() &&
            op.outcome != WriteOp::Outcome::refused) {
          revoke_without_keys_in_flight = true;
        }
      }
      if (!revoke_without_keys_in_flight) {
        verdict.failures.push_back("acknowledged lease " + std::to_string(id) + " lost");
      }
    }
  }
  if (!input.history.alarm_states.contains(node->alarm) && input.every_ack_durable) {
    verdict.failures.push_back(std::string("the NOSPACE alarm reopened ") +
                               (node->alarm ? "raised" : "clear") +
                               ", which no acked or in-flight change left");
  }
  if (auto closed = store.close(); !closed.ok()) {
    verdict.failures.push_back("closing the engine: " + closed.error().message());
  }
  if (verdict.failures.empty()) {
    compare_with_replay(ops, made_by, input, *node, compact, verdict);
  }
  return verdict;
}

}  // namespace revkv::testing
