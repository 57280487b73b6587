// The auth store: etcd's operations and errors, passwords, tokens, and that the state
// survives reopening the database.

#include "auth/store.hpp"

#include "auth/password.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace revkv;
using namespace revkv::auth;

namespace {

// bcrypt's minimum cost keeps the suite fast; the default cost is tested on its own.
const StoreOptions kFast{std::chrono::seconds(300), 4, nullptr};

std::unique_ptr<storage::Backend> open_backend(const std::string& dir) {
  auto b = storage::Backend::open(dir, {});
  REQUIRE(b.ok());
  return std::move(*b);
}

std::unique_ptr<AuthStore> open_store(storage::Backend& backend) {
  auto s = AuthStore::open(backend, kFast);
  REQUIRE(s.ok());
  return std::move(*s);
}

}  // namespace

TEST_CASE("passwords are bcrypt hashes of etcd's default cost") {
  auto h = hash_password("secret");
  REQUIRE(h);
  CHECK(h->rfind("$2b$10$", 0) == 0);
  CHECK(h->size() == 60);
  CHECK(check_password(*h, "secret"));
  CHECK_FALSE(check_password(*h, "Secret"));
  CHECK_FALSE(check_password("", "secret"));
  CHECK_FALSE(check_password("garbage", "secret"));
  // Two hashes of one password differ (fresh salt).
  CHECK(*hash_password("secret", 4) != *hash_password("secret", 4));
}

TEST_CASE("an enormous password costs what a 72-byte one costs and still checks") {
  std::string huge(1 << 20, 'x');
  auto h = hash_password(huge, 4);
  REQUIRE(h);
  CHECK(check_password(*h, huge));
  CHECK(check_password(*h, huge.substr(0, 72)));
  CHECK_FALSE(check_password(*h, huge.substr(0, 71)));
}

TEST_CASE("users and roles follow etcd's rules and errors") {
  testing::TempDir dir;
  auto backend = open_backend(dir.str());
  auto store = open_store(*backend);
  CHECK(store->revision() == 1);
  CHECK(store->user_add("", "pw", false) == errors::user_empty());
  CHECK(store->user_add("alice", "pw", false) == std::nullopt);
  CHECK(store->user_add("alice", "pw", false) == errors::user_already_exist());
  CHECK(store->role_add("") == errors::role_empty());
  CHECK(store->role_add("reader") == std::nullopt);
  CHECK(store->role_add("reader") == errors::role_already_exist());
  CHECK(store->user_grant_role("bob", "reader") == errors::user_not_found());
  CHECK(store->user_grant_role("alice", "nope") == errors::role_not_found());
  CHECK(store->user_grant_role("alice", "reader") == std::nullopt);
  auto rev = store->revision();
  // Granting a role twice is accepted and changes nothing.
  CHECK(store->user_grant_role("alice", "reader") == std::nullopt);
  CHECK(store->revision() == rev);
  CHECK(store->user_revoke_role("alice", "writer") == errors::role_not_granted());
  CHECK(store->role_grant_permission("nope", {PermType::read, "a", ""}) ==
        errors::role_not_found());
  CHECK(store->role_grant_permission("reader", {PermType::read, "k", ""}) == std::nullopt);
  CHECK(store->role_grant_permission("reader", {PermType::readwrite, "k", ""}) == std::nullopt);
  REQUIRE(store->state()->role("reader")->perms.size() == 1);
  CHECK(store->state()->role("reader")->perms[0].type == PermType::readwrite);
  CHECK(store->role_revoke_permission("reader", "k", "l") == errors::permission_not_granted());
  CHECK(store->role_revoke_permission("reader", "k", "") == std::nullopt);
  // Deleting a role takes it from its users.
  CHECK(store->role_delete("reader") == std::nullopt);
  CHECK(store->state()->user("alice")->roles.empty());
  CHECK(store->role_delete("reader") == errors::role_not_found());
  CHECK(store->user_delete("bob") == errors::user_not_found());
}

TEST_CASE("auth enable needs root with the root role and protects them") {
  testing::TempDir dir;
  auto backend = open_backend(dir.str());
  auto store = open_store(*backend);
  CHECK(store->enable() == errors::root_user_not_exist());
  REQUIRE(store->user_add("root", "rootpw", false) == std::nullopt);
  CHECK(store->enable() == errors::root_role_not_exist());
  REQUIRE(store->user_grant_role("root", "root") == std::nullopt);
  auto rev = store->revision();
  CHECK(store->enable() == std::nullopt);
  CHECK(store->enabled());
  CHECK(store->revision() == rev);  // etcd's AuthEnable keeps the revision
  CHECK(store->user_delete("root") == errors::invalid_auth_mgmt());
  CHECK(store->user_revoke_role("root", "root") == errors::invalid_auth_mgmt());
  CHECK(store->role_delete("root") == errors::invalid_auth_mgmt());
  CHECK(store->disable() == std::nullopt);
  CHECK_FALSE(store->enabled());
  CHECK(store->revision() == rev + 1);
}

TEST_CASE("tokens name their user until disable, deletion or a password change") {
  testing::TempDir dir;
  auto backend = open_backend(dir.str());
  auto store = open_store(*backend);
  CHECK(std::get<protocol::WireError>(store->authenticate("root", "x")) ==
        errors::auth_not_enabled());
  REQUIRE(store->user_add("root", "rootpw", false) == std::nullopt);
  REQUIRE(store->user_grant_role("root", "root") == std::nullopt);
  REQUIRE(store->user_add("alice", "pw", false) == std::nullopt);
  REQUIRE(store->user_add("nopw", "", true) == std::nullopt);
  REQUIRE(store->enable() == std::nullopt);
  CHECK(std::get<protocol::WireError>(store->authenticate("alice", "bad")) ==
        errors::auth_failed());
  CHECK(std::get<protocol::WireError>(store->authenticate("ghost", "pw")) == errors::auth_failed());
  // etcd 3.4 answers a no-password user with its own untranslated error.
  CHECK(std::get<protocol::WireError>(store->authenticate("nopw", "")) ==
        errors::no_password_user());
  CHECK(std::get<protocol::WireError>(store->authenticate("nopw", "x")).message ==
        "auth: authentication failed, password was given for no password user");
  auto t = store->authenticate("alice", "pw");
  REQUIRE(std::holds_alternative<std::string>(t));
  auto token = std::get<std::string>(t);
  // <16 letters>.<index>
  REQUIRE(token.size() > 17);
  CHECK(token[16] == '.');
  CHECK(std::all_of(token.begin(), token.begin() + 16, [](char c) { return std::isalpha(c); }));
  CHECK(store->caller(token).user == std::optional<std::string>("alice"));
  CHECK(store->caller(std::nullopt).user == std::nullopt);
  CHECK_FALSE(store->caller(std::nullopt).bad_token);
  CHECK(store->caller("forged.1").bad_token);
  REQUIRE(store->user_change_password("alice", "pw2") == std::nullopt);
  CHECK(store->caller(token).bad_token);
  auto t2 = std::get<std::string>(store->authenticate("alice", "pw2"));
  CHECK(store->caller(t2).user == std::optional<std::string>("alice"));
  REQUIRE(store->user_delete("alice") == std::nullopt);
  CHECK(store->caller(t2).bad_token);
  auto t3 = std::get<std::string>(store->authenticate("root", "rootpw"));
  REQUIRE(store->disable() == std::nullopt);
  CHECK(store->caller(t3).bad_token);
}

TEST_CASE("a token expires after its TTL without use") {
  SimpleTokens tokens(std::chrono::seconds(300));
  auto now = SimpleTokens::Clock::now();
  auto t = tokens.assign("alice", now);
  REQUIRE(t);
  CHECK(tokens.resolve(*t, now + std::chrono::seconds(299)) == "alice");
  // The use at 299 s restarted the TTL.
  CHECK(tokens.resolve(*t, now + std::chrono::seconds(598)) == "alice");
  CHECK(tokens.resolve(*t, now + std::chrono::seconds(898)) == std::nullopt);
  CHECK(tokens.size() == 0);
}

TEST_CASE("the auth state survives reopening the database") {
  testing::TempDir dir;
  uint64_t rev = 0;
  {
    auto backend = open_backend(dir.str());
    auto store = open_store(*backend);
    REQUIRE(store->user_add("root", "rootpw", false) == std::nullopt);
    REQUIRE(store->user_grant_role("root", "root") == std::nullopt);
    REQUIRE(store->role_add("r") == std::nullopt);
    REQUIRE(store->role_grant_permission("r", {PermType::write, "a", std::string("\0", 1)}) ==
            std::nullopt);
    REQUIRE(store->user_add("u", "pw", false) == std::nullopt);
    REQUIRE(store->user_grant_role("u", "r") == std::nullopt);
    REQUIRE(store->enable() == std::nullopt);
    rev = store->revision();
    REQUIRE(backend->close().ok());
  }
  auto backend = open_backend(dir.str());
  auto store = open_store(*backend);
  auto s = store->state();
  CHECK(s->enabled);
  CHECK(store->enabled());
  CHECK(s->revision == rev);
  REQUIRE(s->user("u"));
  CHECK(s->user("u")->roles == std::vector<std::string>{"r"});
  CHECK(s->role("r")->perms ==
        std::vector<Permission>{{PermType::write, "a", std::string("\0", 1)}});
  CHECK(std::holds_alternative<std::string>(store->authenticate("u", "pw")));
}
