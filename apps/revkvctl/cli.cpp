#include "apps/revkvctl/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace revkv::ctl {
namespace {

protocol::WireError usage_error(std::string message) {
  return {protocol::kCodeInvalidArgument, std::move(message)};
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
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
  app.add_option("key", args.key, "the key")->required();
  app.add_option_function<std::string>(
      "value", [&args](const std::string& v) { args.value = v; },
      "the value (read from stdin when left out)");
  app.add_option("--lease", args.lease, "lease ID (in hexadecimal) to attach to the key");
  app.add_flag("--prev-kv", args.prev_kv, "return the previous key-value pair");
  app.add_flag("--ignore-value", args.ignore_value, "update the key using its current value");
  app.add_flag("--ignore-lease", args.ignore_lease, "update the key using its current lease");
}

void add_get_flags(CLI::App& app, GetArgs& args) {
  app.add_option("key", args.key, "the key")->required();
  app.add_option_function<std::string>(
      "range_end", [&args](const std::string& v) { args.range_end = v; }, "end of the range");
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
  app.add_option("key", args.key, "the key")->required();
  app.add_option_function<std::string>(
      "range_end", [&args](const std::string& v) { args.range_end = v; }, "end of the range");
  app.add_flag("--prefix", args.prefix, "delete keys with matching prefix");
  app.add_flag("--from-key", args.from_key, "delete keys that are >= the given key");
  app.add_flag("--prev-kv", args.prev_kv, "return the deleted key-value pairs");
}

client::Result<storage::PutRequest> to_request(const PutArgs& args) {
  storage::PutRequest r;
  r.key = args.key;
  if (args.ignore_value && args.value)
    return usage_error("put command needs only 1 argument when 'ignore-value' is set");
  if (args.value) r.value = *args.value;
  auto lease = parse_lease_id(args.lease);
  if (!lease) return usage_error("bad lease ID (" + args.lease + "), expecting ID in Hex");
  r.lease = *lease;
  r.prev_kv = args.prev_kv;
  r.ignore_value = args.ignore_value;
  r.ignore_lease = args.ignore_lease;
  return r;
}

client::Result<storage::RangeRequest> to_request(const GetArgs& args) {
  storage::RangeRequest r;
  auto range = key_range(args.key, args.range_end, args.prefix, args.from_key);
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
    return usage_error("bad sort order " + args.order);
  }
  const std::string target = upper(args.sort_by);
  static const std::pair<std::string_view, storage::SortTarget> kTargets[] = {
      {"", storage::SortTarget::key},          {"KEY", storage::SortTarget::key},
      {"CREATE", storage::SortTarget::create}, {"MODIFY", storage::SortTarget::mod},
      {"VALUE", storage::SortTarget::value},   {"VERSION", storage::SortTarget::version}};
  auto found = std::find_if(std::begin(kTargets), std::end(kTargets),
                            [&](const auto& t) { return t.first == target; });
  if (found == std::end(kTargets)) return usage_error("bad sort target " + args.sort_by);
  r.sort_target = static_cast<int32_t>(found->second);
  // clientv3.WithSort: ascending by key is the server's natural order, so no sort at all.
  if (found->second == storage::SortTarget::key &&
      r.sort_order == static_cast<int32_t>(storage::SortOrder::ascend))
    r.sort_order = static_cast<int32_t>(storage::SortOrder::none);
  if (args.consistency == "s") {
    r.serializable = true;
  } else if (args.consistency != "l") {
    return usage_error("unknown consistency flag \"" + args.consistency + "\"");
  }
  return r;
}

client::Result<storage::DeleteRangeRequest> to_request(const DelArgs& args) {
  storage::DeleteRangeRequest r;
  auto range = key_range(args.key, args.range_end, args.prefix, args.from_key);
  if (!range) return range.error();
  r.key = std::move(range.value().first);
  r.range_end = std::move(range.value().second);
  r.prev_kv = args.prev_kv;
  return r;
}

namespace {

// Every subcommand's parsed values; run_parser() picks the one that was used.
struct Parsed {
  PutArgs put;
  GetArgs get;
  DelArgs del;
  TxnCmd txn;
  std::string compact_rev;
  bool physical = false;
  HashKvCmd hashkv;
  SnapshotSaveCmd save;
  SnapshotRestoreCmd restore;
  SnapshotStatusCmd snapshot_status;
  std::string lease_arg;
  bool keep_alive_once = false;
  bool ttl_keys = false;
  GetArgs watch;  // key, range_end, --prefix, --rev: the same shape as get
  bool watch_prev_kv = false;
  std::string format = "simple";
  std::string dial_timeout = "2s";
  std::string command_timeout = "5s";
};

client::Result<Command> command_of(const CLI::App& app, Parsed& p) {
  auto lease_id = [&]() -> client::Result<int64_t> {
    auto id = parse_lease_id(p.lease_arg);
    if (!id) return usage_error("bad lease ID arg (" + p.lease_arg + "), expecting ID in Hex");
    return *id;
  };
  CLI::App* sub = app.get_subcommands().front();
  const std::string name = sub->get_name();
  if (name == "put") {
    auto r = to_request(p.put);
    if (!r) return r.error();
    return Command{PutCmd{std::move(r).value(), !p.put.value && !p.put.ignore_value}};
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
  if (name == "compact") {
    int64_t rev = 0;
    if (!parse_int(p.compact_rev, rev))
      return usage_error("bad revision argument " + p.compact_rev);
    return Command{CompactCmd{protocol::CompactionRequest{rev, p.physical}}};
  }
  if (name == "status") return Command{StatusCmd{}};
  if (name == "defrag") return Command{DefragCmd{}};
  if (name == "hashkv") return Command{p.hashkv};
  if (name == "watch") {
    auto range = key_range(p.watch.key, p.watch.range_end, p.watch.prefix, false);
    if (!range) return range.error();
    WatchCmd w;
    w.request.key = std::move(range.value().first);
    w.request.range_end = std::move(range.value().second);
    w.request.start_revision = p.watch.rev;
    w.request.prev_kv = p.watch_prev_kv;
    return Command{std::move(w)};
  }
  const std::string leaf = sub->get_subcommands().front()->get_name();
  if (name == "snapshot") {
    if (leaf == "save") return Command{p.save};
    if (leaf == "status") return Command{p.snapshot_status};
    return Command{p.restore};
  }
  if (name == "alarm") {
    if (leaf == "list") return Command{AlarmListCmd{}};
    return Command{AlarmDisarmCmd{}};
  }
  // lease
  if (leaf == "list") return Command{LeaseListCmd{}};
  if (leaf == "grant") {
    int64_t ttl = 0;
    if (!parse_int(p.lease_arg, ttl)) return usage_error("bad TTL (" + p.lease_arg + ")");
    return Command{LeaseGrantCmd{ttl}};
  }
  auto id = lease_id();
  if (!id) return id.error();
  if (leaf == "revoke") return Command{LeaseRevokeCmd{id.value()}};
  if (leaf == "keep-alive") return Command{LeaseKeepAliveCmd{id.value(), p.keep_alive_once}};
  return Command{LeaseTimeToLiveCmd{protocol::LeaseTimeToLiveRequest{id.value(), p.ttl_keys}}};
}

void build(CLI::App& app, Parsed& p, Global& g) {
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command, as with etcdctl
  app.add_option("--endpoint,--endpoints", g.endpoint, "HOST:PORT of the node")
      ->envname("REVKV_ENDPOINT");
  app.add_option("-w,--write-out", p.format, "output format: simple or json")
      ->check(CLI::IsMember({"simple", "json"}));
  app.add_option("--dial-timeout", p.dial_timeout, "dial timeout (e.g. 2s)");
  app.add_option("--command-timeout", p.command_timeout, "timeout of a short command (e.g. 5s)");

  add_put_flags(*app.add_subcommand("put", "Puts the given key into the store"), p.put);
  add_get_flags(*app.add_subcommand("get", "Gets the key or a range of keys"), p.get);
  add_del_flags(*app.add_subcommand("del", "Removes the key or a range of keys")->alias("delete"),
                p.del);
  app.add_subcommand("txn", "Txn processes all the requests in one transaction")
      ->add_flag("-i,--interactive", p.txn.interactive, "input the transaction interactively");
  auto* compact = app.add_subcommand("compact", "Compacts the event history");
  compact->add_option("revision", p.compact_rev, "revision to compact up to")->required();
  compact->add_flag("--physical", p.physical, "wait until the compaction is physically applied");
  app.add_subcommand("status", "Prints the status of the node");
  app.add_subcommand("defrag", "Defragments the storage of the node");
  app.add_subcommand("hashkv", "Prints the KV history hash")
      ->add_option("--rev", p.hashkv.request.revision, "maximum revision to hash (0: current)");

  auto* snapshot = app.add_subcommand("snapshot", "Manages snapshots")->require_subcommand(1);
  snapshot->add_subcommand("save", "Stores a snapshot of the node to a file")
      ->add_option("file", p.save.file)
      ->required();
  auto* restore = snapshot->add_subcommand("restore", "Restores a snapshot file into a data dir");
  restore->add_option("file", p.restore.file)->required();
  restore->add_option("--data-dir", p.restore.data_dir, "directory to create")->required();
  snapshot
      ->add_subcommand("status", "Checks a snapshot file and prints its hash, revision, keys, size")
      ->add_option("file", p.snapshot_status.file)
      ->required();

  auto* alarm = app.add_subcommand("alarm", "Alarm related commands")->require_subcommand(1);
  alarm->add_subcommand("list", "Lists all alarms");
  alarm->add_subcommand("disarm", "Disarms all alarms");

  auto* lease = app.add_subcommand("lease", "Lease related commands")->require_subcommand(1);
  lease->add_subcommand("grant", "Creates a lease")->add_option("ttl", p.lease_arg)->required();
  lease->add_subcommand("revoke", "Revokes a lease")->add_option("id", p.lease_arg)->required();
  auto* keep = lease->add_subcommand("keep-alive", "Keeps a lease alive");
  keep->add_option("id", p.lease_arg)->required();
  keep->add_flag("--once", p.keep_alive_once, "send one keep-alive and exit");
  auto* ttl = lease->add_subcommand("timetolive", "Gets lease information");
  ttl->add_option("id", p.lease_arg)->required();
  ttl->add_flag("--keys", p.ttl_keys, "get the keys attached to the lease");
  lease->add_subcommand("list", "Lists all active leases");

  auto* watch = app.add_subcommand("watch", "Watches events on a key or prefix");
  watch->add_option("key", p.watch.key)->required();
  watch->add_option_function<std::string>("range_end",
                                          [&p](const std::string& v) { p.watch.range_end = v; });
  watch->add_flag("--prefix", p.watch.prefix, "watch on a prefix");
  watch->add_option("--rev", p.watch.rev, "revision to start watching from");
  watch->add_flag("--prev-kv", p.watch_prev_kv, "get the previous key-value pair of each event");
}

}  // namespace

std::variant<Invocation, ParseExit> parse(const std::vector<std::string>& args) {
  CLI::App app("revkvctl: a command-line client for revkvd (etcdctl v3 style)", "revkvctl");
  Parsed p;
  Global g;
  build(app, p, g);
  auto fail = [](const std::string& message) {
    return ParseExit{1, "", "Error: " + message + "\nRun 'revkvctl --help' for usage.\n"};
  };
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
    return fail(e.what());
  }
  g.format = p.format == "json" ? Format::json : Format::simple;
  auto dial = parse_duration(p.dial_timeout);
  auto command = parse_duration(p.command_timeout);
  if (!dial) return fail("bad --dial-timeout " + p.dial_timeout);
  if (!command) return fail("bad --command-timeout " + p.command_timeout);
  g.dial_timeout = *dial;
  g.command_timeout = *command;
  auto cmd = command_of(app, p);
  if (!cmd) return fail(cmd.error().message);
  return Invocation{std::move(g), std::move(cmd).value()};
}

}  // namespace revkv::ctl
