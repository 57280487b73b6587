// Permission checks against one auth state: etcd's key, range, prefix and from-key forms,
// the union of several roles, inverted ranges, and the order of etcd's errors.

#include "auth/check.hpp"
#include "auth/state.hpp"

#include <catch2/catch.hpp>

using namespace revkv::auth;

namespace {

const std::string kFromKey("\0", 1);

State with_roles(std::vector<Role> roles, std::vector<std::string> granted) {
  State s;
  s.enabled = true;
  s.revision = 2;
  std::sort(granted.begin(), granted.end());
  s.users["alice"] = User{"alice", "", granted, false};
  s.users["root"] = User{"root", "", {"root"}, false};
  for (auto& r : roles)
    s.roles[r.name] = r;
  return s;
}

bool may(const State& s, std::string_view key, std::string_view end, PermType t) {
  return permitted(s, *s.user("alice"), key, end, t);
}

}  // namespace

TEST_CASE("a one-key permission covers that key only") {
  auto s = with_roles({Role{"r", {{PermType::read, "foo", ""}}}}, {"r"});
  CHECK(may(s, "foo", "", PermType::read));
  CHECK_FALSE(may(s, "foo", "", PermType::write));
  CHECK_FALSE(may(s, "foo0", "", PermType::read));
  CHECK_FALSE(may(s, "fo", "", PermType::read));
  // The range [foo, foo\0) holds foo alone: covered.
  CHECK(may(s, "foo", std::string("foo\0", 4), PermType::read));
  CHECK_FALSE(may(s, "foo", "fop", PermType::read));
}

TEST_CASE("a prefix permission covers ranges inside it and not beyond") {
  // etcdctl role grant-permission --prefix r readwrite /app/  → [/app/, /app0)
  auto s = with_roles({Role{"r", {{PermType::readwrite, "/app/", "/app0"}}}}, {"r"});
  CHECK(may(s, "/app/x", "", PermType::read));
  CHECK(may(s, "/app/x", "", PermType::write));
  CHECK(may(s, "/app/", "/app0", PermType::read));
  CHECK(may(s, "/app/a", "/app/b", PermType::write));
  CHECK_FALSE(may(s, "/app", "", PermType::read));
  CHECK_FALSE(may(s, "/app/", kFromKey, PermType::read));
  CHECK_FALSE(may(s, "/", "/b", PermType::read));
}

TEST_CASE("a from-key permission covers everything after its key") {
  auto s = with_roles({Role{"r", {{PermType::write, "m", kFromKey}}}}, {"r"});
  CHECK(may(s, "m", "", PermType::write));
  CHECK(may(s, "zzzz", "", PermType::write));
  CHECK(may(s, "m", kFromKey, PermType::write));
  CHECK(may(s, "p", kFromKey, PermType::write));
  CHECK_FALSE(may(s, "l", kFromKey, PermType::write));
  CHECK_FALSE(may(s, "a", "", PermType::write));
  CHECK_FALSE(may(s, "m", "", PermType::read));
}

TEST_CASE("permissions of several roles add up to cover a range") {
  auto s = with_roles(
      {Role{"ac", {{PermType::read, "a", "c"}}}, Role{"ce", {{PermType::readwrite, "c", "e"}}}},
      {"ac", "ce"});
  CHECK(may(s, "b", "d", PermType::read));
  CHECK(may(s, "a", "e", PermType::read));
  CHECK_FALSE(may(s, "a", "e", PermType::write));
  CHECK_FALSE(may(s, "a", "f", PermType::read));
  // A gap between two permissions is not covered.
  auto gap = with_roles(
      {Role{"ab", {{PermType::read, "a", "b"}}}, Role{"cd", {{PermType::read, "c", "d"}}}},
      {"ab", "cd"});
  CHECK_FALSE(may(gap, "a", "d", PermType::read));
}

TEST_CASE("an inverted permission grants nothing and an inverted request is refused") {
  auto s = with_roles({Role{"r", {{PermType::readwrite, "z", "a"}}}}, {"r"});
  CHECK_FALSE(may(s, "m", "", PermType::read));
  CHECK_FALSE(may(s, "z", "", PermType::read));
  auto all = with_roles({Role{"r", {{PermType::readwrite, "", kFromKey}}}}, {"r"});
  CHECK(may(all, "m", "", PermType::read));
  CHECK_FALSE(may(all, "z", "a", PermType::read));
}

TEST_CASE("a permission of a type etcd does not name grants nothing, as etcd checks it") {
  auto s = with_roles({Role{"r", {{static_cast<PermType>(7), "foo", ""}}}}, {"r"});
  CHECK_FALSE(may(s, "foo", "", PermType::read));
  CHECK_FALSE(may(s, "foo", "", PermType::write));
}

TEST_CASE("a role the user does not have grants nothing") {
  auto s = with_roles({Role{"r", {{PermType::readwrite, "a", kFromKey}}}}, {});
  CHECK_FALSE(may(s, "b", "", PermType::read));
}

TEST_CASE("checks answer etcd's errors in etcd's order") {
  auto s = with_roles({Role{"r", {{PermType::read, "k", ""}}}}, {"r"});
  auto denied = errors::permission_denied();
  CHECK(check_range_op(s, Caller::anonymous(), "k", "", PermType::read) == errors::user_empty());
  CHECK(check_range_op(s, Caller::named("alice"), "k", "", PermType::read) == std::nullopt);
  CHECK(check_range_op(s, Caller::named("alice"), "k", "", PermType::write) == denied);
  CHECK(check_range_op(s, Caller::named("ghost"), "k", "", PermType::read) == denied);
  CHECK(check_range_op(s, Caller::named("root"), "x", kFromKey, PermType::write) == std::nullopt);
  CHECK(check_admin(s, Caller::anonymous()) == errors::user_empty());
  CHECK(check_admin(s, Caller::named("ghost")) == errors::user_not_found());
  CHECK(check_admin(s, Caller::named("alice")) == denied);
  CHECK(check_admin(s, Caller::named("root")) == std::nullopt);
  CHECK(denied.code == 7);
  CHECK(denied.message == "etcdserver: permission denied");
  s.enabled = false;
  CHECK(check_range_op(s, Caller::anonymous(), "k", "", PermType::write) == std::nullopt);
  CHECK(check_admin(s, Caller::anonymous()) == std::nullopt);
}

TEST_CASE("a user named like a key prefix gets no permission from its name") {
  auto s = with_roles({Role{"r", {{PermType::read, "/alice/", "/alice0"}}}}, {});
  s.users["/alice/"] = User{"/alice/", "", {}, false};
  CHECK(check_range_op(s, Caller::named("/alice/"), "/alice/x", "", PermType::read) ==
        errors::permission_denied());
}
