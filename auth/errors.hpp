#pragma once

// etcd's auth errors as its gRPC server returns them (rpctypes: the message and the gRPC
// code), byte for byte: etcdctl and the client libraries match on the text.

#include "protocol/error.hpp"

#include <optional>
#include <string>

namespace revkv::auth {

using Outcome = std::optional<protocol::WireError>;  // nullopt: done

namespace errors {
// grpc-go's text of an error ("rpc error: code = PermissionDenied desc = etcdserver:
// permission denied"): what etcd puts in the cancel_reason of a refused watch create.
std::string grpc_error_text(const protocol::WireError& error);
protocol::WireError root_user_not_exist();     // FailedPrecondition
protocol::WireError root_role_not_exist();     // FailedPrecondition
protocol::WireError user_already_exist();      // FailedPrecondition
protocol::WireError user_empty();              // InvalidArgument
protocol::WireError user_not_found();          // FailedPrecondition
protocol::WireError role_already_exist();      // FailedPrecondition
protocol::WireError role_not_found();          // FailedPrecondition
protocol::WireError role_empty();              // InvalidArgument
protocol::WireError auth_failed();             // InvalidArgument
protocol::WireError permission_denied();       // PermissionDenied
protocol::WireError role_not_granted();        // FailedPrecondition
protocol::WireError permission_not_granted();  // FailedPrecondition
protocol::WireError auth_not_enabled();        // FailedPrecondition
protocol::WireError invalid_auth_token();      // Unauthenticated
protocol::WireError invalid_auth_mgmt();       // InvalidArgument
protocol::WireError auth_old_revision();       // InvalidArgument
// etcd 3.4's Authenticate on a member whose JWT key is only a public key: the auth store's
// own error, untranslated (Unknown).
protocol::WireError jwt_verify_only();
// etcd 3.4's maintenance server (Defragment, Snapshot, Hash, HashKV) returns the auth
// store's own error untranslated: gRPC code Unknown and "auth: ..." ("auth: permission
// denied", "auth: user name is empty", "auth: user not found"). This turns one of the
// errors above into that form; other errors pass unchanged.
protocol::WireError as_maintenance_error(const protocol::WireError& error);
// etcd 3.4's Authenticate of a user added with --no-password: the auth store's own error,
// untranslated (Unknown, "auth: authentication failed, password was given for no password
// user").
protocol::WireError no_password_user();
// revkv's own: the auth store could not write its change (RocksDB failed).
protocol::WireError store_failed(std::string_view why);  // Internal
}  // namespace errors

}  // namespace revkv::auth
