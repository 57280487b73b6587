#include "auth/records.hpp"

#include <authpb/auth.pb.h>
#include <string>

namespace revkv::auth {

namespace {

constexpr std::string_view kEnabledKey = "enabled";
constexpr std::string_view kRevisionKey = "revision";
constexpr std::string_view kUserPrefix = "user/";
constexpr std::string_view kRolePrefix = "role/";
// The first key after every "user/..." and "role/..." key ('/' + 1 == '0').
constexpr std::string_view kUserEnd = "user0";
constexpr std::string_view kRoleEnd = "role0";

std::string encode_revision(uint64_t revision) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(revision & 0xff);
    revision >>= 8;
  }
  return out;
}

std::string encode(const User& user) {
  authpb::User pb;
  pb.set_name(user.name);
  pb.set_password(user.password_hash);
  for (const auto& r : user.roles)
    pb.add_roles(r);
  pb.mutable_options()->set_no_password(user.no_password);
  return pb.SerializeAsString();
}

std::string encode(const Role& role) {
  authpb::Role pb;
  pb.set_name(role.name);
  for (const auto& p : role.perms) {
    auto* perm = pb.add_keypermission();
    perm->set_permtype(static_cast<authpb::Permission::Type>(p.type));
    perm->set_key(p.key);
    perm->set_range_end(p.range_end);
  }
  return pb.SerializeAsString();
}

template <class T>
void write_map(const std::map<std::string, T, std::less<>>& before,
               const std::map<std::string, T, std::less<>>& after, std::string_view prefix,
               storage::WriteBatch& batch) {
  for (const auto& [name, value] : before) {
    if (!after.contains(name)) batch.erase(storage::Column::auth, std::string(prefix) + name);
  }
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    if (it == before.end() || !(it->second == value))
      batch.put(storage::Column::auth, prefix, name, encode(value));
  }
}

}  // namespace

storage::Result<State> load_state(const storage::Backend& backend) {
  State state;
  auto enabled = backend.get(storage::Column::auth, kEnabledKey);
  if (!enabled.ok()) return enabled.error();
  state.enabled = enabled->has_value() && **enabled == std::string_view("\x01", 1);
  auto revision = backend.get(storage::Column::auth, kRevisionKey);
  if (!revision.ok()) return revision.error();
  if (revision->has_value()) {
    if ((*revision)->size() != 8) return storage::Error{storage::Errc::corruption, "auth revision"};
    for (unsigned char c : **revision)
      state.revision = (state.revision << 8) | c;
  }
  bool bad = false;
  auto users = backend.scan(storage::Column::auth, kUserPrefix, kUserEnd,
                            [&](std::string_view, std::string_view value) {
                              authpb::User pb;
                              if (!pb.ParseFromArray(value.data(), static_cast<int>(value.size())))
                                return !(bad = true);
                              User u{pb.name(), pb.password(), {}, pb.options().no_password()};
                              u.roles.assign(pb.roles().begin(), pb.roles().end());
                              state.users.emplace(u.name, std::move(u));
                              return true;
                            });
  if (!users.ok()) return users.error();
  auto roles = backend.scan(
      storage::Column::auth, kRolePrefix, kRoleEnd, [&](std::string_view, std::string_view value) {
        authpb::Role pb;
        if (!pb.ParseFromArray(value.data(), static_cast<int>(value.size()))) return !(bad = true);
        Role r{pb.name(), {}};
        for (const auto& p : pb.keypermission()) {
          r.perms.push_back({static_cast<PermType>(p.permtype()), p.key(), p.range_end()});
        }
        state.roles.emplace(r.name, std::move(r));
        return true;
      });
  if (!roles.ok()) return roles.error();
  if (bad) return storage::Error{storage::Errc::corruption, "auth record does not decode"};
  return state;
}

void write_changes(const State& before, const State& after, storage::WriteBatch& batch) {
  write_map(before.users, after.users, kUserPrefix, batch);
  write_map(before.roles, after.roles, kRolePrefix, batch);
  if (before.enabled != after.enabled) {
    batch.put(storage::Column::auth, kEnabledKey,
              after.enabled ? std::string_view("\x01", 1) : std::string_view("\x00", 1));
  }
  if (before.revision != after.revision)
    batch.put(storage::Column::auth, kRevisionKey, encode_revision(after.revision));
}

}  // namespace revkv::auth
