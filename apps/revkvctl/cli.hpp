#pragma once

// revkvctl's command line (docs/REVKVCTL.md): etcdctl v3's commands and flags, parsed
// with CLI11 into one Invocation that run() executes. Parsing is separate from running
// so that tests check it without a node.

#include "client/socket.hpp"
#include "protocol/auth_messages.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"
#include "tls/client_tunnel.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace CLI {
class App;
}

namespace revkv::ctl {

// etcdctl's -w formats; protobuf is parsed so that it is refused with etcdctl's exit code.
enum class Format { simple, json, fields, table, protobuf };

// etcdctl's exit codes (ctlv3/command/error.go).
enum ExitCode : int {
  kExitSuccess = 0,
  kExitError = 1,
  kExitBadConnection = 2,
  kExitInvalidInput = 3,  // txn input
  kExitBadFeature = 4,    // a valid flag with an unsupported value (output format, sort)
  kExitInterrupted = 5,   // a watch canceled by the server
  kExitIO = 6,
  kExitBadArgs = 128,  // wrong number or shape of arguments
};

struct Global {
  // Tried in order until one connects (etcdctl's --endpoints list); the endpoint commands
  // ask each of them.
  std::vector<std::string> endpoints{"127.0.0.1:7379"};
  Format format = Format::simple;
  std::chrono::milliseconds dial_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  // etcdctl's --cacert, --cert, --key, --insecure-skip-tls-verify; any of them (or an
  // https:// endpoint) means TLS.
  tls::ClientConfig tls;
  // etcdctl's --user name[:password] and --password: every command authenticates first
  // and sends the token with its requests. A name without a password reads one from stdin.
  std::optional<std::string> user;
  std::optional<std::string> password;
};

struct PutCmd {
  storage::PutRequest request;
  bool value_from_stdin = false;  // `put KEY` without VALUE and without --ignore-value
};
struct GetCmd {
  storage::RangeRequest request;
  bool print_value_only = false;
};
struct DelCmd {
  storage::DeleteRangeRequest request;
};
struct TxnCmd {
  bool interactive = false;
};
struct CompactCmd {
  protocol::CompactionRequest request;
};
// `endpoint status|health|hashkv [--cluster]`; `status` and `hashkv` are their aliases.
// --cluster asks the members' client URLs (Cluster.MemberList) instead of --endpoints.
struct StatusCmd {
  bool cluster = false;
};
struct HealthCmd {
  bool cluster = false;
};
struct DefragCmd {};
struct HashKvCmd {
  protocol::HashKVRequest request;
  bool cluster = false;
};
struct VersionCmd {};
struct MemberListCmd {};
// `member add|remove|update|promote` and `move-leader` (etcdctl 3.4's member_command.go and
// move_leader_command.go). Ids are hexadecimal on the command line, as etcdctl's.
struct MemberAddCmd {
  std::string name;
  std::vector<std::string> peer_urls;  // --peer-urls, split at commas
  bool learner = false;
};
struct MemberRemoveCmd {
  uint64_t id = 0;
};
struct MemberUpdateCmd {
  uint64_t id = 0;
  std::vector<std::string> peer_urls;
};
struct MemberPromoteCmd {
  uint64_t id = 0;
};
struct MoveLeaderCmd {
  uint64_t target = 0;
};
struct SnapshotSaveCmd {
  std::string file;
};
struct SnapshotStatusCmd {
  std::string file;
};
struct SnapshotRestoreCmd {
  std::string file;
  std::string data_dir;
};
struct AlarmListCmd {};
struct AlarmDisarmCmd {};
struct LeaseGrantCmd {
  int64_t ttl = 0;
};
struct LeaseRevokeCmd {
  int64_t id = 0;
};
struct LeaseKeepAliveCmd {
  int64_t id = 0;
  bool once = false;
};
struct LeaseTimeToLiveCmd {
  protocol::LeaseTimeToLiveRequest request;
};
struct LeaseListCmd {};
struct WatchCmd {
  protocol::WatchCreateRequest request;
};
// `user ...`, `role ...`, `auth ...` (etcdctl's user_command.go, role_command.go,
// auth_command.go; apps/revkvctl/auth_commands.hpp runs them).
struct AuthAdminCmd {
  enum class Verb {
    user_add,
    user_delete,
    user_get,
    user_list,
    user_passwd,
    user_grant_role,
    user_revoke_role,
    role_add,
    role_delete,
    role_get,
    role_list,
    role_grant_permission,
    role_revoke_permission,
    auth_enable,
    auth_disable,
    auth_status,
  };
  Verb verb = Verb::user_list;
  std::string name;      // the user, or the role
  std::string role;      // grant-role / revoke-role
  std::string password;  // user add NAME:PASSWORD
  bool password_given = false;
  bool no_password = false;
  bool interactive = true;        // ask twice on the terminal; false: one line of stdin
  protocol::AuthPermission perm;  // grant-permission; revoke-permission's key, range_end
};

using Command =
    std::variant<PutCmd, GetCmd, DelCmd, TxnCmd, CompactCmd, StatusCmd, HealthCmd, DefragCmd,
                 HashKvCmd, VersionCmd, MemberListCmd, SnapshotSaveCmd, SnapshotStatusCmd,
                 SnapshotRestoreCmd, AlarmListCmd, AlarmDisarmCmd, LeaseGrantCmd, LeaseRevokeCmd,
                 LeaseKeepAliveCmd, LeaseTimeToLiveCmd, LeaseListCmd, WatchCmd, AuthAdminCmd,
                 MemberAddCmd, MemberRemoveCmd, MemberUpdateCmd, MemberPromoteCmd, MoveLeaderCmd>;

struct Invocation {
  Global global;
  Command command;
};

// What parse() could not turn into an Invocation: help text (exit 0) or a usage error
// (etcdctl's exit code: 128 for bad arguments, 4 for an unsupported format, 1 otherwise),
// already worded for the terminal.
struct ParseExit {
  int code = 0;
  std::string out;  // for stdout (help)
  std::string err;  // for stderr ("Error: ...")
};

// args[0] is the program name. Reads REVKVCTL_ENDPOINTS (then REVKV_ENDPOINT),
// REVKVCTL_DIAL_TIMEOUT, REVKVCTL_COMMAND_TIMEOUT and REVKVCTL_WRITE_OUT from the
// environment; flags win over them.
std::variant<Invocation, ParseExit> parse(const std::vector<std::string>& args);

// The flags shared by the top-level put/get/del and the op lines of `txn`. The positional
// arguments are collected as they come and counted by to_request(), so that a wrong count
// gets etcdctl's message. Errors of to_request() carry etcdctl's exit code in `code`.
struct PutArgs {
  std::vector<std::string> positionals;  // KEY [VALUE]
  std::string lease = "0";               // hex, as etcdctl
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};
struct GetArgs {
  std::vector<std::string> positionals;  // KEY [RANGE_END]
  bool prefix = false;
  bool from_key = false;
  int64_t rev = 0;
  int64_t limit = 0;
  bool keys_only = false;
  bool count_only = false;
  std::string sort_by;
  std::string order;
  std::string consistency = "l";
  bool print_value_only = false;
};
struct DelArgs {
  std::vector<std::string> positionals;  // KEY [RANGE_END]
  bool prefix = false;
  bool from_key = false;
  bool prev_kv = false;
};

void add_put_flags(CLI::App& app, PutArgs& args);
void add_get_flags(CLI::App& app, GetArgs& args);
void add_del_flags(CLI::App& app, DelArgs& args);
client::Result<storage::PutRequest> to_request(const PutArgs& args);
client::Result<storage::RangeRequest> to_request(const GetArgs& args);
client::Result<storage::DeleteRangeRequest> to_request(const DelArgs& args);

// "5s", "500ms", "2m", "1h"; a bare number is seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// etcdctl takes lease IDs in hexadecimal.
std::optional<int64_t> parse_lease_id(const std::string& text);

}  // namespace revkv::ctl
