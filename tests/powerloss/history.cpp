#include "tests/powerloss/history.hpp"

#include <tuple>

namespace revkv::testing {

std::string WriteOp::describe() const {
  static const char* kinds[] = {"put", "txn", "delete", "lease revoke"};
  std::string out = kinds[static_cast<int>(kind)];
  out += " by client " + std::to_string(client) + " (";
  for (const auto& [k, v] : puts)
    out += k + "=" + v + " ";
  for (const auto& k : deletes)
    out += "-" + k + " ";
  if (lease != 0) out += "lease " + std::to_string(lease);
  out += ")";
  return out;
}

Effects expected_effects(const WriteOp& op) {
  Effects out;
  for (const auto& [k, v] : op.puts)
    out.emplace(0, k, v);
  for (const auto& k : op.deletes)
    out.emplace(1, k, std::string{});
  return out;
}

size_t History::sent(WriteOp op) {
  std::lock_guard lock(mutex_);
  ops_.push_back(std::move(op));
  return ops_.size() - 1;
}

void History::acked(size_t index, int64_t revision, uint64_t at_operation) {
  std::lock_guard lock(mutex_);
  ops_[index].outcome = WriteOp::Outcome::acked;
  ops_[index].revision = revision;
  ops_[index].acked_at_operation = at_operation;
  if (revision > 0) known_revisions_.insert(revision);
}

void History::refused(size_t index) {
  std::lock_guard lock(mutex_);
  ops_[index].outcome = WriteOp::Outcome::refused;
}

void History::lease_granted(int64_t id) {
  std::lock_guard lock(mutex_);
  leases_granted_.insert(id);
}

void History::lease_sent(int64_t id) {
  std::lock_guard lock(mutex_);
  leases_sent_.insert(id);
}

void History::alarm_sent(bool raised) {
  std::lock_guard lock(mutex_);
  alarm_in_flight_ = raised;
}

void History::alarm_acked(bool raised) {
  std::lock_guard lock(mutex_);
  alarm_ = raised;
  alarm_in_flight_.reset();
}

int64_t History::known_prefix() const {
  std::lock_guard lock(mutex_);
  int64_t c = 1;  // revision 1 is the empty store's: no request made it
  for (int64_t r : known_revisions_) {
    if (r != c + 1) break;
    c = r;
  }
  return c;
}

History::Snapshot History::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot out{ops_, leases_granted_, leases_sent_, {alarm_}};
  if (alarm_in_flight_) out.alarm_states.insert(*alarm_in_flight_);
  return out;
}

}  // namespace revkv::testing
