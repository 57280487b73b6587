#include "apps/revkvctl/cli.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace revkv;
using namespace revkv::ctl;

namespace {

Invocation ok(std::vector<std::string> args) {
  args.insert(args.begin(), "revkvctl");
  auto r = parse(args);
  if (auto* e = std::get_if<ParseExit>(&r)) FAIL("parse failed: " << e->err);
  return std::get<Invocation>(r);
}

ParseExit fails(std::vector<std::string> args) {
  args.insert(args.begin(), "revkvctl");
  auto r = parse(args);
  REQUIRE(std::holds_alternative<ParseExit>(r));
  return std::get<ParseExit>(r);
}

}  // namespace

using Endpoints = std::vector<std::string>;

TEST_CASE("global flags: endpoint, env, write-out, timeouts") {
  ::unsetenv("REVKV_ENDPOINT");
  ::unsetenv("REVKVCTL_ENDPOINTS");
  auto a = ok({"status"});
  CHECK(a.global.endpoints == Endpoints{"127.0.0.1:7379"});
  CHECK(a.global.format == Format::simple);
  CHECK(a.global.command_timeout == std::chrono::seconds(5));

  auto b = ok({"--endpoint", "127.0.0.1:9", "-w", "json", "status"});
  CHECK(b.global.endpoints == Endpoints{"127.0.0.1:9"});
  CHECK(b.global.format == Format::json);

  // etcdctl accepts global flags after the command too.
  auto c = ok({"get", "k", "--write-out=json", "--command-timeout", "250ms"});
  CHECK(c.global.format == Format::json);
  CHECK(c.global.command_timeout == std::chrono::milliseconds(250));

  ::setenv("REVKV_ENDPOINT", "10.0.0.1:1", 1);
  CHECK(ok({"status"}).global.endpoints == Endpoints{"10.0.0.1:1"});
  CHECK(ok({"--endpoint", "h:2", "status"}).global.endpoints == Endpoints{"h:2"});  // flag > env
  ::setenv("REVKVCTL_ENDPOINTS", "a:1,b:2", 1);  // etcdctl's name wins over REVKV_ENDPOINT
  CHECK(ok({"status"}).global.endpoints == Endpoints{"a:1", "b:2"});
  ::unsetenv("REVKVCTL_ENDPOINTS");
  ::unsetenv("REVKV_ENDPOINT");

  CHECK(ok({"--endpoints", "x:1,y:2,,z:3", "get", "k"}).global.endpoints ==
        Endpoints{"x:1", "y:2", "z:3"});
  CHECK(ok({"-w", "table", "status"}).global.format == Format::table);
  CHECK(ok({"-w", "fields", "get", "k"}).global.format == Format::fields);
  auto bad = fails({"-w", "yaml", "status"});
  CHECK(bad.code == kExitBadFeature);
  CHECK(bad.err == "Error: unsupported output format\n");
}

TEST_CASE("REVKVCTL_* variables stand in for the global flags") {
  ::setenv("REVKVCTL_WRITE_OUT", "json", 1);
  ::setenv("REVKVCTL_DIAL_TIMEOUT", "3s", 1);
  ::setenv("REVKVCTL_COMMAND_TIMEOUT", "700ms", 1);
  auto a = ok({"get", "k"});
  CHECK(a.global.format == Format::json);
  CHECK(a.global.dial_timeout == std::chrono::seconds(3));
  CHECK(a.global.command_timeout == std::chrono::milliseconds(700));
  CHECK(ok({"get", "k", "-w", "simple"}).global.format == Format::simple);  // flag > env
  ::unsetenv("REVKVCTL_WRITE_OUT");
  ::unsetenv("REVKVCTL_DIAL_TIMEOUT");
  ::unsetenv("REVKVCTL_COMMAND_TIMEOUT");
}

TEST_CASE("put") {
  auto p = std::get<PutCmd>(ok({"put", "k", "v", "--lease", "1a", "--prev-kv"}).command);
  CHECK(p.request.key == "k");
  CHECK(p.request.value == "v");
  CHECK(p.request.lease == 0x1a);
  CHECK(p.request.prev_kv);
  CHECK_FALSE(p.value_from_stdin);

  CHECK(std::get<PutCmd>(ok({"put", "k"}).command).value_from_stdin);
  auto iv = std::get<PutCmd>(ok({"put", "k", "--ignore-value", "--ignore-lease"}).command);
  CHECK(iv.request.ignore_value);
  CHECK(iv.request.ignore_lease);
  CHECK_FALSE(iv.value_from_stdin);

  auto e = fails({"put", "k", "v", "--ignore-value"});
  CHECK(e.code == kExitBadArgs);
  CHECK(e.err.rfind("Error: put command needs only 1 argument", 0) == 0);
  CHECK(fails({"put", "k", "v", "--lease", "xyz"}).err ==
        "Error: bad lease ID (strconv.ParseInt: parsing \"xyz\": invalid syntax), expecting ID "
        "in Hex\n");
  auto none = fails({"put"});
  CHECK(none.code == kExitBadArgs);
  CHECK(none.err == "Error: put command needs 1 argument and input from stdin or 2 arguments\n");
  CHECK(fails({"put", "a", "b", "c"}).code == kExitBadArgs);
}

TEST_CASE("get: ranges, sorting and flags") {
  auto g = std::get<GetCmd>(ok({"get", "a", "c"}).command).request;
  CHECK(g.key == "a");
  CHECK(g.range_end == "c");

  auto p = std::get<GetCmd>(ok({"get", "foo", "--prefix"}).command).request;
  CHECK(p.range_end == "fop");
  auto all = std::get<GetCmd>(ok({"get", "", "--prefix"}).command).request;
  CHECK(all.key == std::string(1, '\0'));
  CHECK(all.range_end == std::string(1, '\0'));
  auto from = std::get<GetCmd>(ok({"get", "b", "--from-key"}).command).request;
  CHECK(from.range_end == std::string(1, '\0'));

  auto s = std::get<GetCmd>(ok({"get", "a", "--sort-by", "MODIFY", "--order", "descend", "--rev",
                                "7", "--limit", "3", "--keys-only", "--consistency", "s"})
                                .command)
               .request;
  CHECK(s.sort_target == static_cast<int32_t>(storage::SortTarget::mod));
  CHECK(s.sort_order == static_cast<int32_t>(storage::SortOrder::descend));
  CHECK(s.revision == 7);
  CHECK(s.limit == 3);
  CHECK(s.keys_only);
  CHECK(s.serializable);

  // Ascending by key is no sort at all (clientv3.WithSort).
  auto k = std::get<GetCmd>(ok({"get", "a", "--sort-by", "KEY", "--order", "ASCEND"}).command);
  CHECK(k.request.sort_order == 0);

  auto v = std::get<GetCmd>(ok({"get", "a", "--print-value-only", "--count-only"}).command);
  CHECK(v.print_value_only);
  CHECK(v.request.count_only);

  CHECK(fails({"get", "a", "--order", "UP"}).err.rfind("Error: bad sort order UP", 0) == 0);
  CHECK(fails({"get", "a", "--sort-by", "SIZE"}).code == kExitBadFeature);
  CHECK(fails({"get", "a", "b", "--prefix"}).err.find("too many arguments") != std::string::npos);
  CHECK(fails({"get", "a", "--prefix", "--from-key"}).code == kExitBadArgs);
  auto none = fails({"get"});
  CHECK(none.code == kExitBadArgs);
  CHECK(none.err ==
        "Error: get command needs one argument as key and an optional argument as range_end\n");
  CHECK(fails({"get", "a", "b", "c"}).code == kExitBadArgs);
}

TEST_CASE("del, compaction, endpoint, member, version, watch") {
  auto d = std::get<DelCmd>(ok({"del", "p", "--prefix", "--prev-kv"}).command).request;
  CHECK(d.range_end == "q");
  CHECK(d.prev_kv);
  CHECK(std::holds_alternative<DelCmd>(ok({"delete", "k"}).command));

  auto c = std::get<CompactCmd>(ok({"compaction", "12", "--physical"}).command).request;
  CHECK(c.revision == 12);
  CHECK(c.physical);
  CHECK(std::get<CompactCmd>(ok({"compact", "3"}).command).request.revision == 3);  // alias
  auto x = fails({"compaction", "x"});
  CHECK(x.code == kExitError);
  CHECK(x.err == "Error: strconv.ParseInt: parsing \"x\": invalid syntax\n");
  auto two = fails({"compaction", "1", "2"});
  CHECK(two.code == kExitBadArgs);
  CHECK(two.err == "Error: compaction command needs 1 argument\n");

  CHECK(std::get<HashKvCmd>(ok({"hashkv", "--rev", "4"}).command).request.revision == 4);
  auto h = std::get<HashKvCmd>(ok({"endpoint", "hashkv", "--rev", "5", "--cluster"}).command);
  CHECK(h.request.revision == 5);
  CHECK(h.cluster);
  CHECK(std::get<StatusCmd>(ok({"endpoint", "status", "--cluster"}).command).cluster);
  CHECK_FALSE(std::get<StatusCmd>(ok({"endpoint", "status"}).command).cluster);
  CHECK_FALSE(std::get<HealthCmd>(ok({"endpoint", "health"}).command).cluster);
  CHECK(std::holds_alternative<MemberListCmd>(ok({"member", "list"}).command));
  CHECK(std::holds_alternative<VersionCmd>(ok({"version"}).command));

  auto w = std::get<WatchCmd>(ok({"watch", "k", "--prefix", "--rev", "3", "--prev-kv"}).command);
  CHECK(w.request.key == "k");
  CHECK(w.request.range_end == "l");
  CHECK(w.request.start_revision == 3);
  CHECK(w.request.prev_kv);
}

TEST_CASE("lease, alarm, snapshot, txn") {
  CHECK(std::get<LeaseGrantCmd>(ok({"lease", "grant", "60"}).command).ttl == 60);
  CHECK(std::get<LeaseRevokeCmd>(ok({"lease", "revoke", "694d77aa9e38260f"}).command).id ==
        0x694d77aa9e38260f);
  auto ka = std::get<LeaseKeepAliveCmd>(ok({"lease", "keep-alive", "ff", "--once"}).command);
  CHECK(ka.id == 255);
  CHECK(ka.once);
  auto ttl = std::get<LeaseTimeToLiveCmd>(ok({"lease", "timetolive", "a", "--keys"}).command);
  CHECK(ttl.request.id == 10);
  CHECK(ttl.request.keys);
  CHECK(std::holds_alternative<LeaseListCmd>(ok({"lease", "list"}).command));
  CHECK(fails({"lease", "revoke", "zz"}).err ==
        "Error: bad lease ID arg (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting "
        "ID in Hex\n");
  CHECK(fails({"lease", "grant"}).err == "Error: lease grant command needs TTL argument\n");
  CHECK(fails({"lease", "grant"}).code == kExitBadArgs);
  CHECK(fails({"lease", "timetolive"}).err ==
        "Error: lease timetolive command needs lease ID as argument\n");
  // A group without its command prints the group's help, as etcdctl (exit 0).
  auto group = fails({"lease"});
  CHECK(group.code == 0);
  CHECK(group.out.find("keep-alive") != std::string::npos);

  CHECK(std::holds_alternative<AlarmListCmd>(ok({"alarm", "list"}).command));
  CHECK(std::holds_alternative<AlarmDisarmCmd>(ok({"alarm", "disarm"}).command));

  CHECK(std::get<SnapshotSaveCmd>(ok({"snapshot", "save", "s.db"}).command).file == "s.db");
  auto r = std::get<SnapshotRestoreCmd>(
      ok({"snapshot", "restore", "s.db", "--data-dir", "/tmp/x"}).command);
  CHECK(r.data_dir == "/tmp/x");
  CHECK(fails({"snapshot", "restore", "s.db"}).code == 1);
  CHECK(fails({"snapshot", "save"}).code == kExitBadArgs);
  CHECK(std::get<SnapshotStatusCmd>(ok({"snapshot", "status", "s.db"}).command).file == "s.db");
  CHECK(fails({"snapshot", "status"}).err ==
        "Error: snapshot status requires exactly one argument\n");

  CHECK(std::get<TxnCmd>(ok({"txn", "-i"}).command).interactive);
}

TEST_CASE("help exits 0, unknown commands and flags exit 1") {
  auto h = fails({"--help"});
  CHECK(h.code == 0);
  CHECK(h.out.find("Usage:") != std::string::npos);
  auto sub = fails({"get", "--help"});
  CHECK(sub.code == 0);
  CHECK(sub.out.find("--prefix") != std::string::npos);
  CHECK(fails({}).code == 0);  // bare: the help, as etcdctl
  auto unknown = fails({"frobnicate"});
  CHECK(unknown.code == kExitError);
  CHECK(unknown.err ==
        "Error: unknown command \"frobnicate\" for \"revkvctl\"\nRun 'revkvctl --help' for "
        "usage.\nError: unknown command \"frobnicate\" for \"revkvctl\"\n");
  auto bad = fails({"get", "k", "--no-such-flag"});
  CHECK(bad.code == kExitError);
  CHECK(bad.err == "Error: unknown flag: --no-such-flag\n");
}

TEST_CASE("durations and lease ids") {
  CHECK(parse_duration("5s") == std::chrono::seconds(5));
  CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(parse_duration("2m") == std::chrono::minutes(2));
  CHECK(parse_duration("3") == std::chrono::seconds(3));
  CHECK_FALSE(parse_duration("fast"));
  CHECK(parse_lease_id("ffffffffffffffff") == -1);
  CHECK_FALSE(parse_lease_id(""));
}

TEST_CASE("member add|remove|update|promote and move-leader: etcdctl 3.4's arguments") {
  auto add = std::get<MemberAddCmd>(
      ok({"member", "add", "d", "--peer-urls=http://10.0.0.4:2380,http://10.0.0.5:2380",
          "--learner"})
          .command);
  CHECK(add.name == "d");
  CHECK(add.peer_urls == std::vector<std::string>{"http://10.0.0.4:2380", "http://10.0.0.5:2380"});
  CHECK(add.learner);
  CHECK_FALSE(
      std::get<MemberAddCmd>(ok({"member", "add", "d", "--peer-urls", "http://h:1"}).command)
          .learner);
  CHECK(fails({"member", "add"}).err == "Error: member name not provided\n");
  CHECK(fails({"member", "add", "d"}).err == "Error: member peer urls not provided\n");
  auto many = fails({"member", "add", "d", "http://10.0.0.4:2380"});
  CHECK(many.code == kExitBadArgs);
  CHECK(many.err == "Error: too many arguments, did you mean --peer-urls=http://10.0.0.4:2380\n");

  CHECK(std::get<MemberRemoveCmd>(ok({"member", "remove", "8e9e05c52164694d"}).command).id ==
        0x8e9e05c52164694dull);
  CHECK(std::get<MemberPromoteCmd>(ok({"member", "promote", "1f"}).command).id == 0x1f);
  auto update =
      std::get<MemberUpdateCmd>(ok({"member", "update", "a", "--peer-urls=http://h:2"}).command);
  CHECK(update.id == 0xa);
  CHECK(update.peer_urls == std::vector<std::string>{"http://h:2"});
  CHECK(fails({"member", "remove"}).err == "Error: member ID is not provided\n");
  CHECK(fails({"member", "promote", "zz"}).err ==
        "Error: bad member ID arg (strconv.ParseUint: parsing \"zz\": invalid syntax), "
        "expecting ID in Hex\n");
  CHECK(fails({"member", "remove", "fffffffffffffffff"}).err ==
        "Error: bad member ID arg (strconv.ParseUint: parsing \"fffffffffffffffff\": value out "
        "of range), expecting ID in Hex\n");
  CHECK(fails({"member", "update", "a"}).err == "Error: member peer urls not provided\n");

  CHECK(std::get<MoveLeaderCmd>(ok({"move-leader", "abc"}).command).target == 0xabc);
  CHECK(fails({"move-leader"}).err == "Error: move-leader command needs 1 argument\n");
  auto bad = fails({"move-leader", "xyz"});
  CHECK(bad.code == kExitBadArgs);
  CHECK(bad.err == "Error: strconv.ParseUint: parsing \"xyz\": invalid syntax\n");
}
