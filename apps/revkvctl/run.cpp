#include "apps/revkvctl/run.hpp"

#include "apps/revkvctl/output.hpp"
#include "apps/revkvctl/snapshot.hpp"
#include "apps/revkvctl/txn_input.hpp"
#include "client/client.hpp"

#include <iostream>
#include <iterator>
#include <thread>

namespace revkv::ctl {
namespace {

using client::Client;
using protocol::WireError;

// What one command does with the connection; returns the text to print or an error.
class Runner {
 public:
  Runner(const Global& g, std::istream& in, std::ostream& out, std::ostream& err)
      : g_(g), in_(in), out_(out), err_(err) {}

  int operator()(const PutCmd& c) {
    storage::PutRequest r = c.request;
    if (c.value_from_stdin) r.value.assign(std::istreambuf_iterator<char>(in_), {});
    return print(connect(), [&](Client& cl) { return map(cl.put(r), format_put); });
  }
  int operator()(const GetCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.range(c.request);
      if (!r) return result(r.error());
      return result(format_get(r.value(), g_.format, c.print_value_only, c.request.count_only));
    });
  }
  int operator()(const DelCmd& c) {
    return print(connect(),
                 [&](Client& cl) { return map(cl.delete_range(c.request), format_del); });
  }
  int operator()(const TxnCmd& c) {
    auto txn = read_txn(in_, c.interactive ? &out_ : nullptr);
    if (!txn) return fail(txn.error());
    return print(connect(), [&](Client& cl) { return map(cl.txn(txn.value()), format_txn); });
  }
  int operator()(const CompactCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.compact(c.request);
      if (!r) return result(r.error());
      return result(format_compact(c.request.revision, r.value(), g_.format));
    });
  }
  int operator()(const StatusCmd&) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.status();
      if (!r) return result(r.error());
      return result(format_status(g_.endpoint, r.value(), g_.format));
    });
  }
  int operator()(const DefragCmd&) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.defragment();
      if (!r) return result(r.error());
      return result(format_defrag(g_.endpoint, g_.format));
    });
  }
  int operator()(const HashKvCmd& c) {
    return print(connect(), [&](Client& cl) {
      auto r = cl.hash_kv(c.request);
      if (!r) return result(r.error());
      return result(format_hashkv(g_.endpoint, r.value(), g_.format));
    });
  }
  int operator()(const SnapshotSaveCmd& c) {
    return print(connect(0), [&](Client& cl) {
      auto r = save_snapshot(cl, c.file);
      if (!r) return result(r.error());
      return result(format_snapshot_saved(c.file));
    });
  }
  int operator()(const SnapshotRestoreCmd& c) {
    auto r = restore_snapshot(c.file, c.data_dir);
    if (!r) return fail(r.error());
    out_ << "Snapshot restored to " << c.data_dir << "\n";
    return 0;
  }
  int operator()(const SnapshotStatusCmd& c) {
    auto r = snapshot_status(c.file);
    if (!r) return fail(r.error());
    out_ << format_snapshot_status(r.value(), g_.format == Format::json);
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

 private:
  using Text = client::Result<std::string>;
  static Text result(std::string s) { return s; }
  static Text result(const WireError& e) { return e; }

  template <class R, class F>
  Text map(R r, F format) {
    if (!r) return r.error();
    return format(r.value(), g_.format);
  }

  // timeout_ms < 0: the command timeout; 0: none (streams).
  client::Result<Client> connect(int64_t timeout_ms = -1) {
    client::ClientOptions o;
    o.connect_timeout = g_.dial_timeout;
    o.request_timeout = timeout_ms < 0 ? g_.command_timeout : std::chrono::milliseconds(timeout_ms);
    return Client::connect(g_.endpoint, o);
  }

  int fail(const WireError& e) {
    err_ << "Error: " << e.message << "\n";
    return 1;
  }

  template <class F>
  int print(client::Result<Client> c, F&& body) {
    if (!c) return fail(c.error());
    Text t = body(c.value());
    if (!t) return fail(t.error());
    out_ << t.value() << std::flush;
    return 0;
  }

  const Global& g_;
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

int Runner::operator()(const WatchCmd& c) {
  auto conn = connect(0);
  if (!conn) return fail(conn.error());
  Client& cl = conn.value();
  bool canceled = false;
  int64_t watch_id = -1;
  cl.set_notification_handler([&](const client::Notification& n) {
    if (n.method != "Watch.Watch") return;
    auto w = client::decode_watch_notification(n);
    if (!w) return;
    if (watch_id >= 0 && w.value().watch_id != watch_id) return;
    if (w.value().canceled) {
      err_ << "watch was canceled (" << w.value().cancel_reason << ")\n";
      canceled = true;
    }
    out_ << format_watch(w.value(), g_.format) << std::flush;
  });
  auto created = cl.watch(protocol::WatchRequest{c.request});
  if (!created) return fail(created.error());
  if (created.value().canceled) {
    err_ << "watch was canceled (" << created.value().cancel_reason << ")\n";
    return fail(WireError{1, "watch is canceled by the server"});
  }
  watch_id = created.value().watch_id;
  while (!canceled) {
    auto p = cl.pump();
    if (!p) return fail(p.error());
  }
  return fail(WireError{1, "watch is canceled by the server"});
}

}  // namespace

int run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err) {
  Runner runner(invocation.global, in, out, err);
  return std::visit(runner, invocation.command);
}

int main_with_args(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  auto parsed = parse(args);
  if (auto* exit = std::get_if<ParseExit>(&parsed)) {
    out << exit->out;
    err << exit->err;
    return exit->code;
  }
  return run(std::get<Invocation>(parsed), in, out, err);
}

}  // namespace revkv::ctl
