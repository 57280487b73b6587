// `-w protobuf` beside etcdctl 3.4: the same commands through Debian's etcdctl against a
// real etcd 3.4 and through revkvctl (in process) against revkvd, both fresh. stdout is
// parsed as the message etcdctl marshals for the command and compared field by field once
// what differs by nature is normalized (cluster/member ids, raft terms and lease ids become
// 1 / their grant order where set, so a field set on one side only still differs; member
// peer URLs and client URLs differ by design); stderr and exit codes are compared as text.
// Skipped, not passed, where etcd or etcdctl is missing.

#include "apps/revkvctl/run.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <etcdserverpb/rpc.pb.h>
#include <fstream>
#include <google/protobuf/util/message_differencer.h>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace revkv {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// One server and what identifies it.
struct Side {
  std::string endpoint;
  std::vector<std::string> leases;  // hex, in grant order

  int64_t lease_index(int64_t id) const {
    for (size_t i = 0; i < leases.size(); ++i)
      if (std::stoll(leases[i], nullptr, 16) == id) return static_cast<int64_t>(i) + 1;
    return -1;  // set, but no lease this test granted
  }

  // Ids become 1 where set; lease ids their grant order; URLs as explained at the top.
  void normalize(Message& m) const {
    const auto* d = m.GetDescriptor();
    const auto* r = m.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const std::string& name = f->name();
      if (name == "cluster_id" || name == "member_id" || name == "raft_term" ||
          name == "memberID" || (d->name() == "Member" && name == "ID")) {
        if (r->GetUInt64(m, f) != 0) r->SetUInt64(&m, f, 1);
      } else if (d->name() == "KeyValue" && name == "lease") {
        if (r->GetInt64(m, f) != 0) r->SetInt64(&m, f, lease_index(r->GetInt64(m, f)));
      } else if (name == "peerURLs") {
        r->ClearField(&m, f);
      } else if (name == "clientURLs") {
        for (int j = 0; j < r->FieldSize(m, f); ++j)
          if (r->GetRepeatedString(m, f, j) == "http://" + endpoint)
            r->SetRepeatedString(&m, f, j, "ENDPOINT");
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (f->is_repeated()) {
          for (int j = 0; j < r->FieldSize(m, f); ++j)
            normalize(*r->MutableRepeatedMessage(&m, f, j));
        } else if (r->HasField(m, f)) {
          normalize(*r->MutableMessage(&m, f));
        }
      }
    }
  }

  std::string normalize(std::string text) const {
    auto re = [&](const char* pattern, const char* with) {
      text = std::regex_replace(text, std::regex(pattern), with);
    };
    re(R"(\{"level":"[a-z]+"[^\n]*\n)", "");  // clientv3's retry log lines
    re(R"(\b(etcdctl|revkvctl)\b)", "CTL");
    re(R"(CTL version: \S+)", "CTL version: V");
    re(R"(/\S+/(etcd|revkvd)\.snap)", "SNAPSHOT");
    text = std::regex_replace(text, std::regex("(http://)?" + endpoint), "ENDPOINT");
    re(R"((cluster_id|member_id|raft_term):\d+)", "$1:N");
    for (size_t i = 0; i < leases.size(); ++i)
      text = std::regex_replace(text, std::regex(leases[i]), "LEASE" + std::to_string(i));
    return text;
  }
};

// etcdctl with stdout and stderr apart (protobuf bytes on one, text on the other).
Outcome run_etcdctl(const std::string& bin, const std::string& endpoint, const std::string& args,
                    const std::string& input, const std::string& err_file) {
  const std::string cmd = "printf '%s' '" + input + "' | ETCDCTL_API=3 " + bin +
                          " --endpoints=" + endpoint + " --dial-timeout=5s --command-timeout=10s " +
                          args + " 2>" + err_file;
  Outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  for (size_t n = 0; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    o.out.append(buf.data(), n);
  const int status = ::pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_file, std::ios::binary);
  o.err.assign(std::istreambuf_iterator<char>(err), {});
  return o;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

struct Step {
  std::string args;  // split at spaces
  std::string input;
  // The message stdout holds; nullptr: stdout is text.
  const Message* message = nullptr;
};

}  // namespace

TEST_CASE("revkvctl -w protobuf writes the messages etcdctl 3.4 writes",
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

  auto expand = [&](std::string args, const Side& side) {
    args = replace_all(args, "{SNAP}", dir.sub(&side == &ours ? "revkvd.snap" : "etcd.snap"));
    for (size_t i = 0; i < side.leases.size(); ++i)
      args = replace_all(args, "{LEASE" + std::to_string(i) + "}", side.leases[i]);
    return args;
  };
  // A lease granted in the simple format names its id (the protobuf grant prints only
  // the header).
  auto remember_lease = [](Side& side, const std::string& out) {
    std::smatch m;
    if (std::regex_search(out, m, std::regex("^lease ([0-9a-f]+) granted")))
      side.leases.push_back(m[1]);
  };
  auto run_revkvctl = [&](const Step& step) {
    std::vector<std::string> args{"revkvctl", "--endpoints=" + ours.endpoint};
    std::istringstream words(expand(step.args, ours));
    for (std::string w; words >> w;)
      args.push_back(w);
    std::istringstream in(step.input);
    std::ostringstream out, err;
    Outcome o;
    o.code = ctl::main_with_args(args, in, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  };

  const auto& put = etcdserverpb::PutResponse::default_instance();
  const auto& range = etcdserverpb::RangeResponse::default_instance();
  const auto& del = etcdserverpb::DeleteRangeResponse::default_instance();
  const auto& txn = etcdserverpb::TxnResponse::default_instance();
  const auto& header = etcdserverpb::ResponseHeader::default_instance();
  const auto& members = etcdserverpb::MemberListResponse::default_instance();
  const auto& alarms = etcdserverpb::AlarmResponse::default_instance();
  const auto& watch = etcdserverpb::WatchResponse::default_instance();
  const std::vector<Step> steps = {
      {"put foo bar -w protobuf", "", &put},
      {"put foo baz --prev-kv -w protobuf", "", &put},
      {"put foo2 v2 -w protobuf", "", &put},
      {"get foo --prefix -w protobuf", "", &range},
      {"get foo --prefix --keys-only --limit 1 -w protobuf", "", &range},
      {"get nothing -w protobuf", "", &range},
      {"txn -w protobuf",
       "value(\"foo\") = \"baz\"\n\nput t yes\nget foo --prefix\ndel foo2 --prev-kv\n\nput t "
       "no\n\n",
       &txn},
      {"txn -w protobuf", "mod(\"foo\") > \"1000\"\n\nput t yes\n\nget t\n\n", &txn},
      {"del t --prev-kv -w protobuf", "", &del},
      {"lease grant 100", ""},
      {"put --lease={LEASE0} leased v", ""},
      {"get leased -w protobuf", "", &range},
      {"lease grant 100 -w protobuf", "", &header},
      {"lease timetolive {LEASE0} --keys -w protobuf", "", &header},
      {"lease list -w protobuf", "", &header},
      {"lease keep-alive --once {LEASE0} -w protobuf", "", &header},
      {"lease revoke {LEASE0} -w protobuf", ""},
      {"lease timetolive {LEASE0} -w protobuf", "", &header},
      {"member list -w protobuf", "", &members},
      {"alarm list -w protobuf", "", &alarms},
      {"alarm disarm -w protobuf", "", &alarms},
      {"compaction 5 -w protobuf", ""},
      {"watch foo --rev 2 -w protobuf", "", &watch},
      {"snapshot save {SNAP} -w protobuf", ""},
      {"defrag -w protobuf", ""},
      {"version -w protobuf", ""},
      // Refused after every revision-dependent step (etcdctl sends the request first).
      {"endpoint status -w protobuf", ""},
      {"endpoint health -w protobuf", ""},
      {"endpoint hashkv -w protobuf", ""},
      {"snapshot status {SNAP} -w protobuf", ""},
      {"get foo --print-value-only -w protobuf", ""},
  };
  const std::string err_file = dir.sub("etcdctl.err");
  for (const auto& step : steps) {
    auto expected = run_etcdctl(etcdctl_bin, reference.endpoint, expand(step.args, reference),
                                step.input, err_file);
    auto got = run_revkvctl(step);
    remember_lease(reference, expected.out);
    remember_lease(ours, got.out);
    INFO("step: " << step.args << "\n-- etcdctl/etcd stderr:\n"
                  << expected.err << "-- revkvctl/revkvd stderr:\n"
                  << got.err);
    CHECK(got.code == expected.code);
    CHECK(ours.normalize(got.err) == reference.normalize(expected.err));
    if (!step.message) {
      CHECK(ours.normalize(got.out) == reference.normalize(expected.out));
      continue;
    }
    std::unique_ptr<Message> want(step.message->New());
    std::unique_ptr<Message> have(step.message->New());
    REQUIRE(want->ParseFromString(expected.out));
    REQUIRE(have->ParseFromString(got.out));
    // The bytes are the message's whole encoding: nothing before, after or between.
    CHECK(have->SerializeAsString() == got.out);
    reference.normalize(*want);
    ours.normalize(*have);
    INFO("etcdctl:\n" << want->DebugString() << "revkvctl:\n" << have->DebugString());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(*have, *want));
  }
}

}  // namespace revkv
