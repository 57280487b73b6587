#include "tests/cluster/raft_harness.hpp"

#include <sstream>
#include <stdexcept>
#include <thread>

namespace revkv::testing {

namespace {

// FNV-1a, 64 bits: a cheap order-sensitive digest of the applied entries.
std::uint64_t mix(std::uint64_t h, std::string_view bytes) {
  if (h == 0) h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

void RecordingMachine::apply(std::uint64_t index, std::string_view entry) {
  std::lock_guard lock(mutex_);
  if (index <= state_.applied) ++order_violations_;
  state_.applied = index;
  ++state_.count;
  state_.digest = mix(mix(state_.digest, std::to_string(index)), entry);
  entries_.emplace_back(index, std::string(entry));
  applied_cv_.notify_all();
}

std::string RecordingMachine::snapshot(std::uint64_t applied_index) {
  std::lock_guard lock(mutex_);
  // applied_index may be past state_.applied: barrier and configuration entries count in
  // the log but never reach the machine.
  if (applied_index < state_.applied) ++order_violations_;
  ++snapshot_calls_;
  if (fail_snapshots_) throw std::runtime_error("test machine: snapshot refused");
  ++snapshots_taken_;
  return std::to_string(state_.applied) + " " + std::to_string(state_.count) + " " +
         std::to_string(state_.digest);
}

bool RecordingMachine::restore(std::uint64_t applied_index, std::string_view descriptor) {
  std::istringstream in{std::string(descriptor)};
  State s;
  if (!(in >> s.applied >> s.count >> s.digest) || s.applied > applied_index) return false;
  std::lock_guard lock(mutex_);
  state_ = s;
  entries_.clear();
  restores_.push_back(applied_index);
  applied_cv_.notify_all();
  return true;
}

void RecordingMachine::fail_snapshots(bool fail) {
  std::lock_guard lock(mutex_);
  fail_snapshots_ = fail;
}

std::uint64_t RecordingMachine::snapshot_calls() const {
  std::lock_guard lock(mutex_);
  return snapshot_calls_;
}

std::uint64_t RecordingMachine::snapshots_taken() const {
  std::lock_guard lock(mutex_);
  return snapshots_taken_;
}

RecordingMachine::State RecordingMachine::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::vector<std::pair<std::uint64_t, std::string>> RecordingMachine::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::vector<std::uint64_t> RecordingMachine::restores() const {
  std::lock_guard lock(mutex_);
  return restores_;
}

std::uint64_t RecordingMachine::order_violations() const {
  std::lock_guard lock(mutex_);
  return order_violations_;
}

bool RecordingMachine::wait_applied(std::uint64_t index, Clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return applied_cv_.wait_until(lock, deadline, [&] { return state_.applied >= index; });
}

RaftGroup::RaftGroup(std::size_t size, GroupTuning tuning)
    : tuning_(tuning), status_changes_(size, 0) {
  std::string spec;
  for (std::size_t i = 0; i < size; ++i) {
    if (i) spec += ",";
    spec += "m" + std::to_string(i) + "=127.0.0.1:" + std::to_string(free_loopback_port());
  }
  initial_ = cluster::parse_initial_cluster(spec);
  for (std::size_t i = 0; i < size; ++i) {
    members_.push_back(Slot{initial_[i], tmp_.sub("m" + std::to_string(i)), nullptr, nullptr});
  }
  for (std::size_t i = 0; i < size; ++i)
    start(i);
}

RaftGroup::~RaftGroup() {
  for (std::size_t i = 0; i < members_.size(); ++i)
    stop(i);
}

void RaftGroup::start(std::size_t i) {
  auto& slot = members_[i];
  slot.machine = std::make_unique<RecordingMachine>();
  cluster::RaftConfig config;
  config.id = slot.member.id;
  config.address = slot.member.address;
  config.dir = slot.dir;
  config.initial_cluster = initial_;
  config.election_timeout_ms = tuning_.election_timeout_ms;
  config.heartbeat_timeout_ms = tuning_.heartbeat_timeout_ms;
  config.snapshot_threshold = tuning_.snapshot_threshold;
  config.snapshot_trailing = tuning_.snapshot_trailing;
  config.install_snapshot_timeout_ms = tuning_.install_snapshot_timeout_ms;
  config.segment_bytes = tuning_.segment_bytes;
  config.connect_retry_ms = 100;
  config.on_status_change = [this, i,
                             throws = tuning_.throwing_observer](const cluster::NodeStatus&) {
    {
      std::lock_guard lock(observed_mutex_);
      ++status_changes_[i];
    }
    if (throws) throw std::runtime_error("test observer: refused");
  };
  slot.node = std::make_unique<cluster::RaftNode>(std::move(config), *slot.machine);
}

void RaftGroup::stop(std::size_t i) {
  auto& slot = members_[i];
  if (!slot.node) return;
  slot.node->stop();
  slot.node.reset();
}

std::optional<std::size_t> RaftGroup::index_of(std::uint64_t id) const {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].member.id == id) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> RaftGroup::wait_leader(Clock::time_point deadline) {
  for (;;) {
    std::optional<std::uint64_t> agreed;
    bool agree = true;
    bool leader_says_so = false;
    for (std::size_t i = 0; i < members_.size() && agree; ++i) {
      if (!running(i)) continue;
      auto s = node(i).status().get();
      if (s.leader_id == 0 || (agreed && *agreed != s.leader_id)) agree = false;
      agreed = s.leader_id;
      if (s.role == cluster::Role::leader && s.leader_id == s.id) leader_says_so = true;
    }
    if (agree && agreed && leader_says_so) {
      auto at = index_of(*agreed);
      if (at && running(*at)) return at;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // Polling a condition until its deadline; the poll interval only bounds the latency.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::uint64_t RaftGroup::status_changes(std::size_t i) const {
  std::lock_guard lock(observed_mutex_);
  return status_changes_[i];
}

}  // namespace revkv::testing
