// The auth store in cluster mode (auth/replication.hpp): a change and a token are proposed
// instead of written, and every store that applies the committed payloads in order holds the
// same state and accepts the same tokens. The "log" here applies each proposal to two stores
// at once, as Raft applies a committed entry on every member.

#include "auth/replication.hpp"

#include "auth/store.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace revkv;
using namespace revkv::auth;

namespace {

const StoreOptions kFast{std::chrono::seconds(300), 4, nullptr};

struct Member {
  explicit Member(const std::string& dir) {
    auto b = storage::Backend::open(dir, {});
    REQUIRE(b.ok());
    backend = std::move(*b);
    auto s = AuthStore::open(*backend, kFast);
    REQUIRE(s.ok());
    store = std::move(*s);
  }
  // What a member's Raft apply does: the payload's records and the index in one write, then
  // the store publishes.
  void apply(uint64_t index, const std::string& payload) {
    storage::WriteBatch batch(*backend);
    REQUIRE(store->stage_committed(payload, batch));
    REQUIRE(backend->write(batch, false).ok());
    REQUIRE(store->committed(index, payload).ok());
  }
  std::unique_ptr<storage::Backend> backend;
  std::unique_ptr<AuthStore> store;
};

struct TwoMembers {
  testing::TempDir dir;
  Member leader{dir.sub("leader")};
  Member follower{dir.sub("follower")};
  uint64_t index = 0;
  std::vector<std::string> log;
  bool leads = true;

  TwoMembers() {
    for (auto* m : {&leader, &follower}) {
      Replicator r;
      bool is_leader = m == &leader;
      r.refusal = [this, is_leader]() -> Outcome {
        if (is_leader && leads) return std::nullopt;
        return protocol::WireError{14, "etcdserver: not leader"};
      };
      r.propose = [this](std::string payload) -> std::variant<uint64_t, protocol::WireError> {
        ++index;
        log.push_back(payload);
        leader.apply(index, payload);
        follower.apply(index, payload);
        return index;
      };
      m->store->replicate_through(std::move(r));
    }
  }
};

}  // namespace

TEST_CASE("replicated auth: changes go through the log and every member applies them") {
  TwoMembers c;
  REQUIRE(c.leader.store->replicated());
  REQUIRE_FALSE(c.leader.store->user_add("root", "pw", false));
  REQUIRE_FALSE(c.leader.store->user_grant_role("root", "root"));
  REQUIRE_FALSE(c.leader.store->user_add("alice", "apw", false));
  REQUIRE_FALSE(c.leader.store->enable());
  CHECK(c.log.size() == 4);
  for (auto* m : {&c.leader, &c.follower}) {
    CHECK(m->store->enabled());
    CHECK(m->store->revision() == 4);  // 1 at start, +3 (enable does not bump, as etcd)
    CHECK(m->store->state()->user("alice") != nullptr);
  }
  // An error is answered by the leader without a proposal.
  CHECK(c.leader.store->user_add("alice", "x", false) == errors::user_already_exist());
  CHECK(c.log.size() == 4);

  // A follower refuses to originate anything, and changes nothing.
  CHECK(c.follower.store->role_add("r")->message == "etcdserver: not leader");
  CHECK(c.follower.store->disable()->message == "etcdserver: not leader");
  auto on_follower = c.follower.store->authenticate("alice", "apw");
  REQUIRE(std::holds_alternative<protocol::WireError>(on_follower));
  CHECK(std::get<protocol::WireError>(on_follower).message == "etcdserver: not leader");
  CHECK(c.log.size() == 4);

  // The token is named by the grant's log index, and both members accept it.
  auto token = c.leader.store->authenticate("alice", "apw");
  REQUIRE(std::holds_alternative<std::string>(token));
  auto& t = std::get<std::string>(token);
  CHECK(t.substr(t.find('.') + 1) == std::to_string(c.index));
  CHECK(c.leader.store->caller(t).user == "alice");
  CHECK(c.follower.store->caller(t).user == "alice");
  CHECK(std::holds_alternative<protocol::WireError>(c.leader.store->authenticate("alice", "bad")));

  // A new password ends the token on both.
  REQUIRE_FALSE(c.leader.store->user_change_password("alice", "new"));
  CHECK(c.leader.store->caller(t).bad_token);
  CHECK(c.follower.store->caller(t).bad_token);

  // Neither member wrote anything of its own: reopened, both hold the same records.
  for (auto* m : {&c.leader, &c.follower}) {
    auto reopened = AuthStore::open(*m->backend, kFast);
    REQUIRE(reopened.ok());
    CHECK((*reopened)->revision() == c.leader.store->revision());
    CHECK((*reopened)->state()->users == c.leader.store->state()->users);
    CHECK((*reopened)->state()->roles == c.leader.store->state()->roles);
    CHECK((*reopened)->enabled());
  }
}

TEST_CASE("replicated auth: a grant made stale by a change in between names no token") {
  TwoMembers c;
  REQUIRE_FALSE(c.leader.store->user_add("root", "pw", false));
  REQUIRE_FALSE(c.leader.store->user_grant_role("root", "root"));
  REQUIRE_FALSE(c.leader.store->enable());
  uint64_t checked_at = c.leader.store->revision();
  REQUIRE_FALSE(c.leader.store->role_add("later"));  // a change after the password check
  std::string stale = encode_grant_payload({checked_at, "abcdefghijklmnop", "root"});
  c.leader.apply(++c.index, stale);
  CHECK_FALSE(c.leader.store->tokens().contains(
      granted_token({checked_at, "abcdefghijklmnop", "root"}, c.index)));
  std::string current =
      encode_grant_payload({c.leader.store->revision(), "qrstuvwxyzabcdef", "root"});
  c.leader.apply(++c.index, current);
  CHECK(c.leader.store->tokens().contains("qrstuvwxyzabcdef." + std::to_string(c.index)));
}

TEST_CASE("replicated auth: payloads round-trip and foreign bytes are refused") {
  auto grant = decode_auth_payload(encode_grant_payload({9, "prefix", "user/with.dots"}));
  REQUIRE(grant);
  REQUIRE(grant->grant);
  CHECK(grant->grant->revision == 9);
  CHECK(grant->grant->prefix == "prefix");
  CHECK(grant->grant->user == "user/with.dots");
  std::string encoded = encode_records_payload("batch");  // the view points into it
  auto records = decode_auth_payload(encoded);
  REQUIRE(records);
  CHECK(records->records == std::string_view("batch"));
  CHECK_FALSE(decode_auth_payload(""));
  CHECK_FALSE(decode_auth_payload("x"));
  CHECK_FALSE(decode_auth_payload(encode_grant_payload({1, "p", "u"}).substr(0, 12)));
  std::string lying = encode_grant_payload({1, "p", "u"});
  lying[9] = '\x7f';  // a prefix longer than the payload
  CHECK_FALSE(decode_auth_payload(lying));
}

TEST_CASE("replicated auth: a failed proposal fails the request and changes nothing") {
  testing::TempDir dir;
  Member m(dir.sub("m"));
  Replicator r;
  r.refusal = []() -> Outcome { return std::nullopt; };
  r.propose = [](std::string) -> std::variant<uint64_t, protocol::WireError> {
    return protocol::WireError{14, "etcdserver: leader changed"};
  };
  m.store->replicate_through(std::move(r));
  CHECK(m.store->role_add("r")->message == "etcdserver: leader changed");
  CHECK(m.store->state()->role("r") == nullptr);
  CHECK(m.store->revision() == 1);
  // Nothing was written either: the store reopens as it was.
  auto reopened = AuthStore::open(*m.backend, kFast);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->state()->roles.empty());
}
