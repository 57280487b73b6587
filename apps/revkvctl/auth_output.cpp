#include "apps/revkvctl/auth_output.hpp"

#include "apps/revkvctl/fields.hpp"
#include "apps/revkvctl/go_text.hpp"
#include "apps/revkvctl/json.hpp"
#include "storage/types.hpp"

namespace revkv::ctl {
namespace {

using V = AuthAdminCmd::Verb;
using util::json::Json;

const std::string kOpenEnd(1, '\0');

// etcd's header as Go's encoding/json writes it (zero fields left out).
Json header_json(const protocol::ResponseHeader& h) {
  Json o = Json::object();
  if (h.cluster_id != 0) o["cluster_id"] = h.cluster_id;
  if (h.member_id != 0) o["member_id"] = h.member_id;
  if (h.revision != 0) o["revision"] = h.revision;
  if (h.raft_term != 0) o["raft_term"] = h.raft_term;
  return o;
}

std::string line(const Json& document) {
  return util::json::dump(document) + "\n";
}

// etcdctl's RoleGet lines for one permission: a key, or a range with its prefix note.
std::string perm_line(const protocol::AuthPermission& p) {
  if (p.range_end.empty()) return "\t" + p.key + "\n";
  std::string out = p.range_end != kOpenEnd ? "\t[" + p.key + ", " + p.range_end + ")"
                                            : "\t[" + p.key + ", <open ended>";
  // etcdctl compares with clientv3.GetPrefixRangeEnd (which is "\0" for an empty key).
  std::string prefix_end = storage::prefix_end(p.key);
  if (prefix_end.empty()) prefix_end = kOpenEnd;
  if (prefix_end == p.range_end) out += " (prefix " + p.key + ")";
  return out + "\n";
}

std::string role_get_simple(const std::string& role,
                            const std::vector<protocol::AuthPermission>& perms) {
  using T = protocol::PermissionType;
  std::string out = "Role " + role + "\nKV Read:\n";
  for (const auto& p : perms)
    if (p.perm_type == T::read || p.perm_type == T::readwrite) out += perm_line(p);
  out += "KV Write:\n";
  for (const auto& p : perms)
    if (p.perm_type == T::write || p.perm_type == T::readwrite) out += perm_line(p);
  return out;
}

std::string revoked_simple(const AuthAdminCmd& c) {
  const auto& key = c.perm.key;
  const auto& end = c.perm.range_end;
  if (end.empty()) return "Permission of key " + key + " is revoked from role " + c.name + "\n";
  if (end != kOpenEnd)
    return "Permission of range [" + key + ", " + end + ") is revoked from role " + c.name + "\n";
  return "Permission of range [" + key + ", <open ended> is revoked from role " + c.name + "\n";
}

std::string simple(const AuthAdminCmd& c, const AuthAnswer& a) {
  auto lines = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
      out += n + "\n";
    return out;
  };
  switch (c.verb) {
    case V::user_add:
      return "User " + c.name + " created\n";
    case V::user_delete:
      return "User " + c.name + " deleted\n";
    case V::user_get: {
      std::string out = "User: " + c.name + "\nRoles:";
      for (const auto& r : a.names)
        out += " " + r;
      return out + "\n";
    }
    case V::user_list:
    case V::role_list:
      return lines(a.names);
    case V::user_passwd:
      return "Password updated\n";
    case V::user_grant_role:
      return "Role " + c.role + " is granted to user " + c.name + "\n";
    case V::user_revoke_role:
      return "Role " + c.role + " is revoked from user " + c.name + "\n";
    case V::role_add:
      return "Role " + c.name + " created\n";
    case V::role_delete:
      return "Role " + c.name + " deleted\n";
    case V::role_get:
      return role_get_simple(c.name, a.perms);
    case V::role_grant_permission:
      return "Role " + c.name + " updated\n";
    case V::role_revoke_permission:
      return revoked_simple(c);
    case V::auth_enable:
      return "Authentication Enabled\n";
    case V::auth_disable:
      return "Authentication Disabled\n";
    case V::auth_status:
      return std::string("Authentication Status: ") + (a.enabled ? "true" : "false") +
             "\nAuthRevision: " + std::to_string(a.auth_revision) + "\n";
  }
  return "";
}

Json json(const AuthAdminCmd& c, const AuthAnswer& a) {
  Json o = Json::object();
  o["header"] = header_json(a.header);
  auto names = [&](const char* field) {
    if (a.names.empty()) return;  // omitempty
    Json list = Json::array();
    for (const auto& n : a.names)
      list.push_back(n);
    o[field] = std::move(list);
  };
  switch (c.verb) {
    case V::user_get:
    case V::role_list:
      names("roles");
      break;
    case V::user_list:
      names("users");
      break;
    case V::role_get:
      if (!a.perms.empty()) {
        Json list = Json::array();
        for (const auto& p : a.perms) {
          Json perm = Json::object();
          if (p.perm_type != protocol::PermissionType::read)
            perm["permType"] = static_cast<int32_t>(p.perm_type);
          if (!p.key.empty()) perm["key"] = base64(p.key);
          if (!p.range_end.empty()) perm["range_end"] = base64(p.range_end);
          list.push_back(std::move(perm));
        }
        o["perm"] = std::move(list);
      }
      break;
    case V::auth_status:
      if (a.enabled) o["enabled"] = true;
      if (a.auth_revision != 0) o["authRevision"] = a.auth_revision;
      break;
    default:
      break;
  }
  return o;
}

}  // namespace

std::optional<std::string> format_auth(const AuthAdminCmd& c, const AuthAnswer& a, Format f) {
  // etcdctl prints these two lines itself, whatever the format.
  if (c.verb == V::auth_enable || c.verb == V::auth_disable) return simple(c, a);
  if (f == Format::simple) return simple(c, a);
  if (f == Format::json) return line(json(c, a));
  if (f == Format::fields) {
    bool listing = c.verb == V::user_list || c.verb == V::role_list || c.verb == V::user_get ||
                   c.verb == V::auth_status;
    if (listing) return std::nullopt;
    std::string out = fields_header(a.header);
    // etcdctl's fieldsPrinter.RoleGet: the type's name after a doubled space, %q texts.
    static constexpr const char* kTypeNames[] = {"READ", "WRITE", "READWRITE"};
    for (const auto& p : a.perms) {
      // Go prints an enum value without a name as its number.
      auto t = static_cast<int32_t>(p.perm_type);
      out += std::string("\"PermType\" :  ") +
             (t >= 0 && t < 3 ? std::string(kTypeNames[t]) : std::to_string(t)) + "\n";
      out += "\"Key\" : " + go_quote(p.key) + "\n";
      out += "\"RangeEnd\" : " + go_quote(p.range_end) + "\n";
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace revkv::ctl
