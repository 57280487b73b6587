#pragma once

// The output of revkvctl's user, role and auth commands in etcdctl 3.4's formats: `simple`
// (its simplePrinter's lines), `json` (the response messages, Go's encoding) and `fields`
// for the answers that carry only a header (and `role get`, whose fields etcdctl prints as
// the header's). Pure functions, tested without a node.

#include "apps/revkvctl/cli.hpp"
#include "protocol/auth_messages.hpp"

#include <optional>
#include <string>

namespace revkv::ctl {

// What `cmd` prints for its answer, or nullopt when etcdctl has no printer for it in `f`
// ("<f> not supported as output format", exit 4). `header` is every answer's header;
// `body` the decoded response of the calls that return more than one.
struct AuthAnswer {
  protocol::ResponseHeader header;
  std::vector<std::string> names;               // user get's roles, user list, role list
  std::vector<protocol::AuthPermission> perms;  // role get
  bool enabled = false;                         // auth status
  uint64_t auth_revision = 0;                   // auth status
};

std::optional<std::string> format_auth(const AuthAdminCmd& cmd, const AuthAnswer& answer, Format f);

}  // namespace revkv::ctl
