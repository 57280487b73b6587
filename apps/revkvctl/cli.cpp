#include "apps/revkvctl/cli.hpp"

#include "apps/revkvctl/go_text.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace revkv::ctl {
namespace {

// The exit code travels in WireError::code (see PutArgs).
protocol::WireError usage_error(std::string message, int exit_code = kExitBadArgs) {
  return {exit_code, std::move(message)};
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// KEY [RANGE_END] of get/del/watch, or etcdctl's message for another count.
client::Result<std::pair<std::string, std::optional<std::string>>> key_and_end(
    const std::vector<std::string>& positionals, const std::string& count_error) {
  if (positionals.empty() || positionals.size() > 2) return usage_error(count_error);
  std::optional<std::string> end;
  if (positionals.size() == 2) end = positionals[1];
  return std::pair{positionals[0], end};
}

// etcdctl's key-range rules shared by get, del and watch: [key, end), --prefix, --from-key.
client::Result<std::pair<std::string, std::optional<std::string>>> key_range(
    std::string key, const std::optional<std::string>& end, bool prefix, bool from_key) {
  if (prefix && from_key)
    return usage_error("`--prefix` and `--from-key` cannot be set at the same time, choose one");
  if ((prefix || from_key) && end)
    return usage_error(std::string("too many arguments, only accept one argument when `") +
                       (prefix ? "--prefix" : "--from-key") + "` is set");
  if (prefix) {
    // An empty prefix is every key: etcd's clientv3 turns it into ("\0", "\0").
    if (key.empty())
      return std::pair{std::string(1, '\0'), std::optional<std::string>(std::string(1, '\0'))};
    std::string e = storage::prefix_end(key);
    return std::pair{std::move(key), std::optional<std::string>(std::move(e))};
  }
  if (from_key) {
    if (key.empty()) key.assign(1, '\0');
    return std::pair{std::move(key), std::optional<std::string>(std::string(1, '\0'))};
  }
  return std::pair{std::move(key), end};
}

template <class T>
bool parse_int(const std::string& text, T& out, int base = 10) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  for (auto [unit, scale] : kUnits) {
    if (text.size() > unit.size() && text.ends_with(unit)) {
      std::string number = text.substr(0, text.size() - unit.size());
      int64_t n = 0;
      // "5m" must not be read as "5" + "m" when it is "5ms": units are tried longest first.
      if (parse_int(number, n) && n >= 0) return std::chrono::milliseconds(n * scale);
    }
  }
  int64_t seconds = 0;
  if (parse_int(text, seconds) && seconds >= 0) return std::chrono::milliseconds(seconds * 1000);
  return std::nullopt;
}

std::optional<int64_t> parse_lease_id(const std::string& text) {
  uint64_t id = 0;  // IDs above 2^63 are written as 16 hex digits too
  if (!parse_int(text, id, 16)) return std::nullopt;
  return static_cast<int64_t>(id);
}

void add_put_flags(CLI::App& app, PutArgs& args) {
  app.add_option("args", args.positionals,
                 "KEY [VALUE] (the value is read from stdin when left out)");
  app.add_option("--lease", args.lease, "lease ID (in hexadecimal) to attach to the key");
  app.add_flag("--prev-kv", args.prev_kv, "return the previous key-value pair");
  app.add_flag("--ignore-value", args.ignore_value, "update the key using its current value");
  app.add_flag("--ignore-lease", args.ignore_lease, "update the key using its current lease");
}

void add_get_flags(CLI::App& app, GetArgs& args) {
  app.add_option("args", args.positionals, "KEY [RANGE_END]");
  app.add_flag("--prefix", args.prefix, "get keys with matching prefix");
  app.add_flag("--from-key", args.from_key, "get keys that are >= the given key");
  app.add_option("--rev", args.rev, "revision to read at");
  app.add_option("--limit", args.limit, "maximum number of results");
  app.add_flag("--keys-only", args.keys_only, "get only the keys");
  app.add_flag("--count-only", args.count_only, "get only the count");
  app.add_option("--sort-by", args.sort_by, "sort target: CREATE, KEY, MODIFY, VALUE, VERSION");
  app.add_option("--order", args.order, "order of the results: ASCEND or DESCEND");
  app.add_option("--consistency", args.consistency, "linearizable (l) or serializable (s)");
  app.add_flag("--print-value-only", args.print_value_only, "only print the values (simple)");
}

void add_del_flags(CLI::App& app, DelArgs& args) {
  app.add_option("args", args.positionals, "KEY [RANGE_END]");
  app.add_flag("--prefix", args.prefix, "delete keys with matching prefix");
  app.add_flag("--from-key", args.from_key, "delete keys that are >= the given key");
  app.add_flag("--prev-kv", args.prev_kv, "return the deleted key-value pairs");
}

client::Result<storage::PutRequest> to_request(const PutArgs& args) {
  // etcdctl: one argument takes the value from stdin, so 0 or more than 2 are wrong.
  if (args.positionals.empty() || args.positionals.size() > 2)
    return usage_error("put command needs 1 argument and input from stdin or 2 arguments");
  storage::PutRequest r;
  r.key = args.positionals[0];
  if (args.ignore_value && args.positionals.size() == 2)
    return usage_error("put command needs only 1 argument when 'ignore-value' is set");
  if (args.positionals.size() == 2) r.value = args.positionals[1];
  auto lease = parse_lease_id(args.lease);
  if (!lease)
    return usage_error("bad lease ID (" + go_parse_int_error(args.lease) +
                       "), expecting ID in Hex");
  r.lease = *lease;
  r.prev_kv = args.prev_kv;
  r.ignore_value = args.ignore_value;
  r.ignore_lease = args.ignore_lease;
  return r;
}

client::Result<storage::RangeRequest> to_request(const GetArgs& args) {
  auto positional =
      key_and_end(args.positionals,
                  "get command needs one argument as key and an optional argument as range_end");
  if (!positional) return positional.error();
  storage::RangeRequest r;
  auto range =
      key_range(positional.value().first, positional.value().second, args.prefix, args.from_key);
  if (!range) return range.error();
  r.key = std::move(range.value().first);
  r.range_end = std::move(range.value().second);
  r.revision = args.rev;
  r.limit = args.limit;
  r.keys_only = args.keys_only;
  r.count_only = args.count_only;
  const std::string order = upper(args.order);
  if (order == "ASCEND") {
    r.sort_order = static_cast<int32_t>(storage::SortOrder::ascend);
  } else if (order == "DESCEND") {
    r.sort_order = static_cast<int32_t>(storage::SortOrder::descend);
  } else if (!order.empty()) {
    return usage_error("bad sort order " + args.order, kExitBadFeature);
  }
  const std::string target = upper(args.sort_by);
  static const std::pair<std::string_view, storage::SortTarget> kTargets[] = {
      {"", storage::SortTarget::key},          {"KEY", storage::SortTarget::key},
      {"CREATE", storage::SortTarget::create}, {"MODIFY", storage::SortTarget::mod},
      {"VALUE", storage::SortTarget::value},   {"VERSION", storage::SortTarget::version}};
  auto found = std::find_if(std::begin(kTargets), std::end(kTargets),
                            [&](const auto& t) { return t.first == target; });
  if (found == std::end(kTargets))
    return usage_error("bad sort target " + args.sort_by, kExitBadFeature);
  r.sort_target = static_cast<int32_t>(found->second);
  // clientv3.WithSort: ascending by key is the server's natural order, so no sort at all.
  if (found->second == storage::SortTarget::key &&
      r.sort_order == static_cast<int32_t>(storage::SortOrder::ascend))
    r.sort_order = static_cast<int32_t>(storage::SortOrder::none);
  if (args.consistency == "s") {
    r.serializable = true;
  } else if (args.consistency != "l") {
    return usage_error("unknown consistency flag \"" + args.consistency + "\"", kExitBadFeature);
  }
  return r;
}

client::Result<storage::DeleteRangeRequest> to_request(const DelArgs& args) {
  auto positional =
      key_and_end(args.positionals,
                  "del command needs one argument as key and an optional argument as range_end");
  if (!positional) return positional.error();
  storage::DeleteRangeRequest r;
  auto range =
      key_range(positional.value().first, positional.value().second, args.prefix, args.from_key);
  if (!range) return range.error();
  r.key = std::move(range.value().first);
  r.range_end = std::move(range.value().second);
  r.prev_kv = args.prev_kv;
  return r;
}

namespace {

// Every subcommand's parsed values; command_of() picks the one that was used.
struct Parsed {
  PutArgs put;
  GetArgs get;
  DelArgs del;
  TxnCmd txn;
  std::vector<std::string> compact_args;
  bool physical = false;
  bool cluster = false;  // endpoint status|health|hashkv --cluster
  HashKvCmd hashkv;
  std::vector<std::string> save_args;
  std::vector<std::string> status_args;
  std::vector<std::string> restore_args;
  std::string restore_data_dir;
  std::vector<std::string> lease_args;
  bool keep_alive_once = false;
  bool ttl_keys = false;
  GetArgs watch;  // positionals, --prefix, --rev: the same shape as get
  bool watch_prev_kv = false;
  std::string endpoints;
  std::string format = "simple";
  std::string dial_timeout = "2s";
  std::string command_timeout = "5s";
  std::string cacert, cert, key;
  bool insecure_skip_tls_verify = false;
  std::string user, password;
  // user / role / auth
  std::vector<std::string> auth_args;
  bool no_password = false;
  bool interactive = true;
  bool perm_prefix = false;
  bool perm_from_key = false;
  // member add|remove|update|promote, move-leader
  std::vector<std::string> member_args;
  std::string peer_urls;
  bool learner = false;
  std::vector<std::string> move_leader_args;
};

// Go's strconv.ParseUint(text, 16, 64) error, as etcdctl prints it for a bad member id.
std::string go_parse_hex_error(std::string_view text) {
  bool digits = !text.empty();
  for (char c : text)
    digits = digits && std::isxdigit(static_cast<unsigned char>(c));
  return "strconv.ParseUint: parsing " + go_quote(text) +
         (digits ? ": value out of range" : ": invalid syntax");
}

// `member LEAF ARGS` other than list: etcdctl 3.4's argument checks and messages (exit 128).
client::Result<Command> member_command(const std::string& leaf, const Parsed& p) {
  const auto& args = p.member_args;
  auto urls = [&] {
    std::vector<std::string> out;
    std::string_view rest = p.peer_urls;
    for (;;) {
      auto comma = rest.find(',');
      out.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) return out;
      rest.remove_prefix(comma + 1);
    }
  };
  if (leaf == "add") {
    if (args.empty()) return usage_error("member name not provided");
    if (args.size() > 1) {
      std::string ev = "too many arguments";
      for (const auto& a : args) {
        std::string lower = a;
        for (auto& c : lower)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.rfind("http", 0) == 0) ev += ", did you mean --peer-urls=" + a;
      }
      return usage_error(ev);
    }
    if (p.peer_urls.empty()) return usage_error("member peer urls not provided");
    return Command{MemberAddCmd{args[0], urls(), p.learner}};
  }
  if (args.size() != 1) return usage_error("member ID is not provided");
  uint64_t id = 0;
  if (!parse_int(args[0], id, 16))
    return usage_error("bad member ID arg (" + go_parse_hex_error(args[0]) +
                       "), expecting ID in Hex");
  if (leaf == "remove") return Command{MemberRemoveCmd{id}};
  if (leaf == "promote") return Command{MemberPromoteCmd{id}};
  if (p.peer_urls.empty()) return usage_error("member peer urls not provided");
  return Command{MemberUpdateCmd{id, urls()}};
}

// The leaf of `lease ...` with its one argument: etcdctl's message when it is missing.
client::Result<std::string> one_lease_arg(const std::vector<std::string>& args,
                                          const std::string& leaf) {
  if (args.size() == 1) return args[0];
  if (leaf == "grant") return usage_error("lease grant command needs TTL argument");
  if (leaf == "revoke") return usage_error("lease revoke command needs 1 argument");
  return usage_error("lease " + leaf + " command needs lease ID as argument");
}

client::Result<Command> lease_command(const std::string& leaf, const Parsed& p) {
  if (leaf == "list") return Command{LeaseListCmd{}};
  auto arg = one_lease_arg(p.lease_args, leaf);
  if (!arg) return arg.error();
  if (leaf == "grant") {
    int64_t ttl = 0;
    if (!parse_int(arg.value(), ttl))
      return usage_error("bad TTL (" + go_parse_int_error(arg.value()) + ")");
    return Command{LeaseGrantCmd{ttl}};
  }
  auto id = parse_lease_id(arg.value());
  if (!id)
    return usage_error("bad lease ID arg (" + go_parse_int_error(arg.value()) +
                       "), expecting ID in Hex");
  if (leaf == "revoke") return Command{LeaseRevokeCmd{*id}};
  if (leaf == "keep-alive") return Command{LeaseKeepAliveCmd{*id, p.keep_alive_once}};
  return Command{LeaseTimeToLiveCmd{protocol::LeaseTimeToLiveRequest{*id, p.ttl_keys}}};
}

// `user|role|auth LEAF ARGS`: etcdctl 3.4's argument checks and messages (exit 128).
client::Result<Command> auth_admin_command(const std::string& group, const std::string& leaf,
                                           const Parsed& p) {
  using V = AuthAdminCmd::Verb;
  const auto& a = p.auth_args;
  AuthAdminCmd c;
  c.no_password = p.no_password;
  c.interactive = p.interactive;
  auto one = [&](V verb, const std::string& message) -> client::Result<Command> {
    if (a.size() != 1) return usage_error(message);
    c.verb = verb;
    c.name = a[0];
    return Command{c};
  };
  auto none = [&](V verb, const std::string& message) -> client::Result<Command> {
    if (!a.empty()) return usage_error(message);
    c.verb = verb;
    return Command{c};
  };
  auto two = [&](V verb, const std::string& message) -> client::Result<Command> {
    if (a.size() != 2) return usage_error(message);
    c.verb = verb;
    c.name = a[0];
    c.role = a[1];
    return Command{c};
  };
  // KEY [RANGE_END] with --prefix / --from-key, as etcdctl's permRange.
  auto perm_range = [&](const std::string& key,
                        const std::optional<std::string>& end) -> client::Result<Command> {
    if (p.perm_prefix && p.perm_from_key)
      return usage_error("--from-key and --prefix flags are mutually exclusive");
    if (end && p.perm_prefix) return usage_error("unexpected endkey argument with --prefix flag");
    if (end && p.perm_from_key)
      return usage_error("unexpected endkey argument with --from-key flag");
    c.perm.key = key;
    if (end) c.perm.range_end = *end;
    if (p.perm_prefix)
      c.perm.range_end = key.empty() ? std::string(1, '\0') : storage::prefix_end(key);
    if (p.perm_from_key) c.perm.range_end = std::string(1, '\0');
    return Command{c};
  };
  if (group == "user") {
    if (leaf == "add") {
      auto r = one(V::user_add, "user add command requires user name as its argument");
      if (!r) return r;
      auto colon = a[0].find(':');
      if (colon != std::string::npos) {
        c.name = a[0].substr(0, colon);
        c.password = a[0].substr(colon + 1);
        c.password_given = true;
      }
      return Command{c};
    }
    if (leaf == "delete")
      return one(V::user_delete, "user delete command requires user name as its argument");
    if (leaf == "get")
      return one(V::user_get, "user get command requires user name as its argument");
    if (leaf == "list") return none(V::user_list, "user list command requires no arguments");
    if (leaf == "passwd")
      return one(V::user_passwd, "user passwd command requires user name as its argument");
    if (leaf == "grant-role")
      return two(V::user_grant_role,
                 "user grant command requires user name and role name as its argument");
    return two(V::user_revoke_role,
               "user revoke-role requires user name and role name as its argument");
  }
  if (group == "role") {
    if (leaf == "add")
      return one(V::role_add, "role add command requires role name as its argument");
    if (leaf == "delete")
      return one(V::role_delete, "role delete command requires role name as its argument");
    if (leaf == "get")
      return one(V::role_get, "role get command requires role name as its argument");
    if (leaf == "list") return none(V::role_list, "role list command requires no arguments");
    if (leaf == "grant-permission") {
      if (a.size() < 3 || a.size() > 4)
        return usage_error(
            "role grant command requires role name, permission type, and key [endkey] as its "
            "argument");
      std::string type = a[1];
      for (auto& ch : type)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (type == "READ") {
        c.perm.perm_type = protocol::PermissionType::read;
      } else if (type == "WRITE") {
        c.perm.perm_type = protocol::PermissionType::write;
      } else if (type == "READWRITE") {
        c.perm.perm_type = protocol::PermissionType::readwrite;
      } else {
        return usage_error("invalid permission type: " + a[1]);
      }
      c.verb = V::role_grant_permission;
      c.name = a[0];
      return perm_range(a[2], a.size() == 4 ? std::optional<std::string>(a[3]) : std::nullopt);
    }
    if (a.size() < 2 || a.size() > 3)
      return usage_error(
          "role revoke-permission command requires role name and key [endkey] as its argument");
    c.verb = V::role_revoke_permission;
    c.name = a[0];
    return perm_range(a[1], a.size() == 3 ? std::optional<std::string>(a[2]) : std::nullopt);
  }
  if (leaf == "enable")
    return none(V::auth_enable, "auth enable command does not accept any arguments");
  if (leaf == "disable")
    return none(V::auth_disable, "auth disable command does not accept any arguments");
  return none(V::auth_status, "auth status command does not accept any arguments");
}

client::Result<Command> command_of(const CLI::App& app, Parsed& p) {
  CLI::App* sub = app.get_subcommands().front();
  const std::string name = sub->get_name();
  if (name == "put") {
    auto r = to_request(p.put);
    if (!r) return r.error();
    return Command{
        PutCmd{std::move(r).value(), p.put.positionals.size() == 1 && !p.put.ignore_value}};
  }
  if (name == "get") {
    auto r = to_request(p.get);
    if (!r) return r.error();
    return Command{GetCmd{std::move(r).value(), p.get.print_value_only}};
  }
  if (name == "del") {
    auto r = to_request(p.del);
    if (!r) return r.error();
    return Command{DelCmd{std::move(r).value()}};
  }
  if (name == "txn") return Command{p.txn};
  if (name == "compaction") {
    if (p.compact_args.size() != 1) return usage_error("compaction command needs 1 argument");
    int64_t rev = 0;
    // etcdctl reports a bad revision as a plain error (exit 1), not as bad arguments.
    if (!parse_int(p.compact_args[0], rev))
      return usage_error(go_parse_int_error(p.compact_args[0]), kExitError);
    return Command{CompactCmd{protocol::CompactionRequest{rev, p.physical}}};
  }
  if (name == "status") return Command{StatusCmd{}};
  if (name == "defrag") return Command{DefragCmd{}};
  if (name == "hashkv") return Command{p.hashkv};
  if (name == "version") return Command{VersionCmd{}};
  if (name == "watch") {
    if (p.watch.positionals.empty() || p.watch.positionals.size() > 2)
      return usage_error("bad number of arguments");
    std::optional<std::string> end;
    if (p.watch.positionals.size() == 2) end = p.watch.positionals[1];
    auto range = key_range(p.watch.positionals[0], end, p.watch.prefix, false);
    if (!range) return range.error();
    WatchCmd w;
    w.request.key = std::move(range.value().first);
    w.request.range_end = std::move(range.value().second);
    w.request.start_revision = p.watch.rev;
    w.request.prev_kv = p.watch_prev_kv;
    return Command{std::move(w)};
  }
  if (name == "move-leader") {
    if (p.move_leader_args.size() != 1) return usage_error("move-leader command needs 1 argument");
    uint64_t target = 0;
    if (!parse_int(p.move_leader_args[0], target, 16))
      return usage_error(go_parse_hex_error(p.move_leader_args[0]));
    return Command{MoveLeaderCmd{target}};
  }
  const std::string leaf = sub->get_subcommands().front()->get_name();
  if (name == "endpoint") {
    if (leaf == "status") return Command{StatusCmd{p.cluster}};
    if (leaf == "health") return Command{HealthCmd{p.cluster}};
    HashKvCmd h = p.hashkv;
    h.cluster = p.cluster;
    return Command{h};
  }
  if (name == "member") {
    if (leaf == "list") return Command{MemberListCmd{}};
    return member_command(leaf, p);
  }
  if (name == "user" || name == "role" || name == "auth") return auth_admin_command(name, leaf, p);
  if (name == "snapshot") {
    if (leaf == "save") {
      if (p.save_args.size() != 1) return usage_error("snapshot save expects one argument");
      return Command{SnapshotSaveCmd{p.save_args[0]}};
    }
    if (leaf == "status") {
      if (p.status_args.size() != 1)
        return usage_error("snapshot status requires exactly one argument");
      return Command{SnapshotStatusCmd{p.status_args[0]}};
    }
    if (p.restore_args.size() != 1)
      return usage_error("snapshot restore requires exactly one argument");
    return Command{SnapshotRestoreCmd{p.restore_args[0], p.restore_data_dir}};
  }
  if (name == "alarm") {
    if (leaf == "list") return Command{AlarmListCmd{}};
    return Command{AlarmDisarmCmd{}};
  }
  return lease_command(leaf, p);
}

// A command group (`lease`, `endpoint`, ...): without its leaf, etcdctl prints its help.
CLI::App* add_group(CLI::App& app, const char* name, const char* description) {
  return app.add_subcommand(name, description)->require_subcommand(1);
}

// user, role and auth: etcdctl 3.4's commands (auth status is etcdctl 3.5's).
void build_auth(CLI::App& app, Parsed& p) {
  auto args = [&](CLI::App* leaf) {
    leaf->add_option("args", p.auth_args);
    return leaf;
  };
  auto* user = add_group(app, "user", "User related commands");
  auto* add = args(user->add_subcommand("add", "Adds a new user"));
  add->add_flag("--no-password", p.no_password, "create a user without a password (CN-based auth)");
  add->add_flag("--interactive", p.interactive, "read the password from stdin instead of a prompt");
  args(user->add_subcommand("delete", "Deletes a user"));
  args(user->add_subcommand("get", "Gets detailed information of a user"));
  args(user->add_subcommand("list", "Lists all users"));
  args(user->add_subcommand("passwd", "Changes password of user"))
      ->add_flag("--interactive", p.interactive,
                 "if true, read password from stdin instead of interactive terminal");
  args(user->add_subcommand("grant-role", "Grants a role to a user"));
  args(user->add_subcommand("revoke-role", "Revokes a role from a user"));

  auto* role = add_group(app, "role", "Role related commands");
  args(role->add_subcommand("add", "Adds a new role"));
  args(role->add_subcommand("delete", "Deletes a role"));
  args(role->add_subcommand("get", "Gets detailed information of a role"));
  args(role->add_subcommand("list", "Lists all roles"));
  auto* grant = args(role->add_subcommand("grant-permission", "Grants a key to a role"));
  grant->add_flag("--prefix", p.perm_prefix, "grant a prefix permission");
  grant->add_flag("--from-key", p.perm_from_key,
                  "grant a permission of keys that are greater than or equal to the given key");
  auto* revoke = args(role->add_subcommand("revoke-permission", "Revokes a key from a role"));
  revoke->add_flag("--prefix", p.perm_prefix, "revoke a prefix permission");
  revoke->add_flag("--from-key", p.perm_from_key,
                   "revoke a permission of keys that are greater than or equal to the given key");

  auto* auth = add_group(app, "auth", "Enable or disable authentication");
  args(auth->add_subcommand("enable", "Enables authentication"));
  args(auth->add_subcommand("disable", "Disables authentication"));
  args(auth->add_subcommand("status", "Returns authentication status"));
}

void build(CLI::App& app, Parsed& p) {
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command, as with etcdctl
  // Unknown commands and flags come back in remaining(), to be worded as etcdctl words them.
  app.allow_extras();
  app.add_option("--endpoints,--endpoint", p.endpoints,
                 "comma-separated HOST:PORT list, tried in order (env REVKVCTL_ENDPOINTS, "
                 "then REVKV_ENDPOINT)");
  app.add_option("-w,--write-out", p.format,
                 "output format: simple, json, fields or table (env REVKVCTL_WRITE_OUT)");
  app.add_option("--dial-timeout", p.dial_timeout, "dial timeout (env REVKVCTL_DIAL_TIMEOUT)");
  app.add_option("--command-timeout", p.command_timeout,
                 "timeout of a short command (env REVKVCTL_COMMAND_TIMEOUT)");
  app.add_option("--cacert", p.cacert,
                 "verify the server's TLS certificate with this CA bundle (env REVKVCTL_CACERT)");
  app.add_option("--cert", p.cert,
                 "TLS client certificate, for a node with --client-cert-auth (env REVKVCTL_CERT)");
  app.add_option("--key", p.key, "TLS client key of --cert (env REVKVCTL_KEY)");
  app.add_flag("--insecure-skip-tls-verify", p.insecure_skip_tls_verify,
               "TLS without checking the server's certificate (testing only)");

  app.add_option("--user", p.user,
                 "username[:password] for authentication (the password is read from stdin if "
                 "not given)");
  app.add_option("--password", p.password,
                 "password for authentication (then --user must not include one)");

  add_put_flags(*app.add_subcommand("put", "Puts the given key into the store"), p.put);
  add_get_flags(*app.add_subcommand("get", "Gets the key or a range of keys"), p.get);
  add_del_flags(*app.add_subcommand("del", "Removes the key or a range of keys")->alias("delete"),
                p.del);
  app.add_subcommand("txn", "Txn processes all the requests in one transaction")
      ->add_flag("-i,--interactive", p.txn.interactive, "input the transaction interactively");
  auto* compact =
      app.add_subcommand("compaction", "Compacts the event history in etcd")->alias("compact");
  compact->add_option("revision", p.compact_args, "revision to compact up to");
  compact->add_flag("--physical", p.physical, "wait until the compaction is physically applied");
  app.add_subcommand("status", "Alias of `endpoint status`");
  app.add_subcommand("defrag", "Defragments the storage of the node");
  app.add_subcommand("hashkv", "Alias of `endpoint hashkv`")
      ->add_option("--rev", p.hashkv.request.revision, "maximum revision to hash (0: current)");
  app.add_subcommand("version", "Prints the version of revkvctl");

  auto* endpoint = add_group(app, "endpoint", "Endpoint related commands");
  endpoint->add_subcommand("status", "Prints out the status of the endpoints")
      ->add_flag("--cluster", p.cluster, "use all endpoints from the cluster member list");
  endpoint->add_subcommand("health", "Checks the healthiness of the endpoints")
      ->add_flag("--cluster", p.cluster, "use all endpoints from the cluster member list");
  auto* hashkv = endpoint->add_subcommand("hashkv", "Prints the KV history hash of each endpoint");
  hashkv->add_flag("--cluster", p.cluster, "use all endpoints from the cluster member list");
  hashkv->add_option("--rev", p.hashkv.request.revision, "maximum revision to hash (0: current)");

  auto* member = add_group(app, "member", "Membership related commands");
  member->add_subcommand("list", "Lists all members in the cluster");
  auto* member_add = member->add_subcommand("add", "Adds a member into the cluster");
  member_add->add_option("args", p.member_args);
  member_add->add_option("--peer-urls", p.peer_urls,
                         "comma separated peer URLs for the new member");
  member_add->add_flag("--learner", p.learner, "indicates if the new member is raft learner");
  member->add_subcommand("remove", "Removes a member from the cluster")
      ->add_option("args", p.member_args);
  auto* member_update = member->add_subcommand("update", "Updates a member in the cluster");
  member_update->add_option("args", p.member_args);
  member_update->add_option("--peer-urls", p.peer_urls,
                            "comma separated peer URLs for the updated member");
  member->add_subcommand("promote", "Promotes a non-voting member in the cluster")
      ->add_option("args", p.member_args);
  app.add_subcommand("move-leader", "Transfers leadership to another etcd cluster member.")
      ->add_option("args", p.move_leader_args);

  auto* snapshot = add_group(app, "snapshot", "Manages snapshots");
  snapshot->add_subcommand("save", "Stores a snapshot of the node to a file")
      ->add_option("file", p.save_args);
  snapshot->add_subcommand("status", "Gets the hash, revision, keys and size of a snapshot file")
      ->add_option("file", p.status_args);
  auto* restore = snapshot->add_subcommand("restore", "Restores a snapshot file into a data dir");
  restore->add_option("file", p.restore_args);
  restore->add_option("--data-dir", p.restore_data_dir, "directory to create")->required();

  auto* alarm = add_group(app, "alarm", "Alarm related commands");
  alarm->add_subcommand("list", "Lists all alarms");
  alarm->add_subcommand("disarm", "Disarms all alarms");

  auto* lease = add_group(app, "lease", "Lease related commands");
  lease->add_subcommand("grant", "Creates a lease")->add_option("ttl", p.lease_args);
  lease->add_subcommand("revoke", "Revokes a lease")->add_option("id", p.lease_args);
  auto* keep = lease->add_subcommand("keep-alive", "Keeps a lease alive");
  keep->add_option("id", p.lease_args);
  keep->add_flag("--once", p.keep_alive_once, "send one keep-alive and exit");
  auto* ttl = lease->add_subcommand("timetolive", "Gets lease information");
  ttl->add_option("id", p.lease_args);
  ttl->add_flag("--keys", p.ttl_keys, "get the keys attached to the lease");
  lease->add_subcommand("list", "Lists all active leases");

  build_auth(app, p);

  auto* watch = app.add_subcommand("watch", "Watches events on a key or prefix");
  watch->add_option("args", p.watch.positionals, "KEY [RANGE_END]");
  watch->add_flag("--prefix", p.watch.prefix, "watch on a prefix");
  watch->add_option("--rev", p.watch.rev, "revision to start watching from");
  watch->add_flag("--prev-kv", p.watch_prev_kv, "get the previous key-value pair of each event");
}

ParseExit fail(const std::string& message, int code) {
  return ParseExit{code, "", "Error: " + message + "\n"};
}

// What the command line left over: an unknown command (no command parsed) or flag.
std::optional<ParseExit> leftover(const CLI::App& app) {
  for (const auto& word : app.remaining()) {
    if (word.rfind("-", 0) == 0) {
      std::string flag = word.substr(0, word.find('='));
      if (flag.rfind("--", 0) != 0)
        return fail("unknown shorthand flag: '" + flag.substr(1, 1) + "' in " + flag, kExitError);
      return fail("unknown flag: " + flag, kExitError);
    }
    if (app.get_subcommands().empty()) {
      // etcdctl prints it twice: cobra's error with its hint, then its own exit's line.
      const std::string error = "Error: unknown command \"" + word + "\" for \"revkvctl\"\n";
      return ParseExit{kExitError, "", error + "Run 'revkvctl --help' for usage.\n" + error};
    }
  }
  return std::nullopt;
}

std::optional<Format> format_named(const std::string& name) {
  static const std::pair<std::string_view, Format> kFormats[] = {{"simple", Format::simple},
                                                                 {"json", Format::json},
                                                                 {"fields", Format::fields},
                                                                 {"table", Format::table},
                                                                 {"protobuf", Format::protobuf}};
  for (auto [n, f] : kFormats)
    if (n == name) return f;
  return std::nullopt;
}

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The flag when given, else the first of `env` that is set, else the default.
std::string flag_or_env(const CLI::App& app, const char* flag, const std::string& value,
                        std::initializer_list<const char*> env) {
  if (app.get_option(flag)->count() > 0) return value;
  for (const char* name : env)
    if (const char* v = std::getenv(name); v && *v) return v;
  return value;
}

}  // namespace

std::variant<Invocation, ParseExit> parse(const std::vector<std::string>& args) {
  CLI::App app("revkvctl: a command-line client for revkvd (etcdctl v3 style)", "revkvctl");
  Parsed p;
  build(app, p);
  try {
    // CLI11 wants the arguments in reverse order, without the program name.
    std::vector<std::string> rest(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
    app.parse(rest);
  } catch (const CLI::CallForHelp&) {
    return ParseExit{0, app.help(), ""};
  } catch (const CLI::CallForAllHelp&) {
    return ParseExit{0, app.help("", CLI::AppFormatMode::All), ""};
  } catch (const CLI::ParseError& e) {
    // Help of a subcommand arrives as a ParseError with exit code 0 too.
    if (e.get_exit_code() == 0) return ParseExit{0, app.help(), ""};
    if (auto l = leftover(app)) return *l;
    // A bare command group (`revkvctl`, `revkvctl lease`): its help, as etcdctl (exit 0).
    const CLI::App* level = &app;
    while (!level->get_subcommands().empty())
      level = level->get_subcommands().front();
    if (!level->get_subcommands().empty() || level->get_require_subcommand_min() > 0)
      return ParseExit{0, level->help(), ""};
    return fail(e.what(), kExitError);
  }
  if (auto l = leftover(app)) return *l;

  Global g;
  const std::string format = flag_or_env(app, "-w", p.format, {"REVKVCTL_WRITE_OUT"});
  auto f = format_named(format);
  if (!f) return fail("unsupported output format", kExitBadFeature);
  g.format = *f;
  const std::string endpoints =
      flag_or_env(app, "--endpoints", p.endpoints, {"REVKVCTL_ENDPOINTS", "REVKV_ENDPOINT"});
  if (!endpoints.empty()) g.endpoints = split_endpoints(endpoints);
  if (g.endpoints.empty()) return fail("no endpoints given in --endpoints", kExitBadArgs);
  const std::string dial_text =
      flag_or_env(app, "--dial-timeout", p.dial_timeout, {"REVKVCTL_DIAL_TIMEOUT"});
  const std::string command_text =
      flag_or_env(app, "--command-timeout", p.command_timeout, {"REVKVCTL_COMMAND_TIMEOUT"});
  auto dial = parse_duration(dial_text);
  auto command = parse_duration(command_text);
  if (!dial) return fail("bad --dial-timeout " + dial_text, kExitBadArgs);
  if (!command) return fail("bad --command-timeout " + command_text, kExitBadArgs);
  g.dial_timeout = *dial;
  g.command_timeout = *command;
  g.tls.ca_file = flag_or_env(app, "--cacert", p.cacert, {"REVKVCTL_CACERT"});
  g.tls.cert_file = flag_or_env(app, "--cert", p.cert, {"REVKVCTL_CERT"});
  g.tls.key_file = flag_or_env(app, "--key", p.key, {"REVKVCTL_KEY"});
  g.tls.insecure_skip_verify = p.insecure_skip_tls_verify;
  if (g.tls.cert_file.empty() != g.tls.key_file.empty())
    return fail("--cert and --key go together", kExitBadArgs);
  g.tls.enabled = !g.tls.ca_file.empty() || !g.tls.cert_file.empty() || g.tls.insecure_skip_verify;
  const std::string user = flag_or_env(app, "--user", p.user, {"REVKVCTL_USER"});
  const std::string password = flag_or_env(app, "--password", p.password, {"REVKVCTL_PASSWORD"});
  if (!user.empty()) g.user = user;
  if (!password.empty()) {
    if (user.find(':') != std::string::npos)
      return fail("Password should not be given with --user and --password at the same time",
                  kExitBadArgs);
    g.password = password;
  }
  auto cmd = command_of(app, p);
  if (!cmd) return fail(cmd.error().message, cmd.error().code);
  return Invocation{std::move(g), std::move(cmd).value()};
}

}  // namespace revkv::ctl
