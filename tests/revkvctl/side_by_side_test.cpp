// revkvctl beside etcdctl 3.4: one command list run through Debian's etcdctl against a real
// etcd 3.4 (Debian's etcd-server) and through revkvctl (its own code path, in process)
// against revkvd, each server fresh. Outputs (stdout then stderr) and exit codes must be
// equal once what differs by nature or by design is normalized:
//   - ids and times: cluster/member ids, raft terms, lease ids, hashes, `took`;
//   - by design: the program's name and version (`version`), the server version, DB sizes
//     (RocksDB's files, not bbolt's), raft indexes (revkvd counts its own), member peer URLs
//     (revkvd listens for no peers), the endpoints and snapshot files, a snapshot's hash,
//     key count and size (a tar of a RocksDB checkpoint, not a bbolt file);
//   - tables: cell contents are normalized (their values are compared in the simple, json
//     and fields steps of the same command), headers and shape are compared.
// A table refusal is checked only after every revision-dependent step: etcdctl sends the
// request and then refuses to print, revkvctl refuses before sending.
// The user, role and auth commands have their own session (with --user).
// Skipped, not passed, where etcd or etcdctl is missing.

#include "apps/revkvctl/run.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace revkv {
namespace {

struct Step {
  std::string args;  // split at spaces (no quoting needed in the list)
  std::string input;
};

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

std::string re(const std::string& text, const char* pattern, const char* with) {
  return std::regex_replace(text, std::regex(pattern), with);
}

// A table's borders and padding collapsed, its body cells replaced by `C`.
std::string normalize_table(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  bool header_seen = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("+-", 0) == 0) {
      out += re(line, "-+", "-") + "\n";
    } else if (line.rfind("|", 0) == 0) {
      if (header_seen) line = re(line, R"(\|[^|]+(?=\|))", "| C ");
      header_seen = true;
      out += re(line, " +", " ") + "\n";
    } else {
      out += line + "\n";
    }
  }
  return out;
}

// One server and the client that talks to it.
struct Side {
  std::string endpoint;
  std::vector<std::string> leases;  // hex, in grant order

  std::string normalize(std::string out) const {
    // clientv3's retry interceptor logs each refused call with a timestamp.
    out = re(out, R"(\{"level":"[a-z]+"[^\n]*\n)", "");
    out = replace_all(out, "etcdctl", "CTL");
    out = replace_all(out, "revkvctl", "CTL");
    for (size_t i = 0; i < leases.size(); ++i) {
      std::string name = "LEASE" + std::to_string(i);
      out = replace_all(out, leases[i], name);
      out = std::regex_replace(
          out, std::regex("\\b" + std::to_string(std::stoll(leases[i], nullptr, 16)) + "\\b"),
          name);
    }
    out = re(out, R"(/\S+/(etcd|revkvd)\.snap)", "SNAPSHOT");
    out = replace_all(out, "http://" + endpoint, "ENDPOINT");
    out = replace_all(out, endpoint, "ENDPOINT");
    out = re(out, R"(CTL version: \S+)", "CTL version: V");
    out = re(out, R"(("cluster_id"|"member_id"|"raft_term"|"leader"|"ID"|"hash"|"raftTerm"):\d+)",
             "$1:N");
    out = re(out, R"(("ClusterID"|"MemberID"|"RaftTerm"|"Leader"|"ID"|"Hash") : \d+)", "$1 : N");
    out = re(out, R"(("dbSize"|"dbSizeInUse"|"raftIndex"|"raftAppliedIndex"):\d+)", "$1:N");
    out = re(out, R"(("DBSize"|"RaftIndex"|"RaftAppliedIndex") : \d+)", "$1 : N");
    out = re(out, R"("version":"[^"]*")", "\"version\":\"V\"");
    out = re(out, R"("Version" : "[^"]*")", "\"Version\" : \"V\"");
    out = re(out, R"("peerURLs":\[[^\]]*\],?)", "");
    out = re(out, R"("PeerURL" : "[^"]*"\n)", "");
    // (µ is two bytes in UTF-8: an alternative, not a character class.)
    out = re(out, R"([0-9.]+(µs|ms|ns|s)\b)", "T");
    // The simple lines of endpoint status / hashkv / member list.
    out = re(
        out,
        R"(ENDPOINT, [0-9a-f]+, [^,]+, [0-9.]+ [kMG]?B, (true|false), (true|false), \d+, \d+, \d+, )",
        "ENDPOINT, ID, V, SIZE, $1, $2, T, I, I, ");
    out = re(out, R"(ENDPOINT, \d+\n)", "ENDPOINT, HASH\n");
    // snapshot status: the revision is compared; hash, key count (etcd counts its bbolt
    // meta keys too) and file size differ by design.
    out = re(out, R"((^|\n)[0-9a-f]+, (\d+), \d+, [0-9.]+ [kMG]?B\n)", "$1HASH, $2, KEYS, SIZE\n");
    out = re(out, R"(("totalKey"|"totalSize"):\d+)", "$1:N");
    out = re(out, R"(("Keys"|"Size") : \d+)", "$1 : N");
    out = re(out, R"(memberID:\d+ )", "memberID:N ");
    out = re(out, R"("memberID":\d+)", "\"memberID\":N");
    out = re(out, R"([0-9a-f]{8,16}, started, default, [^,]*, ENDPOINT)",
             "ID, started, default, PEERS, ENDPOINT");
    return normalize_table(out);
  }
};

struct Outcome {
  int code;
  std::string out;
};

}  // namespace

TEST_CASE("revkvctl prints what etcdctl 3.4 prints against etcd 3.4",
          "[revkvctl][node][reference]") {
  auto etcdctl_bin = testing::etcdctl_or_skip();
  if (etcdctl_bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});
  Side reference{etcd.endpoint(), {}};
  Side ours{revkvd.endpoint(), {}};

  // Each side saves its snapshot to its own file.
  const std::string etcd_snapshot = dir.sub("etcd.snap");
  const std::string revkvd_snapshot = dir.sub("revkvd.snap");
  auto with_leases = [&](std::string args, const Side& side) {
    args = replace_all(args, "{SNAP}", &side == &ours ? revkvd_snapshot : etcd_snapshot);
    for (size_t i = 0; i < side.leases.size(); ++i)
      args = replace_all(args, "{LEASE" + std::to_string(i) + "}", side.leases[i]);
    return args;
  };
  auto remember_lease = [](Side& side, const std::string& out) {
    std::smatch m;
    if (std::regex_search(out, m, std::regex("^lease ([0-9a-f]+) granted")))
      side.leases.push_back(m[1]);
  };
  auto run_etcdctl = [&](const Step& step) {
    auto r = testing::etcdctl(etcdctl_bin, reference.endpoint, with_leases(step.args, reference),
                              step.input);
    remember_lease(reference, r.out);
    return Outcome{r.status, r.out};
  };
  auto run_revkvctl = [&](const Step& step) {
    std::vector<std::string> args{"revkvctl", "--endpoints=" + ours.endpoint};
    for (auto& w : words(with_leases(step.args, ours)))
      args.push_back(w);
    std::istringstream in(step.input);
    // One stream for both, as etcdctl's 2>&1: the order of lines is compared too.
    std::ostringstream out;
    int code = ctl::main_with_args(args, in, out, out);
    remember_lease(ours, out.str());
    return Outcome{code, out.str()};
  };

  const std::vector<Step> steps = {
      {"put foo bar", ""},
      {"put foo baz --prev-kv", ""},
      {"put foo baz2 --prev-kv -w json", ""},
      {"put foo baz3 --prev-kv -w fields", ""},
      {"put foo2 v2", ""},
      {"get foo", ""},
      {"get foo --prefix -w json", ""},
      {"get foo --prefix -w fields", ""},
      {"get foo --prefix --keys-only", ""},
      {"txn", "value(\"foo\") = \"baz3\"\n\nput t yes\nget foo\n\nput t no\n\n"},
      {"txn -w json", "mod(\"foo\") > \"1000\"\n\nput t yes\n\nput t no\ndel nothing\n\n"},
      {"txn -w fields", "version(\"t\") = \"1\"\n\nget t\ndel t --prev-kv\n\nput x y\n\n"},
      {"del foo2 --prev-kv", ""},
      {"put d1 1", ""},
      {"del d1 -w json", ""},
      {"put d2 1", ""},
      {"del d2 --prev-kv -w fields", ""},
      {"endpoint status", ""},
      {"endpoint status -w json", ""},
      {"endpoint status -w fields", ""},
      {"endpoint status -w table", ""},
      {"endpoint status --cluster", ""},
      {"endpoint health -w json", ""},
      {"endpoint health -w fields", ""},
      {"endpoint health -w table", ""},
      {"endpoint health", ""},
      {"endpoint hashkv", ""},
      {"endpoint hashkv -w json", ""},
      {"endpoint hashkv -w fields", ""},
      {"endpoint hashkv -w table", ""},
      {"member list", ""},
      {"member list -w json", ""},
      {"member list -w fields", ""},
      {"member list -w table", ""},
      {"lease grant 100", ""},
      {"put --lease={LEASE0} leased v", ""},
      {"lease timetolive {LEASE0} --keys", ""},
      {"lease timetolive {LEASE0} --keys -w json", ""},
      {"lease timetolive {LEASE0} --keys -w fields", ""},
      {"lease list", ""},
      {"lease list -w json", ""},
      {"lease list -w fields", ""},
      {"lease keep-alive --once {LEASE0} -w json", ""},
      {"lease keep-alive --once {LEASE0} -w fields", ""},
      {"lease revoke {LEASE0}", ""},
      {"lease grant 50 -w json", ""},
      {"lease grant 50 -w fields", ""},
      {"lease timetolive {LEASE0}", ""},
      {"alarm list", ""},
      {"alarm list -w json", ""},
      {"alarm disarm", ""},
      {"alarm disarm -w json", ""},
      {"compaction 100", ""},
      {"compaction 5", ""},
      {"compaction 6 -w json", ""},
      {"compaction 7 --physical -w table", ""},
      {"compaction 7", ""},
      {"watch foo --rev 2", ""},
      {"watch foo --rev 2 -w json", ""},
      {"snapshot save {SNAP}", ""},
      {"snapshot status {SNAP}", ""},
      {"snapshot status {SNAP} -w json", ""},
      {"snapshot status {SNAP} -w fields", ""},
      {"snapshot status {SNAP} -w table", ""},
      {"defrag", ""},
      {"version", ""},
      // Bad arguments and formats, after every revision-dependent step.
      {"get", ""},
      {"put", ""},
      {"compaction", ""},
      {"compaction x", ""},
      {"lease grant", ""},
      {"lease timetolive zz", ""},
      {"-w bogus get foo", ""},
      {"get foo -w table", ""},
      {"lease list -w table", ""},
      // etcdctl prints the unknown command's error twice (cobra's, then its own).
      {"frobnicate", ""},
      // txn input that ends before the failure section's blank line: `Error: EOF`, exit 3.
      {"txn", ""},
      {"txn", "value(\"foo\") = \"baz3\""},
      {"txn", "value(\"foo\") = \"baz3\"\n\n"},
      {"txn", "value(\"foo\") = \"baz3\"\n\nput t yes\n"},
      {"txn", "value(\"foo\") = \"baz3\"\n\nput t yes\n\nput t no\n"},
      {"txn -i", "value(\"foo\") = \"baz3\"\n\nput t yes\n\n"},
  };
  for (const auto& step : steps) {
    auto expected = run_etcdctl(step);
    auto got = run_revkvctl(step);
    INFO("step: " << step.args << "\n-- etcdctl/etcd:\n"
                  << expected.out << "-- revkvctl/revkvd:\n"
                  << got.out);
    CHECK(got.code == expected.code);
    CHECK(ours.normalize(got.out) == reference.normalize(expected.out));
  }
  // Both saved owner-only.
  const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK(std::filesystem::status(etcd_snapshot).permissions() == owner_only);
  CHECK(std::filesystem::status(revkvd_snapshot).permissions() == owner_only);
}

// etcdctl 3.4's health check is a read of the key "health" and nothing else: a member
// whose NOSPACE alarm is raised still serves it and is healthy (etcdctl 3.5 added an alarm
// check). Both servers get a small quota and are filled until a put is refused.
TEST_CASE("revkvctl endpoint health with the NOSPACE alarm raised, beside etcdctl 3.4",
          "[revkvctl][node][reference][quota]") {
  auto etcdctl_bin = testing::etcdctl_or_skip();
  if (etcdctl_bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"), {"--quota-backend-bytes=300000"});
  // tests/node's quota case: RocksDB needs a few MB before its files are counted.
  testing::NodeProcess revkvd(
      dir.sub("revkvd"), {"--sync", "never", "--quota-backend-bytes", "3000000", "--shards", "2"});
  Side reference{etcd.endpoint(), {}};
  Side ours{revkvd.endpoint(), {}};
  auto run_etcdctl = [&](const std::string& args) {
    auto r = testing::etcdctl(etcdctl_bin, reference.endpoint, args);
    return Outcome{r.status, r.out};
  };
  auto run_revkvctl = [&](const std::string& args) {
    std::vector<std::string> argv{"revkvctl", "--endpoints=" + ours.endpoint};
    for (auto& w : words(args))
      argv.push_back(w);
    std::istringstream in;
    std::ostringstream out;
    int code = ctl::main_with_args(argv, in, out, out);
    return Outcome{code, out.str()};
  };
  // How many puts fill each differs by design (bbolt pages, RocksDB files): not compared.
  const std::string value(64 * 1024, 'x');
  auto fill = [&](auto&& run) {
    for (int i = 0; i < 200; ++i)
      if (run("put k" + std::to_string(i % 8) + " " + value).code != 0) return true;
    return false;
  };
  REQUIRE(fill(run_etcdctl));
  REQUIRE(fill(run_revkvctl));

  for (const std::string args :
       {"put t 1", "alarm list", "alarm list -w json", "get health", "endpoint health",
        "endpoint health -w json", "endpoint health -w fields", "endpoint health -w table"}) {
    auto expected = run_etcdctl(args);
    auto got = run_revkvctl(args);
    INFO("step: " << args << "\n-- etcdctl/etcd:\n"
                  << expected.out << "-- revkvctl/revkvd:\n"
                  << got.out);
    CHECK(got.code == expected.code);
    CHECK(ours.normalize(got.out) == reference.normalize(expected.out));
  }
}

// Users, roles and auth: the same session of user, role and auth commands, with and
// without permission, through etcdctl against etcd 3.4 and through revkvctl (the
// MessagePack door's Auth.* methods and tokens) against revkvd. (`auth status` is etcdctl
// 3.5's: not compared; tests/node/msgpack_auth_test.cpp checks what it prints.)
TEST_CASE("revkvctl user, role and auth commands print what etcdctl 3.4 prints against etcd 3.4",
          "[revkvctl][node][reference][auth]") {
  auto etcdctl_bin = testing::etcdctl_or_skip();
  if (etcdctl_bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});
  Side reference{etcd.endpoint(), {}};
  Side ours{revkvd.endpoint(), {}};
  auto run_etcdctl = [&](const Step& step) {
    auto r = testing::etcdctl(etcdctl_bin, reference.endpoint, step.args, step.input);
    return Outcome{r.status, r.out};
  };
  auto run_revkvctl = [&](const Step& step) {
    std::vector<std::string> args{"revkvctl", "--endpoints=" + ours.endpoint};
    for (auto& w : words(step.args))
      args.push_back(w);
    std::istringstream in(step.input);
    std::ostringstream out;
    int code = ctl::main_with_args(args, in, out, out);
    return Outcome{code, out.str()};
  };

  const std::string root = "--user root:rootpw ";
  const std::vector<Step> steps = {
      {"put k1 v1", ""},
      {"put /app/a va", ""},
      {"put m1 vm", ""},
      {"auth enable", ""},  // no root user yet
      {"user add root:rootpw", ""},
      {"user add root:other", ""},
      {"user grant-role root root -w json", ""},
      {"role add reader", ""},
      {"role add reader", ""},
      {"role grant-permission reader read k1", ""},
      {"role grant-permission --prefix reader read /app/", ""},
      {"role grant-permission --from-key reader readwrite m", ""},
      {"role grant-permission reader write a c -w json", ""},
      {"role grant-permission reader READ z a", ""},  // inverted: stored, grants nothing
      {"role grant-permission reader bogus k", ""},
      {"role grant-permission reader read k e --prefix", ""},
      {"role grant-permission reader read k --prefix --from-key", ""},
      {"role get reader", ""},
      {"role get reader -w json", ""},
      {"role get reader -w fields", ""},
      {"role get nosuch", ""},
      {"role list", ""},
      {"role list -w json", ""},
      {"user add alice --interactive=false", "apw\n"},
      {"user add bob:bpw -w json", ""},
      {"user add carol --no-password", ""},
      {"user grant-role alice reader", ""},
      {"user grant-role alice nosuch", ""},
      {"user grant-role nobody reader", ""},
      {"user get alice", ""},
      {"user get alice -w json", ""},
      {"user get nosuch", ""},
      {"user list", ""},
      {"user list -w json", ""},
      {"user list -w fields", ""},
      {"user add", ""},
      {"user grant-role alice", ""},
      {"role revoke-permission reader", ""},
      {"auth enable x", ""},
      {"auth enable", ""},
      // Anonymous, then alice within and beyond her role, then a wrong password.
      {"get k1", ""},
      {"user list", ""},
      {"--user alice:apw get k1", ""},
      {"--user alice:apw get /app/ --prefix -w json", ""},
      {"--user alice:apw get m1", ""},
      {"--user alice:apw put m2 x", ""},
      {"--user alice:apw put k1 x", ""},
      {"--user alice:apw get z", ""},
      {"--user alice:apw del k1", ""},
      {"--user alice --password apw get k1", ""},
      {"--user alice:apw user list", ""},
      {"--user alice:apw user get alice", ""},
      {"--user alice:apw role get reader", ""},
      {"--user alice:apw role get root", ""},
      {"--user alice:nope get k1", ""},
      {"--user nobody:x get k1", ""},
      {"--user carol:x get k1", ""},
      // root changes things; alice's rights follow.
      {root + "user passwd alice --interactive=false", "apw2\n"},
      {"--user alice:apw get k1", ""},
      {"--user alice:apw2 get k1", ""},
      {root + "role revoke-permission reader k1", ""},
      {root + "role revoke-permission reader k1", ""},
      {"--user alice:apw2 get k1", ""},
      {root + "role revoke-permission reader /app/ --prefix -w json", ""},
      {root + "role revoke-permission reader m --from-key", ""},
      {root + "role revoke-permission reader a c", ""},
      {root + "role get reader", ""},
      {root + "user revoke-role alice reader", ""},
      {root + "user revoke-role alice reader", ""},
      {root + "user get alice", ""},
      {root + "user delete bob", ""},
      {root + "user delete bob -w json", ""},
      {root + "role delete reader", ""},
      {root + "user list", ""},
      {root + "role list", ""},
      {root + "get k1", ""},
      {root + "auth disable", ""},
      // With auth off, --user's "authentication is not enabled" is ignored, as clientv3 does.
      {root + "get k1", ""},
      {"auth disable -w json", ""},
      {"user list", ""},
  };
  for (const auto& step : steps) {
    auto expected = run_etcdctl(step);
    auto got = run_revkvctl(step);
    INFO("step: " << step.args << "\n-- etcdctl/etcd:\n"
                  << expected.out << "-- revkvctl/revkvd:\n"
                  << got.out);
    CHECK(got.code == expected.code);
    CHECK(ours.normalize(got.out) == reference.normalize(expected.out));
  }
}

}  // namespace revkv
