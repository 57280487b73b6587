// Cluster mode's flags (apps/revkvd/options.cpp) and the Raft entry a commit group travels in
// (actors/replicated_entry.hpp), applied to a backend as a member applies it.

#include "actors/member_attributes.hpp"
#include "actors/replicated_entry.hpp"
#include "actors/state_change.hpp"
#include "apps/revkvd/listeners.hpp"
#include "apps/revkvd/options.hpp"
#include "storage/backend.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace revkv;

namespace {

apps::RawOptions cluster_raw() {
  apps::RawOptions raw;
  raw.name = "b";
  raw.initial_cluster = "a=http://127.0.0.1:2380,b=http://127.0.0.1:2381,c=127.0.0.1:2382";
  return raw;
}

}  // namespace

TEST_CASE("member options: the initial cluster names this member and its peer address",
          "[cluster]") {
  std::string error;
  auto single = apps::resolve_options(apps::RawOptions{}, error);
  REQUIRE(single);
  CHECK_FALSE(single->clustered());

  auto raw = cluster_raw();
  auto out = apps::resolve_options(raw, error);
  REQUIRE(out);
  CHECK(out->clustered());
  CHECK(out->name == "b");
  CHECK(out->peer_address == "127.0.0.1:2381");
  CHECK(out->initial_cluster.size() == 3);

  CHECK(out->peer_listen.empty());            // binds the address its peers dial
  raw.listen_peer = "http://127.0.0.1:2381";  // the same address, as etcd writes it
  out = apps::resolve_options(raw, error);
  REQUIRE(out);
  CHECK(out->peer_listen.empty());

  // Bound elsewhere (a proxy in front, or every interface), still known by its entry in
  // --initial-cluster: etcd's --listen-peer-urls beside --initial-advertise-peer-urls.
  raw.listen_peer = "127.0.0.1:9999";
  out = apps::resolve_options(raw, error);
  REQUIRE(out);
  CHECK(out->peer_address == "127.0.0.1:2381");
  CHECK(out->peer_listen == "127.0.0.1:9999");
  raw.listen_peer = "http://0.0.0.0:2381/";
  out = apps::resolve_options(raw, error);
  REQUIRE(out);
  CHECK(out->peer_listen == "0.0.0.0:2381");
  raw.listen_peer.clear();

  // The catch-up port: the peer host and a free port unless --listen-catchup says otherwise.
  CHECK(out->catchup_host == "127.0.0.1");
  CHECK(out->catchup_port == 0);
  raw.listen_catchup = "127.0.0.1:2391";
  out = apps::resolve_options(raw, error);
  REQUIRE(out);
  CHECK(out->catchup_host == "127.0.0.1");
  CHECK(out->catchup_port == 2391);
}

TEST_CASE("member options: inconsistent cluster flags are one clear error", "[cluster]") {
  std::string error;
  auto raw = cluster_raw();
  raw.name = "d";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error == "--name 'd' is not one of the members of --initial-cluster");

  raw = cluster_raw();
  raw.listen_peer = "127.0.0.1";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error == "--listen-peer: expected HOST:PORT or http://HOST:PORT, got '127.0.0.1'");
  raw.listen_peer = "localhost:2381";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error.find("--listen-peer: host 'localhost' is not an IPv4 address") == 0);
  raw.listen_peer = "127.0.0.1:0";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error.find("--listen-peer: port 0 in '127.0.0.1:0'") == 0);

  raw = cluster_raw();
  raw.initial_cluster_state = "existing";
  {
    // Joining: the id derives from the peer address (MemberAdd knows no name), and a
    // bootstrapped member's from its name.
    auto joining = apps::resolve_options(raw, error);
    REQUIRE(joining);
    CHECK(joining->join);
    CHECK(joining->member_id == cluster::joined_member_id(joining->peer_address));
    CHECK(joining->member_id != cluster::member_id(raw.name));
    raw.initial_cluster_state = "new";
    auto bootstrapping = apps::resolve_options(raw, error);
    REQUIRE(bootstrapping);
    CHECK_FALSE(bootstrapping->join);
    CHECK(bootstrapping->member_id == cluster::member_id(raw.name));
  }

  raw = cluster_raw();
  raw.initial_cluster_state = "old";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error == "--initial-cluster-state: expected new or existing, got 'old'");

  raw = cluster_raw();
  raw.initial_cluster = "a=localhost:2380,b=127.0.0.1:2381";
  CHECK_FALSE(apps::resolve_options(raw, error));
  CHECK(error.find("--initial-cluster: ") == 0);
  CHECK(error.find("localhost") != std::string::npos);

  apps::RawOptions single;
  single.listen_peer = "127.0.0.1:2380";
  CHECK_FALSE(apps::resolve_options(single, error));
  CHECK(error == "--listen-peer: only in cluster mode (with --initial-cluster)");
  single = apps::RawOptions{};
  single.listen_catchup = "127.0.0.1:2391";
  CHECK_FALSE(apps::resolve_options(single, error));
  CHECK(error == "--listen-catchup: only in cluster mode (with --initial-cluster)");

  // A fixed catch-up port that another flag names is refused before anything starts.
  raw = cluster_raw();
  raw.listen_client = "127.0.0.1:2391";
  raw.listen_catchup = "127.0.0.1:2391";
  auto both = apps::resolve_options(raw, error);
  REQUIRE(both);
  CHECK(apps::unavailable_listener(*both) ==
        "--listen-catchup and --listen-client both name 127.0.0.1:2391");

  // revkvd itself: exit 1 with the line, before anything starts.
  auto [status, err] =
      testing::run_revkvd({"--name", "x", "--initial-cluster", "a=127.0.0.1:2380"});
  CHECK(status == 1);
  CHECK(err.find("--name 'x' is not one of the members of --initial-cluster") != std::string::npos);
}

TEST_CASE("member options: a peer port another process holds is named in the start's error",
          "[cluster]") {
  // A listener of this test's own on a free port, named as the member's peer address.
  const int held = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(held >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(held, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(held, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string peer = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  testing::TempDir dir;
  auto [status, err] = testing::run_revkvd(
      {"--data-dir", dir.sub("data"), "--name", "a", "--initial-cluster",
       "a=" + peer + ",b=127.0.0.1:1", "--listen-client", "127.0.0.1:0", "--listen-grpc",
       "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0", "--listen-catchup", "127.0.0.1:0"});
  ::close(held);
  CAPTURE(err);
  CHECK(status != 0);
  // libraft's own words are a bare "I/O error".
  CHECK(err.find("raft start of " + peer) != std::string::npos);
  CHECK(err.find("cannot listen on it: Address already in use") != std::string::npos);
}

TEST_CASE("member options: a peer address beyond loopback without peer TLS is warned about",
          "[cluster]") {
  auto warned = [](const apps::RawOptions& raw) {
    std::string error;
    auto out = apps::resolve_options(raw, error);
    REQUIRE(out);
    for (const auto& w : apps::plaintext_beyond_loopback(*out))
      if (w.find("without peer TLS") != std::string::npos) return true;
    return false;
  };
  auto raw = cluster_raw();
  CHECK_FALSE(warned(raw));          // loopback
  raw.listen_peer = "0.0.0.0:2381";  // advertised on loopback, bound on every interface
  CHECK(warned(raw));
  raw.listen_peer.clear();
  raw.initial_cluster = "a=10.0.0.1:2380,b=10.0.0.2:2380,c=10.0.0.3:2380";
  CHECK(warned(raw));
  raw.peer_cert_file = "b.crt";
  raw.peer_key_file = "b.key";
  raw.peer_trusted_ca_file = "ca.crt";
  CHECK_FALSE(warned(raw));
}

TEST_CASE("replicated entry: a commit group round-trips and foreign bytes are refused",
          "[cluster]") {
  std::string batch("\x01\x02rocksdb rep\0with a zero", 24);
  actors::ReplicatedEntry in{0x1122334455667788ull, 42, 1234, 3, -7, batch};
  auto bytes = actors::encode_replicated_entry(in);
  auto out = actors::decode_replicated_entry(bytes);
  REQUIRE(out);
  CHECK(out->proposer == in.proposer);
  CHECK(out->incarnation == 42);
  CHECK(out->last_revision == 1234);
  CHECK(out->shards == 3);
  CHECK(out->latest_new_keys == -7);
  CHECK(out->batch == batch);

  CHECK_FALSE(actors::decode_replicated_entry(""));
  CHECK_FALSE(actors::decode_replicated_entry(bytes.substr(0, 47)));  // a header cut short
  std::string other = bytes;
  other[7] = '9';  // another format version
  CHECK_FALSE(actors::decode_replicated_entry(other));

  // The previous format (rkvent02, a log written by an earlier revkvd): the same header
  // without the count of new keys, read as 0.
  std::string previous = bytes.substr(0, 40) + batch;
  previous[7] = '2';
  auto old = actors::decode_replicated_entry(previous);
  REQUIRE(old);
  CHECK(old->last_revision == 1234);
  CHECK(old->shards == 3);
  CHECK(old->latest_new_keys == 0);
  CHECK(old->batch == batch);
  CHECK_FALSE(actors::decode_replicated_entry(previous.substr(0, 39)));
}

namespace {

// Writes `keys` new keys into a fresh backend's `latest` column in groups of 500, each group
// travelling through the entry format as apps/revkvd/replica.cpp applies it, the count of
// new keys passed along or not. Answers the entries left in the active memtable.
uint64_t latest_entries_applied_from_entries(int keys, bool pass_count) {
  testing::TempDir dir;
  storage::BackendOptions o;
  o.sync = false;
  auto backend = storage::Backend::open(dir.str(), o);
  REQUIRE(backend);
  auto& b = **backend;
  for (int i = 0; i < keys; i += 500) {
    storage::WriteBatch group(b);
    for (int k = i; k < i + 500; ++k)
      group.put_new(storage::Column::latest, "key/", std::to_string(100000 + k), "v");
    auto bytes =
        actors::encode_replicated_entry({1, 2, i + 500, 2, group.latest_new_keys(), group.data()});
    auto entry = actors::decode_replicated_entry(bytes);
    REQUIRE(entry);
    storage::WriteBatch applied(b);
    applied.assign(entry->batch, pass_count ? entry->latest_new_keys : 0);
    REQUIRE(b.write(applied).ok());
  }
  return *b.active_memtable_entries(storage::Column::latest);
}

}  // namespace

TEST_CASE("replicated entry: a member's backend counts the new keys of applied entries",
          "[cluster]") {
  // docs/STORAGE.md "Overwritten records": a memtable of new keys is not flushed early. On a
  // member the batch comes out of a Raft entry; with the proposer's count it stays in the
  // memtable as on a single node, without it the early flush at 16,384 entries takes it.
  CHECK(latest_entries_applied_from_entries(40000, true) == 40000);
  CHECK(latest_entries_applied_from_entries(40000, false) < 40000);
}

TEST_CASE("state change entry: round-trips, and is never taken for a commit group", "[cluster]") {
  std::string payload("r\x00records", 9);
  actors::StateChange in{7, 9, actors::ChangeKind::auth, payload};
  auto bytes = actors::encode_state_change(in);
  auto out = actors::decode_state_change(bytes);
  REQUIRE(out);
  CHECK(out->proposer == 7);
  CHECK(out->incarnation == 9);
  CHECK(out->kind == actors::ChangeKind::auth);
  CHECK(out->payload == payload);
  CHECK_FALSE(actors::decode_replicated_entry(bytes));
  CHECK_FALSE(actors::decode_state_change(actors::encode_replicated_entry({1, 2, 3, 4, 5, "b"})));
  CHECK_FALSE(actors::decode_state_change(bytes.substr(0, 31)));  // a header cut short
}

TEST_CASE("member attributes: round-trip, and damaged payloads are refused", "[cluster]") {
  actors::MemberAttributes in{0x1234,           "b",  "127.0.0.1:7001",
                              "127.0.0.1:2401", true, "127.0.0.1:2501"};
  auto bytes = actors::encode_member_attributes(in);
  auto out = actors::decode_member_attributes(bytes);
  REQUIRE(out);
  CHECK(*out == in);
  CHECK(out->grpc_url() == "https://127.0.0.1:2401");
  in.tls = false;
  CHECK(actors::decode_member_attributes(actors::encode_member_attributes(in))->grpc_url() ==
        "http://127.0.0.1:2401");
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK_FALSE(actors::decode_member_attributes(bytes.substr(0, cut)));
  }
  CHECK_FALSE(actors::decode_member_attributes(bytes + "x"));  // trailing bytes
  std::string other = bytes;
  other[0] = 3;  // a payload version not known yet
  CHECK_FALSE(actors::decode_member_attributes(other));
  other[0] = 0;
  CHECK_FALSE(actors::decode_member_attributes(other));
  // Keys differ per member.
  CHECK(actors::member_attributes_key(1) != actors::member_attributes_key(2));
}

TEST_CASE("member attributes: a record of the first version decodes with no catch-up address",
          "[cluster]") {
  // Version 1, as persisted before the catch-up address was published: version, id, name,
  // client, grpc (each string length-prefixed, little-endian u64s), tls.
  auto u64 = [](uint64_t v) {
    std::string out;
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  };
  auto str = [&](const std::string& s) { return u64(s.size()) + s; };
  const std::string v1 =
      u64(1) + u64(0x1234) + str("b") + str("127.0.0.1:7001") + str("127.0.0.1:2401") + u64(1);
  auto out = actors::decode_member_attributes(v1);
  REQUIRE(out);
  CHECK(out->id == 0x1234);
  CHECK(out->name == "b");
  CHECK(out->client == "127.0.0.1:7001");
  CHECK(out->grpc == "127.0.0.1:2401");
  CHECK(out->tls);
  CHECK(out->catchup.empty());
  CHECK_FALSE(actors::decode_member_attributes(v1 + str("127.0.0.1:2501")));  // v1 ends there
  // Re-encoded it is the current version, with the (empty) catch-up address.
  CHECK(actors::encode_member_attributes(*out) != v1);
  CHECK(actors::decode_member_attributes(actors::encode_member_attributes(*out)) == out);
}

TEST_CASE("alarm payload: round-trips, and damaged payloads are refused", "[cluster]") {
  auto raised = actors::decode_alarm_payload(actors::encode_alarm_payload({true, 42}));
  REQUIRE(raised);
  CHECK(raised->raised);
  CHECK(raised->member == 42);
  // A cleared alarm names no member, whatever the caller passed.
  auto cleared = actors::decode_alarm_payload(actors::encode_alarm_payload({false, 42}));
  REQUIRE(cleared);
  CHECK_FALSE(cleared->raised);
  CHECK(cleared->member == 0);
  auto bytes = actors::encode_alarm_payload({true, 7});
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK_FALSE(actors::decode_alarm_payload(bytes.substr(0, cut)));
  CHECK_FALSE(actors::decode_alarm_payload(bytes + "x"));  // trailing bytes
  std::string bad_flag = bytes;
  bad_flag[0] = '\2';
  CHECK_FALSE(actors::decode_alarm_payload(bad_flag));
  // Raised by no one, or cleared with a member: not a payload this code writes.
  CHECK_FALSE(actors::decode_alarm_payload(actors::encode_alarm_payload({true, 0})));
  std::string cleared_with_member = bytes;
  cleared_with_member[0] = '\0';
  CHECK_FALSE(actors::decode_alarm_payload(cleared_with_member));
}
