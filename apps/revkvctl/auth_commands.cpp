#include "apps/revkvctl/auth_commands.hpp"

#include <istream>
#include <ostream>

namespace revkv::ctl {

namespace {

using V = AuthAdminCmd::Verb;
using protocol::WireError;

// The header of an answer, or its error.
template <class R>
client::Result<AuthAnswer> header_only(const client::Result<R>& r) {
  if (!r) return r.error();
  AuthAnswer a;
  a.header = r.value().header;
  return a;
}

}  // namespace

std::string read_password_line(std::istream& in) {
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<client::Result<std::string>> new_password(const AuthAdminCmd& cmd, std::istream& in,
                                                        std::ostream& out) {
  bool needs = (cmd.verb == V::user_add && !cmd.no_password) || cmd.verb == V::user_passwd;
  if (!needs) return std::nullopt;
  if (cmd.password_given) return client::Result<std::string>(cmd.password);
  if (!cmd.interactive) return client::Result<std::string>(read_password_line(in));
  out << "Password of " << cmd.name << ": " << std::flush;
  std::string first = read_password_line(in);
  out << "Type password of " << cmd.name << " again for confirmation: " << std::flush;
  std::string second = read_password_line(in);
  if (first != second)
    return client::Result<std::string>(WireError{kExitBadArgs, "given passwords are different"});
  return client::Result<std::string>(first);
}

client::Result<AuthAnswer> run_auth_admin(client::Client& c, const AuthAdminCmd& cmd,
                                          const std::string& password) {
  switch (cmd.verb) {
    case V::user_add:
      return header_only(c.user_add({cmd.name, password, {cmd.no_password}}));
    case V::user_delete:
      return header_only(c.user_delete(cmd.name));
    case V::user_get: {
      auto r = c.user_get(cmd.name);
      if (!r) return r.error();
      return AuthAnswer{r.value().header, r.value().roles, {}, false, 0};
    }
    case V::user_list: {
      auto r = c.user_list();
      if (!r) return r.error();
      return AuthAnswer{r.value().header, r.value().users, {}, false, 0};
    }
    case V::user_passwd:
      return header_only(c.user_change_password(cmd.name, password));
    case V::user_grant_role:
      return header_only(c.user_grant_role(cmd.name, cmd.role));
    case V::user_revoke_role:
      return header_only(c.user_revoke_role(cmd.name, cmd.role));
    case V::role_add:
      return header_only(c.role_add(cmd.name));
    case V::role_delete:
      return header_only(c.role_delete(cmd.name));
    case V::role_get: {
      auto r = c.role_get(cmd.name);
      if (!r) return r.error();
      return AuthAnswer{r.value().header, {}, r.value().perm, false, 0};
    }
    case V::role_list: {
      auto r = c.role_list();
      if (!r) return r.error();
      return AuthAnswer{r.value().header, r.value().roles, {}, false, 0};
    }
    case V::role_grant_permission:
      return header_only(c.role_grant_permission({cmd.name, cmd.perm}));
    case V::role_revoke_permission:
      return header_only(c.role_revoke_permission({cmd.name, cmd.perm.key, cmd.perm.range_end}));
    case V::auth_enable:
      return header_only(c.auth_enable());
    case V::auth_disable:
      return header_only(c.auth_disable());
    case V::auth_status: {
      auto r = c.auth_status();
      if (!r) return r.error();
      return AuthAnswer{r.value().header, {}, {}, r.value().enabled, r.value().auth_revision};
    }
  }
  return WireError{kExitError, "revkvctl: unknown auth command"};
}

}  // namespace revkv::ctl
