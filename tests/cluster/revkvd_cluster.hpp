#pragma once

// Member processes of one revkvd cluster for the tests (docs/CLUSTER.md): named a, b, c, ...
// on free loopback ports and temporary directories, started, killed and stopped by PID.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace revkv::testing {

// Between two looks at a condition a test waits for (with a deadline). A polling interval,
// not synchronization: a loop that only yields takes a core from the members it waits for
// (two cores here) and, when each look opens a connection, leaves tens of thousands of
// loopback sockets in TIME_WAIT — under CI's load that delayed elections past the deadlines.
inline void poll_pause() {
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// Whether a member whose Status is `member` has caught up with the leader's (`leader`):
// applied every entry the leader has (raft_index), serves at its revision (the header's, W:
// a follower moves W once its shards have taken the entry) and knows its compaction (which a
// follower starts apart from the apply). A client that reads its own writes from a
// follower's applied state waits for this.
inline bool caught_up(const protocol::StatusResponse& member,
                      const protocol::StatusResponse& leader) {
  return member.raft_index >= leader.raft_index &&
         member.header.revision >= leader.header.revision &&
         member.compact_revision >= leader.compact_revision;
}

class Cluster {
 public:
  // `extra`: flags every member gets too (e.g. --auth-token).
  explicit Cluster(size_t size, std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    // A port picked free may be bound by another test's process before this cluster's
    // member binds it (tests run side by side): that start alone is tried again, with new
    // ports for every member (each names all peers), three times at most.
    for (int attempt = 1;; ++attempt) {
      try {
        start_all(size);
        return;
      } catch (const std::runtime_error& e) {
        const std::string why = e.what();
        const bool port_taken = why.find("already in use") != std::string::npos ||
                                why.find("cannot listen") != std::string::npos;
        if (!port_taken || attempt == 3) throw;
        members_.clear();  // stops the members started
        for (const auto& name : names_)
          std::filesystem::remove_all(dir_.sub(name));
      }
    }
  }

  // Members named a, b, c, ... by `initial` (--initial-cluster as given), member i started
  // with `member_flags[i]` too, at every start (e.g. --listen-peer behind a proxy).
  Cluster(std::string initial, std::vector<std::vector<std::string>> member_flags,
          std::vector<std::string> extra = {})
      : extra_(std::move(extra)),
        initial_(std::move(initial)),
        member_flags_(std::move(member_flags)) {
    for (size_t i = 0; i < member_flags_.size(); ++i) {
      names_.push_back(std::string(1, static_cast<char>('a' + i)));
      ports_.push_back({"--listen-client", "127.0.0.1:" + std::to_string(free_loopback_port()),
                        "--listen-grpc", "127.0.0.1:" + std::to_string(free_loopback_port()),
                        "--listen-metrics", "127.0.0.1:" + std::to_string(free_loopback_port())});
    }
    members_.resize(member_flags_.size());
    joining_.resize(member_flags_.size(), false);
    for (size_t i = 0; i < member_flags_.size(); ++i)
      start(i);
  }

  size_t size() const { return members_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  bool running(size_t i) const { return members_[i] != nullptr; }
  NodeProcess& member(size_t i) { return *members_[i]; }

  // `extra`: more flags for this start (fixed ports for a member that restarts itself), after
  // the ones every member gets (the constructor's).
  // A start on the member's client ports (fixed, so that a member started again serves where
  // it served) may find one of them bound meanwhile by another test's process (tests run side
  // by side, and a killed member's ports are free until it starts again): that start is tried
  // again on new client ports, three times at most. Not with `extra` (it may name ports), and
  // not for the peer port, which every --initial-cluster names.
  void start(size_t i, const std::vector<std::string>& extra = {}) {
    for (int attempt = 1;; ++attempt) {
      try {
        members_[i] = std::make_unique<NodeProcess>(dir_.sub(names_[i]), flags(i, extra),
                                                    dir_.sub(names_[i] + ".log"));
        return;
      } catch (const std::runtime_error& e) {
        const std::string why = e.what();
        const bool client_port_taken = why.find("already in use") != std::string::npos &&
                                       (why.find("(--listen-client)") != std::string::npos ||
                                        why.find("(--listen-grpc)") != std::string::npos ||
                                        why.find("(--listen-metrics)") != std::string::npos);
        if (!client_port_taken || !extra.empty() || attempt == 3) throw;
        move_client_ports(i);
      }
    }
  }
  // The flags start(i, extra) gives member i besides --data-dir data_dir(i) (a test runs
  // revkvd with them itself to see a start refused).
  std::vector<std::string> flags(size_t i, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> flags{"--name", names_[i],  "--initial-cluster",
                                   initial_, "--shards", "2"};
    if (i < joining_.size() && joining_[i]) {
      flags.push_back("--initial-cluster-state");
      flags.push_back("existing");
    }
    flags.insert(flags.end(), ports_[i].begin(), ports_[i].end());
    flags.insert(flags.end(), extra_.begin(), extra_.end());
    if (i < member_flags_.size())
      flags.insert(flags.end(), member_flags_[i].begin(), member_flags_[i].end());
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
  }
  // A member to add to the running cluster (the next name, a free peer port): not started;
  // once `member add` took its peer URL, start(i) starts it with
  // --initial-cluster-state existing and an --initial-cluster that lists it too.
  size_t reserve_member() {
    names_.push_back(std::string(1, static_cast<char>('a' + names_.size())));
    addresses_.resize(names_.size() - 1);  // the proxy constructor records none
    addresses_.push_back("127.0.0.1:" + std::to_string(free_loopback_port()));
    initial_ += "," + names_.back() + "=" + addresses_.back();
    members_.emplace_back();
    joining_.push_back(true);
    ports_.push_back(client_ports());
    return members_.size() - 1;
  }
  // Member i's next start listens on new client, gRPC and metrics ports (free ones).
  void move_client_ports(size_t i) { ports_[i] = client_ports(); }
  // A reserved member's peer URL (reserve_member).
  std::string peer_url(size_t i) const { return "http://" + addresses_[i]; }
  // Member i's data directory.
  std::string data_dir(size_t i) const { return dir_.sub(names_[i]); }
  void kill9(size_t i) {
    members_[i]->kill9();
    members_[i].reset();
  }
  // SIGTERM; the exit status (-1: still running after `grace`, then killed).
  int stop(size_t i, std::chrono::seconds grace) {
    int status = members_[i]->stop(grace);
    members_[i].reset();
    return status;
  }

  // Member i's log (its stderr) so far, for a failing test's message.
  std::string log(size_t i) const {
    std::ifstream in(dir_.sub(names_[i] + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // How the harness's own clients connect (TLS for a cluster whose doors speak it).
  void set_client_options(client::ClientOptions options) { client_options_ = std::move(options); }

  client::Client connect(size_t i) {
    return std::move(client::Client::connect(members_[i]->endpoint(), client_options_)).value();
  }

  // find_leader's member, or the test fails.
  size_t require_leader(std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto leader = find_leader(limit);
    REQUIRE(leader);
    return *leader;
  }
  // The member that says it leads and accepts a write (the probe key is a real write),
  // within `limit`. A follower accepts writes too (it forwards them: docs/CLUSTER.md), hence
  // the Status check first.
  std::optional<size_t> find_leader(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (size_t i = 0; i < size(); ++i) {
        if (!running(i)) continue;
        auto c = client::Client::connect(members_[i]->endpoint(), client_options_);
        if (!c.ok()) continue;
        auto s = c.value().status();
        if (!s.ok() || s.value().leader != s.value().header.member_id) continue;
        storage::PutRequest probe;
        probe.key = "leader-probe";
        probe.value = names_[i];
        if (c.value().put(probe).ok()) return i;
      }
      poll_pause();
    }
    // Why not, with the failing assertion: the end of every member's log.
    for (size_t i = 0; i < size(); ++i) {
      auto text = log(i);
      if (text.size() > 3000) text.erase(0, text.size() - 3000);
      UNSCOPED_INFO("no leader found; the end of member " << names_[i] << "'s log:\n" << text);
    }
    return std::nullopt;
  }

  // Member i's W (a serializable read's header revision), once it reached `revision`.
  bool wait_revision(size_t i, int64_t revision, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto c = connect(i);
    while (std::chrono::steady_clock::now() < deadline) {
      storage::RangeRequest r;
      r.key = "x";
      r.serializable = true;
      auto got = c.range(r);
      if (got.ok() && got.value().response.revision >= revision) return true;
      poll_pause();
    }
    return false;
  }

 private:
  // Members a, b, c, ... on ports picked now, each started.
  void start_all(size_t size) {
    names_.clear();
    addresses_.clear();
    initial_.clear();
    ports_.clear();
    for (size_t i = 0; i < size; ++i) {
      names_.push_back(std::string(1, static_cast<char>('a' + i)));
      if (!initial_.empty()) initial_ += ",";
      addresses_.push_back("127.0.0.1:" + std::to_string(free_loopback_port()));
      initial_ += names_.back() + "=" + addresses_.back();
      // Fixed client ports: a member that restarts itself in place (docs/CLUSTER.md
      // "Leadership loss") or is started again serves where it served.
      ports_.push_back(client_ports());
    }
    members_.clear();
    members_.resize(size);
    joining_.assign(size, false);
    for (size_t i = 0; i < size; ++i)
      start(i);
  }

  TempDir dir_;
  std::vector<std::string> names_;
  static std::vector<std::string> client_ports() {
    return {"--listen-client",  "127.0.0.1:" + std::to_string(free_loopback_port()),
            "--listen-grpc",    "127.0.0.1:" + std::to_string(free_loopback_port()),
            "--listen-metrics", "127.0.0.1:" + std::to_string(free_loopback_port())};
  }

  std::vector<std::string> addresses_;           // peer HOST:PORT
  std::vector<bool> joining_;                    // started with --initial-cluster-state existing
  std::vector<std::string> extra_;               // flags of every member
  std::vector<std::vector<std::string>> ports_;  // each member's client-side listen flags
  client::ClientOptions client_options_;
  std::string initial_;
  std::vector<std::vector<std::string>> member_flags_;  // per member, at every start
  std::vector<std::unique_ptr<NodeProcess>> members_;
};

// Waits (deadline) until `done` holds; whether it did.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    poll_pause();
  }
  return done();
}

// Every running member (but the `gone`: removed from the cluster) has applied the same Raft
// index and reports the same Maintenance.Hash (which covers the kv, meta, lease and auth
// columns).
inline bool same_hash(Cluster& cluster, const std::set<size_t>& gone = {}) {
  std::optional<uint64_t> index;
  std::optional<uint32_t> hash;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i) || gone.count(i) != 0) continue;
    auto c = client::Client::connect(cluster.member(i).endpoint());
    if (!c.ok()) return false;
    auto s = c.value().status();
    auto h = c.value().hash();
    auto s2 = c.value().status();
    // Nothing applied between the two: the hash is of that index.
    if (!s.ok() || !h.ok() || !s2.ok() || s.value().raft_index != s2.value().raft_index)
      return false;
    if (!index) {
      index = s.value().raft_index;
      hash = h.value().hash;
    } else if (*index != s.value().raft_index || *hash != h.value().hash) {
      return false;
    }
  }
  return true;
}

inline storage::PutRequest put_of(const std::string& key, const std::string& value,
                                  int64_t lease = 0) {
  storage::PutRequest p;
  p.key = key;
  p.value = value;
  p.lease = lease;
  return p;
}

// Member i's serializable read of `key` (its own applied state): nullopt when the read
// failed, else the value, or nullopt inside when the key does not exist there.
inline std::optional<std::optional<std::string>> local_read(Cluster& cluster, size_t i,
                                                            const std::string& key) {
  auto c = client::Client::connect(cluster.member(i).endpoint());
  if (!c.ok()) return std::nullopt;
  storage::RangeRequest r;
  r.key = key;
  r.serializable = true;
  auto got = c.value().range(r);
  if (!got.ok()) return std::nullopt;
  if (got.value().response.kvs.empty()) return std::optional<std::string>();
  return std::optional<std::string>(got.value().response.kvs.front().value);
}

// The value of `key` at `revision` on member i (a serializable read), once it has applied
// that revision ("" when the key does not exist there; nullopt when the member never got
// there).
inline std::optional<std::string> value_at(Cluster& cluster, size_t i, const std::string& key,
                                           int64_t revision) {
  if (!cluster.wait_revision(i, revision, std::chrono::seconds(20))) return std::nullopt;
  storage::RangeRequest r;
  r.key = key;
  r.revision = revision;
  r.serializable = true;
  auto got = cluster.connect(i).range(r);
  if (!got.ok()) return std::nullopt;
  if (got.value().response.kvs.empty()) return std::string();
  return got.value().response.kvs[0].value;
}

// The tokens of `root` (the root role) and `reader` (read on [a, b) only), made through
// `c` (the leader's connection), which then has auth enabled.
struct RootAndReader {
  std::optional<std::string> root_token;
  std::optional<std::string> reader_token;
};

inline RootAndReader enable_auth_with_root_and_reader(client::Client& c) {
  REQUIRE(c.user_add({"root", "rootpw", {}}).ok());
  REQUIRE(c.user_grant_role("root", "root").ok());
  REQUIRE(c.user_add({"reader", "readerpw", {}}).ok());
  REQUIRE(c.role_add("r").ok());
  protocol::AuthRoleGrantPermissionRequest perm;
  perm.name = "r";
  perm.perm.perm_type = protocol::PermissionType::read;
  perm.perm.key = "a";
  perm.perm.range_end = "b";
  REQUIRE(c.role_grant_permission(perm).ok());
  REQUIRE(c.user_grant_role("reader", "r").ok());
  REQUIRE(c.auth_enable().ok());
  RootAndReader tokens;
  REQUIRE(c.authenticate("root", "rootpw").ok());
  tokens.root_token = c.token();
  REQUIRE(c.authenticate("reader", "readerpw").ok());
  tokens.reader_token = c.token();
  return tokens;
}

}  // namespace revkv::testing
