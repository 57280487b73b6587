#include "apps/revkvd/forwarder.hpp"

#include "actors/forwarding.hpp"
#include "actors/thread_names.hpp"
#include "client/client.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace revkv::apps {
namespace {

using actors::Answer;
using actors::ClusterLink;
using actors::ForwardCall;
using actors::Response;
using protocol::WireError;

constexpr int64_t kUnavailable = 14;
constexpr int64_t kDeadlineExceeded = 4;
constexpr std::chrono::milliseconds kClusterCallTimeout{40000};

struct WorkerState {
  WorkerState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "forwarder";

  std::shared_ptr<ClusterLink> link;
  ForwarderOptions options;
  std::optional<client::Client> client;
  actors::MemberAttributes connected;  // where `client` is connected
};

// A KV answer: the header's revision is the response's (the door builds the header from it).
template <class T>
Answer kv_answer(client::Result<protocol::KvResponse<T>>& r) {
  if (!r.ok()) return r.error();
  auto& out = r.value().response;
  if (out.revision == 0) out.revision = r.value().header.revision;
  return Response{std::move(out)};
}

template <class T>
Answer plain_answer(client::Result<T>& r) {
  if (!r.ok()) return r.error();
  return Response{std::move(r.value())};
}

// One request on the connection, as the matching typed call of the client library.
Answer call(client::Client& c, actors::Request& request) {
  return std::visit(
      [&c](auto& req) -> Answer {
        using T = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          auto r = c.range(req);
          return kv_answer(r);
        } else if constexpr (std::is_same_v<T, storage::PutRequest>) {
          auto r = c.put(req);
          return kv_answer(r);
        } else if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) {
          auto r = c.delete_range(req);
          return kv_answer(r);
        } else if constexpr (std::is_same_v<T, storage::TxnRequest>) {
          auto r = c.txn(req);
          return kv_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::CompactionRequest>) {
          auto r = c.compact(req);
          return kv_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::LeaseGrantRequest>) {
          auto r = c.lease_grant(req);
          return plain_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::LeaseRevokeRequest>) {
          auto r = c.lease_revoke(req);
          return plain_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::LeaseKeepAliveRequest>) {
          auto r = c.lease_keep_alive(req);
          return plain_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::LeaseTimeToLiveRequest>) {
          auto r = c.lease_time_to_live(req);
          return plain_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::LeaseLeasesRequest>) {
          auto r = c.lease_leases();
          return plain_answer(r);
        } else if constexpr (std::is_same_v<T, protocol::AlarmRequest>) {
          auto r = c.alarm(req);  // an activation or a disarm: lists are served locally
          return plain_answer(r);
        } else {
          // cluster_gate.cpp sends nothing else here (everything else is served locally).
          (void)req;
          return WireError{kUnavailable, "etcdserver: not leader"};
        }
      },
      request);
}

using Worker = caf::stateful_actor<WorkerState>;

// Connects to the leader's client door if not connected there yet; the error to answer when
// it cannot.
std::optional<WireError> connect(WorkerState& st, const actors::MemberAttributes& leader) {
  if (st.client && !st.client->broken() && st.connected == leader) return std::nullopt;
  st.client.reset();
  auto endpoint = client::parse_endpoint(leader.client);
  if (!endpoint.ok()) {
    return WireError{kUnavailable, "revkv: the leader's client address " + leader.client +
                                       " is not usable: " + endpoint.error().message};
  }
  client::ClientOptions opts;
  opts.connect_timeout = st.options.connect_timeout;
  opts.request_timeout = st.options.request_timeout;
  opts.tls = st.options.tls;
  opts.tls.enabled = leader.tls;
  auto c = client::Client::connect(endpoint.value(), opts);
  if (!c.ok()) {
    return WireError{kUnavailable, "revkv: cannot reach the leader " + leader.name + " at " +
                                       leader.client + ": " + c.error().message};
  }
  st.client.emplace(std::move(c.value()));
  // Every request of this connection is a forwarded one: the leader serves it, a member that
  // no longer leads refuses it at once rather than forwarding it on (a loop, otherwise,
  // while two members each take the other for the leader).
  st.client->set_forwarded(true);
  st.connected = leader;
  return std::nullopt;
}

// Sends one request with `token` to the leader on this worker's connection: `send` makes
// the call and returns its answer, `error_of` the error an answer holds (if any).
template <class Out, class Send, class ErrorOf>
Out forward(WorkerState& st, const std::optional<std::string>& token, Send&& send,
            ErrorOf&& error_of) {
  auto& link = *st.link;
  uint64_t leader = link.leader_id.load();
  if (leader == 0 || leader == link.member_id)
    return WireError{kUnavailable, "etcdserver: no leader"};
  auto where = link.attributes_of(leader);
  // The leader has not published where it serves yet (it does once it is ready).
  if (!where) return WireError{kUnavailable, "etcdserver: not leader"};
  if (auto failed = connect(st, *where)) {
    link.forward_failures.fetch_add(1);
    return *failed;
  }
  link.forwarded.fetch_add(1);
  st.client->set_token(token);
  Out answer = send(*st.client);
  if (!st.client->broken()) return answer;
  // The connection failed or timed out: the request's fate is unknown (a write may have
  // been applied), so it is not retried; the client retries as on any Unavailable.
  link.forward_failures.fetch_add(1);
  WireError error = error_of(answer);
  st.client.reset();
  if (error.code == kDeadlineExceeded)
    return WireError{kUnavailable, "etcdserver: request timed out"};
  return WireError{kUnavailable, "revkv: lost the connection to the leader " + where->name + ": " +
                                     error.message};
}

Answer forward_request(WorkerState& st, ForwardCall& fc) {
  return forward<Answer>(
      st, fc.token, [&](client::Client& c) { return call(c, fc.request); },
      [](const Answer& a) { return actors::wire_error(a); });
}

// A call relayed as bytes (Auth.*, Cluster.*): the leader's result, re-encoded as it came.
actors::AuthForwarded forward_bytes(WorkerState& st, std::string_view method,
                                    const std::string& body,
                                    const std::optional<std::string>& token) {
  return forward<actors::AuthForwarded>(
      st, token,
      [&](client::Client& c) -> actors::AuthForwarded {
        auto r = c.call(method, body);
        if (!r.ok()) return r.error();
        msgpack::sbuffer out;
        msgpack::pack(out, r.value().result);
        return std::string(out.data(), out.size());
      },
      [](const actors::AuthForwarded& a) {
        const auto* e = std::get_if<WireError>(&a);
        return e ? *e : WireError{};
      });
}

caf::behavior worker(Worker* self, std::shared_ptr<ClusterLink> link, ForwarderOptions options) {
  actors::name_this_thread("revkv.forward");
  self->state.link = std::move(link);
  self->state.options = std::move(options);
  return {
      [self](actors::forward_atom, ForwardCall& fc) -> Answer {
        return forward_request(self->state, fc);
      },
      [self](actors::forward_auth_atom, actors::AuthForwardCall& fc) -> actors::AuthForwarded {
        return forward_bytes(self->state, protocol::auth_method_name(fc.method), fc.body, fc.token);
      },
      [self](actors::forward_cluster_atom, actors::ClusterForwardCall& fc) {
        (*fc.reply)(forward_bytes(self->state, fc.method, fc.body, fc.token));
      },
  };
}

struct PoolState {
  PoolState() = default;
  static inline const char* name = "forwarder_pool";
  std::vector<caf::actor> workers;
  // The auth calls' worker: its one strong handle (the auth store holds it weakly), so it
  // lives as long as the pool and is released with the pool's state.
  caf::actor auth_worker;
  caf::actor cluster_worker;  // likewise, the Cluster.* calls' worker
  size_t next = 0;
};

caf::behavior pool(caf::stateful_actor<PoolState>* self, std::vector<caf::actor> workers,
                   caf::actor auth_worker, caf::actor cluster_worker) {
  for (auto& w : workers)
    self->link_to(w);  // they end with the pool
  self->link_to(auth_worker);
  self->link_to(cluster_worker);
  self->state.auth_worker = std::move(auth_worker);
  self->state.cluster_worker = std::move(cluster_worker);
  self->state.workers = std::move(workers);
  return {
      [self](actors::forward_atom atom, ForwardCall& fc) {
        auto& st = self->state;
        const auto& w = st.workers[st.next++ % st.workers.size()];
        return self->delegate(w, atom, std::move(fc));
      },
  };
}

}  // namespace

Forwarders spawn_forwarder(caf::actor_system& sys, std::shared_ptr<ClusterLink> link,
                           ForwarderOptions options) {
  std::vector<caf::actor> workers;
  for (size_t i = 0; i < std::max<size_t>(options.connections, 1); ++i)
    workers.push_back(sys.spawn<caf::detached>(worker, link, options));
  auto auth = sys.spawn<caf::detached>(worker, link, options);
  // A promotion waits for libraft's catch-up rounds (up to 30 s) and a removal for the
  // removed member (up to 2 s) before the configuration commits: the cluster worker waits
  // that long for the leader's answer.
  ForwarderOptions cluster_options = options;
  cluster_options.request_timeout = std::max(options.request_timeout, kClusterCallTimeout);
  auto cluster = sys.spawn<caf::detached>(worker, link, std::move(cluster_options));
  auto all = sys.spawn(pool, std::move(workers), auth, cluster);
  return {std::move(all), std::move(auth), std::move(cluster)};
}

}  // namespace revkv::apps
