#pragma once

// Runs revkvctl's user, role and auth commands on a connected client (the Auth.* methods of
// docs/PROTOCOL.md) and reads passwords as etcdctl 3.4 does: `user add NAME:PASSWORD`, or
// with --interactive=false one line of stdin, or else asked twice ("Password of NAME: ",
// "Type password of NAME again for confirmation: "), before connecting, as etcdctl.

#include "apps/revkvctl/auth_output.hpp"
#include "apps/revkvctl/cli.hpp"
#include "client/client.hpp"

#include <iosfwd>
#include <optional>
#include <string>

namespace revkv::ctl {

// The new password `cmd` needs (user add without --no-password, user passwd), read as
// above; nullopt when it needs none. The error's `code` is etcdctl's exit code (128 when the
// two typed passwords differ).
std::optional<client::Result<std::string>> new_password(const AuthAdminCmd& cmd, std::istream& in,
                                                        std::ostream& out);

// The call of `cmd` with `password` (from new_password) and its answer, or the node's error.
client::Result<AuthAnswer> run_auth_admin(client::Client& client, const AuthAdminCmd& cmd,
                                          const std::string& password);

// One line of `in` without its line ending (a password; no echo control: revkvctl reads
// what the terminal or the pipe gives).
std::string read_password_line(std::istream& in);

}  // namespace revkv::ctl
