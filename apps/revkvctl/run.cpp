#include "apps/revkvctl/run.hpp"

#include "apps/revkvctl/auth_commands.hpp"
#include "apps/revkvctl/auth_output.hpp"
#include "apps/revkvctl/endpoint_output.hpp"
#include "apps/revkvctl/output.hpp"
#include "apps/revkvctl/protobuf.hpp"
#include "apps/revkvctl/snapshot.hpp"
#include "apps/revkvctl/txn_input.hpp"
#include "client/client.hpp"

#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

namespace revkv::ctl {
namespace {

using client::Client;
using protocol::WireError;

// The project's version (CMake's project(VERSION)); the API is etcd 3.4's.
constexpr const char* kVersion = "0.1.0";

// Commands that print through etcdctl's printer get its format checks; the others
// (compaction, defrag, snapshot save/restore, version) print their line in every format.
bool prints_plain_text(const Command& c) {
  return std::holds_alternative<CompactCmd>(c) || std::holds_alternative<DefragCmd>(c) ||
         std::holds_alternative<SnapshotSaveCmd>(c) ||
         std::holds_alternative<SnapshotRestoreCmd>(c) || std::holds_alternative<VersionCmd>(c);
}
// etcdctl's lists of endpoints and the snapshot status have no protobuf message.
bool prints_list(const Command& c) {
  return std::holds_alternative<StatusCmd>(c) || std::holds_alternative<HealthCmd>(c) ||
         std::holds_alternative<HashKvCmd>(c) || std::holds_alternative<SnapshotStatusCmd>(c);
}
bool prints_table(const Command& c) {
  return prints_list(c) || std::holds_alternative<MemberListCmd>(c);
}
// member add|remove|update|promote and move-leader print their simple lines or the JSON
// response only.
bool prints_simple_or_json(const Command& c) {
  return std::holds_alternative<MemberAddCmd>(c) || std::holds_alternative<MemberRemoveCmd>(c) ||
         std::holds_alternative<MemberUpdateCmd>(c) ||
         std::holds_alternative<MemberPromoteCmd>(c) || std::holds_alternative<MoveLeaderCmd>(c);
}

// etcdctl's refusal of a format a command has no printer for (exit 4), checked before the
// request is sent (etcdctl sends it, then refuses to print its answer).
std::optional<std::string> unsupported_format(const Command& c, Format f) {
  if (prints_plain_text(c)) return std::nullopt;
  if (prints_simple_or_json(c) && f != Format::simple && f != Format::json)
    return std::string(f == Format::table      ? "table"
                       : f == Format::protobuf ? "protobuf"
                                               : "fields") +
           " not supported as output format";
  if (f == Format::table && !prints_table(c)) return "table not supported as output format";
  if (f == Format::protobuf && prints_list(c)) return "protobuf not supported as output format";
  return std::nullopt;
}

const char* format_name(Format f) {
  switch (f) {
    case Format::simple:
      return "simple";
    case Format::json:
      return "json";
    case Format::fields:
      return "fields";
    case Format::table:
      return "table";
    case Format::protobuf:
      return "protobuf";
  }
  return "";
}

// What one command does with the connection; returns the text to print or an error.
class Runner {
 public:
  Runner(const Global& g, std::istream& in, std::ostream& out, std::ostream& err,
         std::stop_token stop)
      : g_(g), stop_(std::move(stop)), in_(in), out_(out), err_(err) {}

  int operator()(const PutCmd& c) {
    storage::PutRequest r = c.request;
    if (c.value_from_stdin) r.value.assign(std::istreambuf_iterator<char>(in_), {});
    return print(connect(), [&](Client& cl) { return map(cl.put(r), format_put); });
  }
  int operator()(const GetCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.range(c.request);
      if (!r) return result(r.error());
      // etcdctl checks this once the answer is there (exit 128).
      if (c.print_value_only && g_.format != Format::simple)
        return refuse("print-value-only is only for `--write-out=simple`", kExitBadArgs);
      return result(format_get(r.value(), g_.format, c.print_value_only, c.request.count_only));
    });
  }
  int operator()(const DelCmd& c) {
    return print(connect(),
                 [&](Client& cl) { return map(cl.delete_range(c.request), format_del); });
  }
  int operator()(const TxnCmd& c) {
    auto txn = read_txn(in_, c.interactive ? &out_ : nullptr);
    if (!txn) return fail(txn.error(), kExitInvalidInput);
    return print(connect(), [&](Client& cl) { return map(cl.txn(txn.value()), format_txn); });
  }
  int operator()(const CompactCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.compact(c.request);
      if (!r) return result(r.error());
      return result(format_compact(c.request.revision, r.value(), g_.format));
    });
  }
  int operator()(const StatusCmd& c);
  int operator()(const HealthCmd& c);
  int operator()(const HashKvCmd& c);
  int operator()(const MemberListCmd&) {
    return print(connect(), [&](Client& cl) {
      auto r = member_list(cl);
      if (!r) return result(r.error());
      return result(format_member_list(r.value(), g_.format));
    });
  }
  int operator()(const MemberAddCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.member_add(protocol::MemberAddRequest{c.peer_urls, c.learner});
      if (!r) return result(r.error());
      // The members after the change as the leader answered them (a follower's own list may
      // not have the new member yet).
      return result(format_member_add(to_list(r.value().header, r.value().members),
                                      to_member(r.value().member), c.name, g_.format));
    });
  }
  int operator()(const MemberRemoveCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.member_remove(c.id);
      if (!r) return result(r.error());
      return result(format_member_changed("removed from", c.id,
                                          to_list(r.value().header, r.value().members), g_.format));
    });
  }
  int operator()(const MemberUpdateCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.member_update(protocol::MemberUpdateRequest{c.id, c.peer_urls});
      if (!r) return result(r.error());
      return result(format_member_changed("updated in", c.id,
                                          to_list(r.value().header, r.value().members), g_.format));
    });
  }
  int operator()(const MemberPromoteCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.member_promote(c.id);
      if (!r) return result(r.error());
      return result(format_member_changed("promoted in", c.id,
                                          to_list(r.value().header, r.value().members), g_.format));
    });
  }
  int operator()(const MoveLeaderCmd& c);
  int operator()(const VersionCmd&) {
    out_ << "revkvctl version: " << kVersion << "\nAPI version: 3.4\n";
    return kExitSuccess;
  }
  int operator()(const DefragCmd&) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.defragment();
      if (!r) return result(r.error());
      return result(format_defrag(connected_, g_.format));
    });
  }
  int operator()(const SnapshotSaveCmd& c) {
    return print(connect(0), [&](Client& cl) {
      auto r = save_snapshot(cl, c.file);
      if (!r) return result(r.error());
      return result(format_snapshot_saved(c.file));
    });
  }
  int operator()(const SnapshotStatusCmd& c) {
    auto r = snapshot_status(c.file);
    if (!r) return fail(r.error());
    out_ << format_snapshot_status(r.value(), g_.format) << std::flush;
    return kExitSuccess;
  }
  int operator()(const SnapshotRestoreCmd& c) {
    auto r = restore_snapshot(c.file, c.data_dir);
    if (!r) return fail(r.error());
    out_ << "Snapshot restored to " << c.data_dir << "\n";
    return 0;
  }
  int operator()(const AlarmListCmd&) {
    return print(connect(), [&](Client& cl) {
      return map(cl.alarm(protocol::AlarmRequest{}), format_alarms);
    });
  }
  int operator()(const AlarmDisarmCmd&) {
    // clientv3's AlarmDisarm with no member/alarm: list, then deactivate each one.
    return print(connect(), [&](Client& cl) {
      auto list = cl.alarm(protocol::AlarmRequest{});
      if (!list) return result(list.error());
      protocol::AlarmResponse all;
      all.header = list.value().header;
      for (const auto& a : list.value().alarms) {
        auto d = cl.alarm(
            protocol::AlarmRequest{protocol::AlarmAction::deactivate, a.member_id, a.alarm});
        if (!d) return result(d.error());
        all.alarms.insert(all.alarms.end(), d.value().alarms.begin(), d.value().alarms.end());
      }
      return result(format_alarms(all, g_.format));
    });
  }
  int operator()(const LeaseGrantCmd& c) {
    return print(connect(), [&](Client& cl) {
      return map(cl.lease_grant(protocol::LeaseGrantRequest{c.ttl, 0}), format_lease_grant);
    });
  }
  int operator()(const LeaseRevokeCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.lease_revoke(protocol::LeaseRevokeRequest{c.id});
      if (!r) return result(r.error());
      // etcdctl has no message to marshal for it and fails once the lease is revoked.
      if (g_.format == Format::protobuf)
        return refuse(revoke_unsupported(r.value()), kExitBadFeature);
      return result(format_lease_revoke(c.id, r.value(), g_.format));
    });
  }
  int operator()(const LeaseKeepAliveCmd& c);
  int operator()(const LeaseTimeToLiveCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.lease_time_to_live(c.request);
      if (!r) return result(r.error());
      return result(format_time_to_live(r.value(), c.request.keys, g_.format));
    });
  }
  int operator()(const LeaseListCmd&) {
    return print(connect(), [&](Client& cl) { return map(cl.lease_leases(), format_leases); });
  }
  int operator()(const WatchCmd& c);
  int operator()(const AuthAdminCmd& c) {
    std::string password;
    if (auto p = new_password(c, in_, out_)) {
      if (!p->ok()) return fail(p->error(), static_cast<int>(p->error().code));
      password = p->value();
    }
    return print(connect(), [&](Client& cl) -> Text {
      auto r = run_auth_admin(cl, c, password);
      if (!r) return result(r.error());
      auto text = format_auth(c, r.value(), g_.format);
      // etcdctl has no printer for it in this format (checked after the call, as etcdctl).
      if (!text)
        return refuse(std::string(format_name(g_.format)) + " not supported as output format",
                      kExitBadFeature);
      return result(*text);
    });
  }

 private:
  enum class StreamEnd { canceled, broken, stopped };
  StreamEnd watch_stream(Client& cl, protocol::WatchCreateRequest request, int64_t& next_revision);

  using Text = client::Result<std::string>;
  static Text result(std::string s) { return s; }
  static Text result(const WireError& e) { return e; }
  // An answer etcdctl refuses to print, with its exit code instead of kExitError.
  Text refuse(std::string message, int exit_code) {
    refusal_exit_ = exit_code;
    return WireError{0, std::move(message)};
  }

  template <class R, class F>
  Text map(R r, F format) {
    if (!r) return r.error();
    return format(r.value(), g_.format);
  }

  client::ClientOptions options(int64_t timeout_ms) const {
    client::ClientOptions o;
    o.connect_timeout = g_.dial_timeout;
    o.tls = g_.tls;
    o.request_timeout = timeout_ms < 0 ? g_.command_timeout : std::chrono::milliseconds(timeout_ms);
    return o;
  }

  // The first endpoint of --endpoints that accepts the connection (etcdctl's balancer
  // fails over the same way); the last failure when none does.
  // timeout_ms < 0: the command timeout; 0: none (streams).
  client::Result<Client> connect(int64_t timeout_ms = -1) {
    std::optional<WireError> last;
    for (const auto& endpoint : g_.endpoints) {
      auto c = Client::connect(endpoint, options(timeout_ms));
      if (c) {
        connected_ = endpoint;
        if (auto refused = authenticate(c.value())) return *refused;
        return c;
      }
      last = c.error();
    }
    return *last;
  }

  // --user: Authenticate first, as etcd's client does when it is created; the token then
  // goes with every request of the connection. A refusal fails the command as etcdctl's
  // failed client creation does (exit 2), except etcd's "authentication is not enabled",
  // which clientv3 ignores (the command runs without a token).
  std::optional<WireError> authenticate(Client& c) {
    if (!g_.user) return std::nullopt;
    std::string name = *g_.user;
    std::string password;
    if (g_.password) {
      password = *g_.password;
    } else if (auto colon = name.find(':'); colon != std::string::npos) {
      password = name.substr(colon + 1);
      name.resize(colon);
    } else {
      if (!password_read_) {
        out_ << "Password: " << std::flush;
        prompted_password_ = read_password_line(in_);
        password_read_ = true;
      }
      password = prompted_password_;
    }
    auto r = c.authenticate(name, password);
    if (r || r.error().message == "etcdserver: authentication is not enabled") return std::nullopt;
    connect_exit_ = kExitBadConnection;
    return r.error();
  }

  static Member to_member(const protocol::ClusterMember& m) {
    return Member{m.id, m.name, m.peer_urls, m.client_urls, m.is_learner};
  }
  static MemberList to_list(const protocol::ResponseHeader& header,
                            const std::vector<protocol::ClusterMember>& members) {
    MemberList list{header, {}};
    for (const auto& m : members)
      list.members.push_back(to_member(m));
    return list;
  }

  // Cluster.MemberList: every member, with the MessagePack door's URLs as client URLs (etcd
  // lists its gRPC URLs). A single node lists itself, named "default", without peer URLs.
  client::Result<MemberList> member_list(Client& cl) {
    auto r = cl.member_list();
    if (!r) return r.error();
    return to_list(r.value().header, r.value().members);
  }

  // The endpoints an endpoint command asks: --endpoints, or with --cluster the client URLs
  // of the member list.
  client::Result<std::vector<std::string>> endpoints_of(bool cluster) {
    if (!cluster) return g_.endpoints;
    auto c = connect();
    if (!c) return c.error();
    auto list = member_list(c.value());
    if (!list) return list.error();
    std::vector<std::string> urls;
    for (const auto& m : list.value().members)
      urls.insert(urls.end(), m.client_urls.begin(), m.client_urls.end());
    return urls;
  }

  client::Result<Client> connect_to(const std::string& endpoint) {
    auto c = Client::connect(endpoint, options(-1));
    if (!c) return c;
    if (auto refused = authenticate(c.value())) return *refused;
    return c;
  }

  int fail(const WireError& e, int code = kExitError) {
    // etcd 3.4's untranslated auth store errors (code Unknown, "auth: ...") are no etcd
    // error clientv3 knows: etcdctl prints them as grpc-go's status text.
    constexpr int64_t kUnknown = 2;
    if (e.code == kUnknown && e.message.rfind("auth: ", 0) == 0) {
      err_ << "Error: rpc error: code = Unknown desc = " << e.message << "\n";
      return code;
    }
    err_ << "Error: " << e.message << "\n";
    return code;
  }

  template <class F>
  int print(client::Result<Client> c, F&& body) {
    if (!c) return fail(c.error(), connect_exit_);
    Text t = body(c.value());
    if (!t) return fail(t.error(), refusal_exit_);
    out_ << t.value() << std::flush;
    return 0;
  }

  const Global& g_;
  std::stop_token stop_;           // ends a watch (tests; the program ends by SIGINT)
  std::string connected_;          // the endpoint connect() reached
  int refusal_exit_ = kExitError;  // set by refuse()
  int connect_exit_ = kExitError;  // kExitBadConnection once --user was refused
  bool password_read_ = false;     // --user NAME: the password asked once
  std::string prompted_password_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
};

int Runner::operator()(const LeaseKeepAliveCmd& c) {
  auto conn = connect();
  if (!conn) return fail(conn.error());
  Client& cl = conn.value();
  for (;;) {
    auto r = cl.lease_keep_alive(protocol::LeaseKeepAliveRequest{c.id});
    if (!r) return fail(r.error());
    if (r.value().ttl <= 0) {
      // KeepAliveOnce reports a gone lease as an error; the loop just ends (etcdctl).
      if (c.once) return fail(WireError{5, "etcdserver: requested lease not found"});
      out_ << format_keep_alive(r.value(), g_.format) << std::flush;
      return 0;
    }
    out_ << format_keep_alive(r.value(), g_.format) << std::flush;
    if (c.once) return 0;
    // clientv3 renews every TTL/3.
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::max<int64_t>(r.value().ttl * 1000 / 3, 500)));
  }
}

// clientv3's WatchResponse.Err(): a compaction, the server's reason, or a future revision.
std::string cancel_reason(const protocol::WatchResponse& w) {
  if (w.compact_revision != 0) return "etcdserver: mvcc: required revision has been compacted";
  if (!w.cancel_reason.empty()) return w.cancel_reason;
  return "etcdserver: mvcc: required revision is a future revision";
}

int Runner::operator()(const StatusCmd& c) {
  auto endpoints = endpoints_of(c.cluster);
  if (!endpoints) return fail(endpoints.error());
  std::vector<EndpointStatus> list;
  bool failed = false;
  for (const auto& endpoint : endpoints.value()) {
    auto conn = connect_to(endpoint);
    auto r = conn ? conn.value().status() : client::Result<protocol::StatusResponse>(conn.error());
    if (!r) {
      err_ << "Failed to get the status of endpoint " << endpoint << " (" << r.error().message
           << ")\n";
      failed = true;
      continue;
    }
    list.push_back(EndpointStatus{endpoint, r.value()});
  }
  out_ << format_endpoint_status(list, g_.format) << std::flush;
  return failed ? kExitError : kExitSuccess;
}

// etcdctl's move-leader: asks every endpoint's status, sends the transfer to the one that
// leads (a member that does not lead refuses it, as etcd's).
int Runner::operator()(const MoveLeaderCmd& c) {
  std::optional<std::pair<std::string, uint64_t>> leader;
  for (const auto& endpoint : g_.endpoints) {
    auto conn = connect_to(endpoint);
    if (!conn) return fail(conn.error());
    auto s = conn.value().status();
    if (!s) return fail(s.error());
    if (s.value().header.member_id == s.value().leader) leader = {endpoint, s.value().leader};
  }
  if (!leader) {
    std::string list;
    for (const auto& e : g_.endpoints)
      list += (list.empty() ? "" : " ") + e;
    return fail(WireError{0, "no leader endpoint given at [" + list + "]"}, kExitBadArgs);
  }
  auto conn = connect_to(leader->first);
  if (!conn) return fail(conn.error());
  auto r = conn.value().move_leader(c.target);
  if (!r) return fail(r.error());
  out_ << format_move_leader(leader->second, c.target, r.value().header, g_.format) << std::flush;
  return kExitSuccess;
}

int Runner::operator()(const HashKvCmd& c) {
  auto endpoints = endpoints_of(c.cluster);
  if (!endpoints) return fail(endpoints.error());
  std::vector<EndpointHash> list;
  std::optional<WireError> error;
  for (const auto& endpoint : endpoints.value()) {
    auto conn = connect_to(endpoint);
    auto r = conn ? conn.value().hash_kv(c.request)
                  : client::Result<protocol::HashKVResponse>(conn.error());
    if (!r) {
      err_ << "Failed to get the hash of endpoint " << endpoint << " (" << r.error().message
           << ")\n";
      error = r.error();
      continue;
    }
    list.push_back(EndpointHash{endpoint, r.value()});
  }
  out_ << format_endpoint_hashkv(list, g_.format) << std::flush;
  return error ? fail(*error) : kExitSuccess;
}

int Runner::operator()(const HealthCmd& c) {
  auto endpoints = endpoints_of(c.cluster);
  if (!endpoints) return fail(endpoints.error());
  std::vector<EndpointHealth> list;
  bool unhealthy = false;
  for (const auto& endpoint : endpoints.value()) {
    // etcdctl's check: a linearizable read of the key "health" commits through the
    // leader.
    EndpointHealth h{endpoint, false, 0, ""};
    const auto start = std::chrono::steady_clock::now();
    auto conn = connect_to(endpoint);
    storage::RangeRequest probe;
    probe.key = "health";
    auto r = conn ? conn.value().range(probe)
                  : client::Result<protocol::KvResponse<storage::RangeResponse>>(conn.error());
    h.took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    // etcdctl 3.4 asks nothing more: an active alarm (NOSPACE) leaves the member healthy
    // as long as it serves the read (3.5 added the alarm check).
    if (!r)
      h.error = r.error().message;
    else
      h.health = true;
    unhealthy = unhealthy || !h.health;
    list.push_back(std::move(h));
  }
  // etcdctl's simple health lines go to stderr.
  (g_.format == Format::simple ? err_ : out_)
      << format_endpoint_health(list, g_.format) << std::flush;
  return unhealthy ? fail(WireError{1, "unhealthy cluster"}) : kExitSuccess;
}

// One watch stream on one connection: prints what arrives until the node cancels it
// (kCanceled), the connection breaks (kBroken: the caller reconnects) or `stop` is asked.
// `next_revision` follows the events, so that a new stream resumes after the last one
// printed (clientv3's resume: nothing lost, nothing repeated).
Runner::StreamEnd Runner::watch_stream(Client& cl, protocol::WatchCreateRequest request,
                                       int64_t& next_revision) {
  bool canceled = false;
  int64_t watch_id = -1;
  cl.set_notification_handler([&](const client::Notification& n) {
    if (n.method != "Watch.Watch") return;
    auto w = client::decode_watch_notification(n);
    if (!w) return;
    if (watch_id >= 0 && w.value().watch_id != watch_id) return;
    if (w.value().canceled) {
      err_ << "watch was canceled (" << cancel_reason(w.value()) << ")\n";
      canceled = true;
    }
    if (!w.value().events.empty()) next_revision = w.value().events.back().kv.mod_revision + 1;
    out_ << format_watch(w.value(), g_.format) << std::flush;
  });
  if (next_revision > 0) request.start_revision = next_revision;
  auto created = cl.watch(protocol::WatchRequest{request});
  if (!created) return StreamEnd::broken;
  if (created.value().canceled) {
    err_ << "watch was canceled (" << cancel_reason(created.value()) << ")\n";
    out_ << format_watch(created.value(), g_.format) << std::flush;
    return StreamEnd::canceled;
  }
  watch_id = created.value().watch_id;
  // Without --rev the watch starts after the revision the node had when it was created.
  if (next_revision <= 0) next_revision = created.value().header.revision + 1;
  cl.set_request_timeout(std::chrono::milliseconds(0));  // the stream has no deadline
  while (!canceled) {
    // Bounded waits, so that a stop request is seen once what has arrived is printed.
    auto p = cl.pump_for(std::chrono::milliseconds(200));
    if (!p) return StreamEnd::broken;
    if (!p.value() && stop_.stop_requested()) return StreamEnd::stopped;
  }
  return StreamEnd::canceled;
}

int Runner::operator()(const WatchCmd& c) {
  int64_t next_revision = c.request.start_revision;
  // The command timeout bounds the create answer: a node that accepts and never answers
  // (still starting) is retried rather than waited on forever.
  auto conn = connect();
  // The first connection's failure is reported (etcdctl would wait for the node forever).
  if (!conn) return fail(conn.error());
  std::chrono::milliseconds backoff{50};
  for (;;) {
    if (conn) {
      switch (watch_stream(conn.value(), c.request, next_revision)) {
        case StreamEnd::canceled:
          return fail(WireError{1, "watch is canceled by the server"}, kExitInterrupted);
        case StreamEnd::stopped:
          return kExitInterrupted;
        case StreamEnd::broken:
          backoff = std::chrono::milliseconds(50);
          break;
      }
    } else {
      // The node is away (restarting): retry, as clientv3 does, with a growing pause.
      if (stop_.stop_requested()) return kExitInterrupted;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
    if (stop_.stop_requested()) return kExitInterrupted;
    conn = connect();
  }
}

}  // namespace

int run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err,
        std::stop_token stop) {
  if (auto refused = unsupported_format(invocation.command, invocation.global.format)) {
    err << "Error: " << *refused << "\n";
    return kExitBadFeature;
  }
  Runner runner(invocation.global, in, out, err, std::move(stop));
  return std::visit(runner, invocation.command);
}

int main_with_args(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err, std::stop_token stop) {
  auto parsed = parse(args);
  if (auto* exit = std::get_if<ParseExit>(&parsed)) {
    out << exit->out;
    err << exit->err;
    return exit->code;
  }
  return run(std::get<Invocation>(parsed), in, out, err, std::move(stop));
}

}  // namespace revkv::ctl
