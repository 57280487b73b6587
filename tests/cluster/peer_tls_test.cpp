// Peer TLS (docs/SECURITY.md "Peer TLS", docs/CLUSTER.md): three revkvd processes whose Raft
// traffic is TLS, verified both ways, with certificates made by the openssl commands of
// docs/SECURITY.md. They elect, replicate and survive the leader's kill -9; a member
// without peer TLS, a member with a certificate from another CA and garbage bytes on a
// peer port are refused with a log line while the others go on. Skipped, not passed,
// without openssl.

#include "actors/member_attributes.hpp"
#include "client/client.hpp"
#include "tests/cluster/member_commands.hpp"
#include "tests/cluster/peer_proxy.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/security_doc.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace revkv;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Sh {
  int status = -1;
  std::string out;
};

Sh sh(const std::string& cmd) {
  Sh r;
  FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

using testing::read_file;

// The peer CA and peer-{a,b,c}.{crt,key} by docs/SECURITY.md's commands, plus a member
// certificate from another CA (peer-rogue.*) that trusts both CAs (rogue-trusts.crt). False
// (skipped) without openssl.
bool make_peer_certs(const testing::TempDir& dir) {
  if (sh("command -v openssl >/dev/null").status != 0) {
    testing::report_skipped("openssl not installed (scripts/setup)");
    return false;
  }
  const auto setup = sh("cd " + dir.str() + " && bash -euo pipefail -c " +
                        testing::shell_quoted(testing::security_doc_block("peer-tls-setup")));
  INFO(setup.out);
  REQUIRE(setup.status == 0);
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const auto rogue = sh(
      "cd " + dir.str() + " && set -e\n" + "openssl req -x509 " + ec +
      " -keyout rogue-ca.key -out rogue-ca.crt -days 30 -subj '/CN=rogue CA'\n" + "openssl req " +
      ec + " -keyout peer-rogue.key -out peer-rogue.csr -subj '/CN=rogue member'\n" +
      "openssl x509 -req -in peer-rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key "
      "-CAcreateserial -days 30 -extfile peer.ext -out peer-rogue.crt\n"
      // The rogue trusts the cluster's CA too: it accepts the members'
      // certificates, so theirs is the check that refuses it.
      "cat peer-ca.crt rogue-ca.crt > rogue-trusts.crt\n"
      // From the cluster's CA, but naming another address than its own.
      "openssl req " +
      ec +
      " -keyout peer-misnamed.key -out peer-misnamed.csr -subj '/CN=misnamed'\n"
      "printf 'subjectAltName=IP:127.0.0.2\\nextendedKeyUsage=serverAuth,"
      "clientAuth\\n' > misnamed.ext\n"
      "openssl x509 -req -in peer-misnamed.csr -CA peer-ca.crt -CAkey peer-ca.key "
      "-CAcreateserial -days 30 -extfile misnamed.ext -out peer-misnamed.crt\n");
  INFO(rogue.out);
  REQUIRE(rogue.status == 0);
  return true;
}

// How a member's peer traffic is set up.
enum class Peer { tls, plaintext, rogue, misnamed };

class TlsCluster {
 public:
  // `behind_proxies`: each member binds --listen-peer on a port of its own and is advertised
  // at a PeerProxy's port in front of it (which, never cut, relays the TLS bytes as they come).
  explicit TlsCluster(std::vector<Peer> kinds, bool behind_proxies = false)
      : kinds_(std::move(kinds)) {
    for (size_t i = 0; i < kinds_.size(); ++i) {
      names_.push_back(std::string(1, static_cast<char>('a' + i)));
      ports_.push_back(testing::free_loopback_port());
      listen_flags_.emplace_back();
      if (behind_proxies) {
        const uint16_t listen = ports_.back();
        proxies_.push_back(std::make_unique<testing::PeerProxy>(listen));
        ports_.back() = proxies_.back()->port();
        listen_flags_.back() = {"--listen-peer", "127.0.0.1:" + std::to_string(listen)};
      }
      if (!initial_.empty()) initial_ += ",";
      initial_ += names_.back() + "=127.0.0.1:" + std::to_string(ports_.back());
      // Fixed client ports, kept across restarts: a member that restarts itself in place (a
      // deposed leader with writes in flight, a catch-up) serves where it served.
      const auto port = [] { return "127.0.0.1:" + std::to_string(testing::free_loopback_port()); };
      client_flags_.push_back(
          {"--listen-client", port(), "--listen-grpc", port(), "--listen-metrics", port()});
    }
    members_.resize(kinds_.size());
  }

  bool certs() { return make_peer_certs(dir_); }
  void start_all() {
    for (size_t i = 0; i < size(); ++i)
      start(i);
  }

  size_t size() const { return members_.size(); }
  bool running(size_t i) const { return members_[i] != nullptr; }
  uint16_t peer_port(size_t i) const { return ports_[i]; }
  uint64_t relayed(size_t i) const { return proxies_.at(i)->relayed(); }
  std::string log(size_t i) const { return read_file(dir_.sub(names_[i] + ".log")); }
  std::string file(const std::string& name) const { return dir_.sub(name); }
  pid_t pid(size_t i) const { return members_[i]->pid(); }
  std::string member_endpoint(size_t i) const { return members_[i]->endpoint(); }

  // `extra`: more flags.
  void start(size_t i, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> flags = {"--name",   names_[i], "--initial-cluster", initial_,
                                      "--shards", "2",       "--log-format",      "text",
                                      "--sync",   "never",   "--log-level",       "info"};
    const std::string cert = kinds_[i] == Peer::rogue      ? "peer-rogue"
                             : kinds_[i] == Peer::misnamed ? "peer-misnamed"
                                                           : "peer-" + names_[i];
    const std::string ca = kinds_[i] == Peer::rogue ? "rogue-trusts.crt" : "peer-ca.crt";
    if (kinds_[i] != Peer::plaintext) {
      flags.insert(flags.end(), {"--peer-cert-file", dir_.sub(cert + ".crt"), "--peer-key-file",
                                 dir_.sub(cert + ".key"), "--peer-trusted-ca-file", dir_.sub(ca)});
    }
    flags.insert(flags.end(), listen_flags_[i].begin(), listen_flags_[i].end());
    flags.insert(flags.end(), client_flags_[i].begin(), client_flags_[i].end());
    flags.insert(flags.end(), extra.begin(), extra.end());
    members_[i] = std::make_unique<testing::NodeProcess>(dir_.sub(names_[i]), flags,
                                                         dir_.sub(names_[i] + ".log"));
  }
  void kill9(size_t i) {
    members_[i]->kill9();
    members_[i].reset();
  }

  client::Client connect(size_t i) {
    return std::move(client::Client::connect(members_[i]->endpoint())).value();
  }

  // The member among `candidates` that accepts a write, within `limit`.
  std::optional<size_t> find_leader(std::vector<size_t> candidates, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      for (size_t i : candidates) {
        if (!running(i)) continue;
        auto c = client::Client::connect(members_[i]->endpoint());
        if (!c.ok()) continue;
        storage::PutRequest probe;
        probe.key = "leader-probe";
        probe.value = names_[i];
        if (c.value().put(probe).ok()) return i;
      }
      std::this_thread::sleep_for(20ms);  // polling interval, not synchronization
    }
    return std::nullopt;
  }

  // Member i's serializable revision once it reached `revision` (within `limit`), else the
  // last one seen.
  int64_t wait_revision(size_t i, int64_t revision, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    auto c = connect(i);
    int64_t seen = 0;
    while (Clock::now() < deadline) {
      storage::RangeRequest r;
      r.key = "x";
      r.serializable = true;
      auto got = c.range(r);
      if (got.ok()) seen = got.value().response.revision;
      if (seen >= revision) return seen;
      std::this_thread::sleep_for(20ms);
    }
    return seen;
  }

  // Waits until member i's log holds `text`.
  bool log_has(size_t i, const std::string& text, std::chrono::seconds limit) const {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      if (log(i).find(text) != std::string::npos) return true;
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
  }

 private:
  testing::TempDir dir_;
  std::vector<Peer> kinds_;
  std::vector<std::string> names_;
  std::vector<uint16_t> ports_;  // advertised (a proxy's when behind proxies)
  std::vector<std::vector<std::string>> listen_flags_;
  std::vector<std::vector<std::string>> client_flags_;  // --listen-client/-grpc/-metrics
  std::string initial_;
  // Before the members: they are stopped first, then their proxies.
  std::vector<std::unique_ptr<testing::PeerProxy>> proxies_;
  std::vector<std::unique_ptr<testing::NodeProcess>> members_;
};

// `count` puts on member `leader`; the last revision.
int64_t put_many(TlsCluster& cluster, size_t leader, int count, const std::string& prefix) {
  auto c = cluster.connect(leader);
  int64_t last = 0;
  for (int n = 0; n < count; ++n) {
    storage::PutRequest p;
    p.key = prefix + std::to_string(n % 17);
    p.value = "v" + std::to_string(n);
    auto put = c.put(p);
    // A leadership change on a loaded machine is answered Unavailable (`leader changed`,
    // `not leader`, `no leader`), or the connection ends (a deposed leader restarts in place,
    // docs/CLUSTER.md "Leadership loss"): once the cluster has a leader again, put it again
    // through the same member (a follower forwards it), as etcd's clients retry.
    const auto deadline = Clock::now() + 30s;
    while (!put.ok() && Clock::now() < deadline) {
      UNSCOPED_INFO("put " << n << " on member " << leader << ": " << put.error().message);
      if (!cluster.find_leader({0, 1, 2}, 20s)) break;
      if (auto again = client::Client::connect(cluster.member_endpoint(leader)); again.ok())
        c = std::move(again).value();
      put = c.put(p);
    }
    REQUIRE(put.ok());
    last = put.value().response.revision;
  }
  return last;
}

// `count` puts on member `leader` of a testing::Cluster; the last revision.
int64_t put_many_on(testing::Cluster& cluster, size_t leader, int count,
                    const std::string& prefix) {
  auto c = cluster.connect(leader);
  int64_t last = 0;
  for (int n = 0; n < count; ++n) {
    auto put = c.put(testing::put_of(prefix + std::to_string(n % 17), "v" + std::to_string(n)));
    REQUIRE(put.ok());
    last = put.value().response.revision;
  }
  return last;
}

// Every member in `members` reached `revision` and has the same HashKV at it.
void require_same_hash(TlsCluster& cluster, const std::vector<size_t>& members, int64_t revision) {
  std::optional<uint32_t> first;
  for (size_t i : members) {
    CAPTURE(i, revision);
    REQUIRE(cluster.wait_revision(i, revision, 20s) >= revision);
    protocol::HashKVRequest h;
    h.revision = revision;
    auto hash = cluster.connect(i).hash_kv(h);
    REQUIRE(hash.ok());
    if (!first)
      first = hash.value().hash;
    else
      CHECK(hash.value().hash == *first);
  }
}

// A raw TCP connection to 127.0.0.1:`port`; -1 on failure.

}  // namespace

TEST_CASE("peer TLS: three members elect, replicate and survive kill -9 of the leader",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls});
  if (!cluster.certs()) return;
  cluster.start_all();
  for (size_t i = 0; i < 3; ++i) {
    CHECK(cluster.log_has(i, "tls: Raft traffic between members is TLS, verified both ways", 5s));
    CHECK(cluster.log_has(i, "accepts TLS only", 5s));
  }
  auto leader = cluster.find_leader({0, 1, 2}, 20s);
  REQUIRE(leader);
  int64_t last = put_many(cluster, *leader, 100, "k");
  require_same_hash(cluster, {0, 1, 2}, last);

  // The leader dies; the other two elect one of them over their TLS connections.
  const size_t old = *leader;
  cluster.kill9(old);
  std::vector<size_t> rest;
  for (size_t i = 0; i < 3; ++i)
    if (i != old) rest.push_back(i);
  leader = cluster.find_leader(rest, 20s);
  REQUIRE(leader);
  last = put_many(cluster, *leader, 50, "after");
  require_same_hash(cluster, rest, last);

  // Back, it is reached again over TLS (the others reconnect) and catches up.
  cluster.start(old);
  last = put_many(cluster, *leader, 10, "back");
  require_same_hash(cluster, {0, 1, 2}, last);
  for (size_t i = 0; i < 3; ++i)
    CHECK(cluster.log(i).find(" refused: ") == std::string::npos);
}

// --listen-peer apart from the advertised address with peer TLS: the TLS listener binds the
// former, peers dial (and check the certificate of) the latter, here through relaying proxies.
TEST_CASE("peer TLS: members bound apart from their advertised addresses replicate",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls}, /*behind_proxies=*/true);
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1, 2}, 20s);
  REQUIRE(leader);
  int64_t last = put_many(cluster, *leader, 50, "k");
  require_same_hash(cluster, {0, 1, 2}, last);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(cluster.log(i).find(" refused: ") == std::string::npos);
    // Every member is dialled through its proxy: there is no other way to reach it.
    CHECK(cluster.relayed(i) >= 1);
  }
}

TEST_CASE("peer TLS: a member without peer TLS cannot join and the TLS members go on",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::plaintext});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1}, 20s);
  REQUIRE(leader);
  // libraft's plaintext handshake arrives at a TLS peer port.
  CHECK((cluster.log_has(0, "refused: not TLS (plaintext to a TLS port?)", 10s) ||
         cluster.log_has(1, "refused: not TLS (plaintext to a TLS port?)", 10s)));
  const int64_t last = put_many(cluster, *leader, 50, "k");
  require_same_hash(cluster, {0, 1}, last);
  // The plaintext member never received an entry, and never leads.
  CHECK(cluster.wait_revision(2, last, 1s) == 1);
  CHECK_FALSE(cluster.find_leader({2}, 1s));
  // The TLS member it tried to reach says why, and the one it dialed is still fine.
  CHECK(cluster.log_has(*leader == 0 ? 0 : 1, "peer TLS connection to", 10s));
}

TEST_CASE("peer TLS: a member with a certificate from another CA is refused",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::rogue});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1}, 20s);
  REQUIRE(leader);
  // It connects to them: its certificate is refused at the handshake (OpenSSL sends the
  // chain up to its CA, so the line may name the rogue CA itself).
  const std::string refusal = "refused: client certificate /CN=rogue";
  CHECK((cluster.log_has(0, refusal, 10s) || cluster.log_has(1, refusal, 10s)));
  // The leader connects to it: the certificate it serves is refused too.
  const std::string dialed =
      "cluster: peer TLS connection to 127.0.0.1:" + std::to_string(cluster.peer_port(2)) +
      " failed: TLS handshake with 127.0.0.1 failed: server certificate: ";
  CHECK(cluster.log_has(*leader, dialed, 10s));
  const int64_t last = put_many(cluster, *leader, 50, "k");
  require_same_hash(cluster, {0, 1}, last);
  CHECK(cluster.wait_revision(2, last, 1s) == 1);
}

TEST_CASE("peer TLS: a member whose certificate names another address is refused",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::misnamed});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1}, 20s);
  REQUIRE(leader);
  // Its certificate chains to the cluster's CA, so the handshake succeeds; the preamble then
  // claims its configured address, which the certificate does not carry.
  const std::string refusal = "at 127.0.0.1:" + std::to_string(cluster.peer_port(2)) +
                              ": its certificate does not name 127.0.0.1 in its SANs";
  CHECK((cluster.log_has(0, refusal, 10s) || cluster.log_has(1, refusal, 10s)));
  const int64_t last = put_many(cluster, *leader, 50, "k");
  require_same_hash(cluster, {0, 1}, last);
  CHECK(cluster.wait_revision(2, last, 1s) == 1);
}

TEST_CASE("peer TLS: garbage on a peer port is refused and the members are unaffected",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1, 2}, 20s);
  REQUIRE(leader);
  const size_t target = (*leader + 1) % 3;
  // Plain garbage, and garbage that starts like a TLS record.
  const std::string garbage[] = {std::string("GET / HTTP/1.1\r\n\r\n"),
                                 std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10)};
  for (const auto& bytes : garbage) {
    const int fd = testing::connect_loopback(cluster.peer_port(target));
    REQUIRE(fd >= 0);
    CHECK(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
    // The member closes it: a read ends (0 or an error), it does not hang.
    char sink[256];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {
    }
    ::close(fd);
  }
  CHECK(cluster.log_has(target, "refused: not TLS (plaintext to a TLS port?)", 10s));
  CHECK(cluster.log_has(target, "refused: TLS handshake failed", 10s));
  const int64_t last = put_many(cluster, *leader, 50, "k");
  require_same_hash(cluster, {0, 1, 2}, last);
}

TEST_CASE("peer TLS: SIGHUP reloads the peer certificates and a failed reload keeps them",
          "[cluster][process]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1, 2}, 20s);
  REQUIRE(leader);
  // Member a's files replaced by a new certificate of the same CA, then SIGHUP.
  const auto dir = cluster.file("");
  const auto made =
      sh("cd " + dir +
         " && set -e\nopenssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
         "-keyout a2.key -out a2.csr -subj '/CN=revkv member a v2'\n"
         "openssl x509 -req -in a2.csr -CA peer-ca.crt -CAkey peer-ca.key -CAcreateserial -days 30 "
         "-extfile peer.ext -out a2.crt\ncp a2.crt peer-a.crt\ncp a2.key peer-a.key\n");
  INFO(made.out);
  REQUIRE(made.status == 0);
  REQUIRE(::kill(cluster.pid(0), SIGHUP) == 0);
  CHECK(cluster.log_has(0,
                        "SIGHUP: peer TLS certificates reloaded; new peer connections get "
                        "subject=/CN=revkv member a v2",
                        10s));
  // A new connection to its peer port (as member b) gets the new certificate.
  const auto served = sh(
      "openssl s_client -connect 127.0.0.1:" + std::to_string(cluster.peer_port(0)) + " -CAfile " +
      cluster.file("peer-ca.crt") + " -cert " + cluster.file("peer-b.crt") + " -key " +
      cluster.file("peer-b.key") + " </dev/null 2>/dev/null | openssl x509 -noout -subject");
  CHECK(served.out.find("revkv member a v2") != std::string::npos);
  // A key that does not match: the reload fails with the peer flag named, the certificate
  // in use stays, and the cluster goes on.
  REQUIRE(sh("cp " + cluster.file("peer-b.key") + " " + cluster.file("peer-a.key")).status == 0);
  REQUIRE(::kill(cluster.pid(0), SIGHUP) == 0);
  CHECK(cluster.log_has(0,
                        "SIGHUP: peer TLS certificates not reloaded, the previous ones stay: "
                        "--peer-key-file",
                        10s));
  // Outgoing connections read the files each time: put the matching key back.
  REQUIRE(sh("cp " + cluster.file("a2.key") + " " + cluster.file("peer-a.key")).status == 0);
  const int64_t last = put_many(cluster, *leader, 30, "k");
  require_same_hash(cluster, {0, 1, 2}, last);
}

TEST_CASE("peer TLS: flags are all three or none and only in cluster mode", "[cluster]") {
  auto run = [](std::vector<std::string> args) { return testing::run_revkvd(args).second; };
  const std::vector<std::string> cluster = {"--name", "a", "--initial-cluster", "a=127.0.0.1:2380"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = cluster;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  CHECK(with({"--peer-cert-file", "x.crt"}).find("--peer-cert-file needs --peer-key-file") !=
        std::string::npos);
  CHECK(with({"--peer-key-file", "x.key"}).find("--peer-key-file needs --peer-cert-file") !=
        std::string::npos);
  CHECK(with({"--peer-cert-file", "x.crt", "--peer-key-file", "x.key"})
            .find("--peer-cert-file needs --peer-trusted-ca-file") != std::string::npos);
  CHECK(with({"--peer-trusted-ca-file", "ca.crt"})
            .find("--peer-trusted-ca-file needs --peer-cert-file and --peer-key-file") !=
        std::string::npos);
  CHECK(with({"--peer-client-cert-auth"})
            .find("--peer-client-cert-auth needs --peer-cert-file and --peer-key-file") !=
        std::string::npos);
  CHECK(run({"--peer-cert-file", "x.crt", "--peer-key-file", "x.key", "--peer-trusted-ca-file",
             "ca.crt"})
            .find("only in cluster mode (with --initial-cluster)") != std::string::npos);
  // Files that do not load: named by their peer flag, before anything starts.
  CHECK(with({"--peer-cert-file", "/nonexistent.crt", "--peer-key-file", "/nonexistent.key",
              "--peer-trusted-ca-file", "/nonexistent-ca.crt"})
            .find("cannot load --peer-cert-file /nonexistent.crt") != std::string::npos);
  // etcd's YAML layout: peer-transport-security's keys are the --peer-... flags.
  testing::TempDir dir;
  const std::string config = dir.sub("revkvd.yaml");
  std::ofstream(config) << "name: a\ninitial_cluster: a=127.0.0.1:2380\n"
                        << "peer-transport-security:\n  cert-file: x.crt\n";
  CHECK(run({"--config", config}).find("--peer-cert-file needs --peer-key-file") !=
        std::string::npos);
  std::ofstream(config) << "peer-transport-security:\n  auto-tls: true\n";
  CHECK(run({"--config", config}).find("unknown key 'peer-transport-security.auto-tls'") !=
        std::string::npos);
}

TEST_CASE("peer TLS: a member behind the compacted log catches up over the TLS catch-up port",
          "[cluster][catchup]") {
  // Compacted logs after 64 entries (docs/CLUSTER.md "Tests"), for the members started here.
  struct Knobs {
    Knobs() {
      ::setenv("REVKV_TEST_SNAPSHOT_THRESHOLD", "64", 1);
      ::setenv("REVKV_TEST_SNAPSHOT_TRAILING", "16", 1);
    }
    ~Knobs() {
      ::unsetenv("REVKV_TEST_SNAPSHOT_THRESHOLD");
      ::unsetenv("REVKV_TEST_SNAPSHOT_TRAILING");
    }
  } knobs;
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls});
  if (!cluster.certs()) return;
  cluster.start_all();
  auto leader = cluster.find_leader({0, 1, 2}, 20s);
  REQUIRE(leader);
  const size_t behind = (*leader + 1) % cluster.size();
  cluster.kill9(behind);
  const int64_t last = put_many(cluster, *leader, 400, "t");

  // The leader's catch-up port hands nothing to a connection without a peer certificate: a
  // plaintext request is refused by the TLS handshake, no file line comes back.
  const std::string marker = "catch-up port 127.0.0.1:";
  const auto leader_log = cluster.log(*leader);
  const auto at = leader_log.find(marker);
  REQUIRE(at != std::string::npos);
  const auto port = static_cast<uint16_t>(std::stoi(leader_log.substr(at + marker.size())));
  const int fd = testing::connect_loopback(port);
  REQUIRE(fd >= 0);
  const std::string request = "RKVCATCHUP1\n";
  CHECK(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  CHECK(answer.find("F ") == std::string::npos);

  cluster.start(behind);
  INFO(cluster.log(behind));
  REQUIRE(cluster.log_has(behind, "catch-up: installed the checkpoint", 60s));
  // Restarted into it (same process): serving again once it answers a read at `last`.
  const auto deadline = Clock::now() + 60s;
  bool serving = false;
  while (!serving && Clock::now() < deadline) {
    auto c = client::Client::connect(cluster.member_endpoint(behind));
    storage::RangeRequest r;
    r.key = "t0";
    r.serializable = true;
    if (c.ok()) {
      auto got = c.value().range(r);
      serving = got.ok() && got.value().response.revision >= last;
    }
    if (!serving) std::this_thread::sleep_for(20ms);  // polling interval, not synchronization
  }
  REQUIRE(serving);
  require_same_hash(cluster, {0, 1, 2}, last);
}

// Followers publish their client addresses through the leader's catch-up port, which with
// peer TLS is TLS with a verified peer certificate required (docs/CLUSTER.md "Membership"):
// every member lists every member's client URL without any move-leader, and a plaintext
// publish to the leader's catch-up port is refused by the TLS handshake and changes nothing.
TEST_CASE("peer TLS: followers publish their client addresses over the TLS catch-up port",
          "[cluster][process][tls]") {
  TlsCluster cluster({Peer::tls, Peer::tls, Peer::tls});
  if (!cluster.certs()) return;
  cluster.start_all();
  REQUIRE(cluster.find_leader({0, 1, 2}, 20s));
  std::vector<uint64_t> ids;
  std::optional<size_t> leader;
  REQUIRE(testing::eventually([&] {
    ids.clear();
    leader.reset();
    for (size_t i = 0; i < cluster.size(); ++i) {
      auto s = cluster.connect(i).status();
      if (!s.ok()) return false;
      ids.push_back(s.value().header.member_id);
      if (s.value().leader == s.value().header.member_id) leader = i;
    }
    return leader.has_value();
  }));
  // Member `of`'s MessagePack client URLs as member `asked` lists them.
  auto urls = [&](size_t asked, uint64_t of) {
    std::vector<std::string> out;
    auto list = cluster.connect(asked).member_list();
    if (list.ok())
      for (const auto& m : list.value().members)
        if (m.id == of) out = m.client_urls;
    return out;
  };
  auto everyone_listed = [&] {
    for (size_t asked = 0; asked < cluster.size(); ++asked)
      for (size_t of = 0; of < cluster.size(); ++of)
        if (urls(asked, ids[of]) !=
            std::vector<std::string>{"http://" + cluster.member_endpoint(of)})
          return false;
    return true;
  };
  INFO("logs: " << cluster.log(0) << cluster.log(1) << cluster.log(2));
  CHECK(testing::eventually(everyone_listed, 30s));
  const size_t follower = (*leader + 1) % cluster.size();
  CHECK(cluster.log_has(
      follower, "cluster: published client addresses client=" + cluster.member_endpoint(follower),
      10s));

  const std::string marker = "catch-up port 127.0.0.1:";
  const auto leader_log = cluster.log(*leader);
  const auto at = leader_log.find(marker);
  REQUIRE(at != std::string::npos);
  const auto port = static_cast<uint16_t>(std::stoi(leader_log.substr(at + marker.size())));
  actors::MemberAttributes moved;
  moved.id = ids[follower];
  moved.name = "f";
  moved.client = "127.0.0.1:1";
  moved.grpc = "127.0.0.1:1";
  moved.catchup = "127.0.0.1:1";
  const auto payload = actors::encode_member_attributes(moved);
  const std::string request = "RKVPUBLISH1 " + std::to_string(payload.size()) + "\n" + payload;
  const int fd = testing::connect_loopback(port);
  REQUIRE(fd >= 0);
  timeval limit{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  CHECK(answer.find("OK") == std::string::npos);
  CHECK(cluster.log_has(*leader, "refused: not TLS", 10s));
  // Nothing published: the leader, and every member, still list the real address.
  CHECK(everyone_listed());
}

// A member added to a TLS cluster (member add, then started with --initial-cluster-state
// existing) has an empty Raft configuration until the leader's log reaches it, and the
// leader's connection is the only way the log can: while it is empty the joining member
// accepts a peer whose certificate verifies and names the address --initial-cluster gives it
// (docs/CLUSTER.md "Peer TLS").
TEST_CASE("peer TLS: a member added with member add joins over TLS and becomes a voter",
          "[cluster][process][tls]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  testing::TempDir certs;
  if (!make_peer_certs(certs)) return;
  // Every member presents the same certificate: it names 127.0.0.1, every member's host.
  testing::Cluster cluster(
      3, {"--peer-cert-file", certs.sub("peer-a.crt"), "--peer-key-file", certs.sub("peer-a.key"),
          "--peer-trusted-ca-file", certs.sub("peer-ca.crt")});
  auto leader = cluster.find_leader(30s);
  REQUIRE(leader);
  const int64_t before = put_many_on(cluster, *leader, 30, "tls-join/");

  const size_t added = cluster.reserve_member();
  const std::string at = cluster.member(*leader).grpc_endpoint();
  auto add = testing::etcdctl_member_add(bin, at, cluster, added);
  CAPTURE(add.out);
  REQUIRE(add.status == 0);
  const std::string id = testing::hex_id_of(add.out);
  cluster.start(added);
  INFO("the added member's log: " << cluster.log(added));
  INFO("the leader's log: " << cluster.log(*leader));
  CHECK(cluster.wait_revision(added, before, 60s));
  CHECK(testing::eventually(
      [&] {
        return testing::members_seen(bin, at).find(testing::member_row(
                   id, cluster.name(added), cluster.peer_url(added), false)) != std::string::npos;
      },
      60s));
  // A voter that takes part: the cluster writes with one of the first three stopped.
  cluster.stop((*leader + 1) % 3, 20s);
  auto now = cluster.find_leader(30s);
  REQUIRE(now);
  const int64_t after = put_many_on(cluster, *now, 10, "tls-join-after/");
  CHECK(cluster.wait_revision(added, after, 30s));
  CHECK(testing::eventually([&] { return testing::same_hash(cluster); }));
  CHECK(cluster.log(added).find("peer connection refused") == std::string::npos);
}
