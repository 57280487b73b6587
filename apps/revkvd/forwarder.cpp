#include "apps/revkvd/forwarder.hpp"

#include "actors/forwarding.hpp"
#include "actors/messages.hpp"
#include "actors/thread_names.hpp"
#include "client/client.hpp"
#include "client/decode_result.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
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
constexpr std::chrono::milliseconds kClusterCallTimeout = ClusterLink::kLeaderCallTimeout;

struct WorkerState {
  WorkerState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "forwarder";

  std::shared_ptr<ClusterLink> link;
  ForwarderOptions options;
  std::optional<client::Client> client;
  actors::MemberAttributes connected;  // where `client` is connected
  // Forwarded requests taken since the last batch went out, each with its answer's promise.
  struct Pending {
    ForwardCall call;
    caf::response_promise answer;
    bool answered = false;
    void reply(Answer a) {
      answered = true;
      answer.deliver(std::move(a));
    }
  };
  std::vector<Pending> batch;
  bool batch_asked = false;  // a flush_atom to itself is on its way
};

// The leader's answer to a KV call: its header's revision is the response's (the door
// builds its own header from it).
template <class T>
Answer kv_answer(const msgpack::object& body) {
  auto decoded = client::decode_result<protocol::KvResponse<T>>(body);
  if (!decoded) return decoded.error();
  auto& out = decoded.value().response;
  if (out.revision == 0) out.revision = decoded.value().header.revision;
  return Response{std::move(out)};
}

template <class T>
Answer plain_answer(const msgpack::object& body) {
  auto decoded = client::decode_result<T>(body);
  if (!decoded) return decoded.error();
  return Response{std::move(decoded).value()};
}

// What the forwarder carries (cluster_gate.cpp forwards nothing else: the rest is served
// locally), each answered as decode_answer says.
template <class T>
constexpr bool kForwardable =
    std::is_same_v<T, storage::RangeRequest> || std::is_same_v<T, storage::PutRequest> ||
    std::is_same_v<T, storage::DeleteRangeRequest> || std::is_same_v<T, storage::TxnRequest> ||
    std::is_same_v<T, protocol::CompactionRequest> ||
    std::is_same_v<T, protocol::LeaseGrantRequest> ||
    std::is_same_v<T, protocol::LeaseRevokeRequest> ||
    std::is_same_v<T, protocol::LeaseKeepAliveRequest> ||
    std::is_same_v<T, protocol::LeaseTimeToLiveRequest> ||
    std::is_same_v<T, protocol::LeaseLeasesRequest> ||
    std::is_same_v<T, protocol::AlarmRequest>;  // an activation or a disarm

bool forwardable(const actors::Request& request) {
  return std::visit([](const auto& req) { return kForwardable<std::decay_t<decltype(req)>>; },
                    request);
}

// The leader's result for `request`, decoded as the client library's typed call decodes it.
Answer decode_answer(const actors::Request& request, const msgpack::object& body) {
  return std::visit(
      [&body](const auto& req) -> Answer {
        using T = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          return kv_answer<storage::RangeResponse>(body);
        } else if constexpr (std::is_same_v<T, storage::PutRequest>) {
          return kv_answer<storage::PutResponse>(body);
        } else if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) {
          return kv_answer<storage::DeleteRangeResponse>(body);
        } else if constexpr (std::is_same_v<T, storage::TxnRequest>) {
          return kv_answer<storage::TxnResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::CompactionRequest>) {
          return kv_answer<storage::CompactResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::LeaseGrantRequest>) {
          return plain_answer<protocol::LeaseGrantResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::LeaseRevokeRequest>) {
          return plain_answer<protocol::LeaseRevokeResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::LeaseKeepAliveRequest>) {
          return plain_answer<protocol::LeaseKeepAliveResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::LeaseTimeToLiveRequest>) {
          return plain_answer<protocol::LeaseTimeToLiveResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::LeaseLeasesRequest>) {
          return plain_answer<protocol::LeaseLeasesResponse>(body);
        } else if constexpr (std::is_same_v<T, protocol::AlarmRequest>) {
          return plain_answer<protocol::AlarmResponse>(body);
        } else {
          static_assert(!kForwardable<T>, "a forwardable request without its answer's type");
          (void)req;  // not forwardable(): never sent
          return WireError{kUnavailable, "etcdserver: not leader"};
        }
      },
      request);
}

// Queues `request` on the connection, as the MessagePack door's method and body.
uint32_t queue_request(client::Client& c, const actors::Request& request) {
  return std::visit(
      [&c, &request](const auto& req) {
        return c.queue(protocol::method_name(actors::method_of(request)),
                       protocol::encode_to_string(req));
      },
      request);
}

using Worker = caf::stateful_actor<WorkerState>;

// Connects to the leader's client door if not connected there yet; the error to answer when
// it cannot.
std::optional<WireError> connect(WorkerState& st, const actors::MemberAttributes& leader,
                                 std::chrono::milliseconds connect_timeout) {
  if (st.client && !st.client->broken() && st.connected == leader) return std::nullopt;
  st.client.reset();
  auto endpoint = client::parse_endpoint(leader.client);
  if (!endpoint.ok()) {
    return WireError{kUnavailable, "revkv: the leader's client address " + leader.client +
                                       " is not usable: " + endpoint.error().message};
  }
  client::ClientOptions opts;
  opts.connect_timeout = connect_timeout;
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

// The leader's client door, connected: where it serves; else the error to answer the
// `requests` waiting (those the leader could not be reached for count as failures).
std::variant<actors::MemberAttributes, WireError> reach_leader(WorkerState& st, size_t requests) {
  auto& link = *st.link;
  uint64_t leader = link.leader_id.load();
  if (leader == 0 || leader == link.member_id)
    return WireError{kUnavailable, "etcdserver: no leader"};
  auto where = link.attributes_of(leader);
  // The leader has not published where it serves yet (it does once it is ready).
  if (!where) return WireError{kUnavailable, "etcdserver: not leader"};
  if (auto failed = connect(st, *where, st.options.connect_timeout)) {
    link.forward_failures.fetch_add(static_cast<int64_t>(requests));
    return *failed;
  }
  return *where;
}

// The connection failed or timed out under a request: its fate is unknown (a write may have
// been applied), so it is not retried; the client retries as on any Unavailable.
WireError lost_leader(const WireError& error, const actors::MemberAttributes& where) {
  if (error.code == kDeadlineExceeded)
    return WireError{kUnavailable, "etcdserver: request timed out"};
  return WireError{kUnavailable,
                   "revkv: lost the connection to the leader " + where.name + ": " + error.message};
}

// Sends one request with `token` to the leader on this worker's connection: `send` makes
// the call and returns its answer, `error_of` the error an answer holds (if any).
template <class Out, class Send, class ErrorOf>
Out forward(WorkerState& st, const std::optional<std::string>& token, Send&& send,
            ErrorOf&& error_of) {
  auto& link = *st.link;
  auto reached = reach_leader(st, 1);
  if (auto* refused = std::get_if<WireError>(&reached)) return *refused;
  link.forwarded.fetch_add(1);
  st.client->set_token(token);
  Out answer = send(*st.client);
  if (!st.client->broken()) return answer;
  link.forward_failures.fetch_add(1);
  st.client.reset();
  return lost_leader(error_of(answer), std::get<actors::MemberAttributes>(reached));
}

// A forwarded read: Range (a follower forwards only linearizable ones) and the lease reads.
// It changes nothing on the leader, so one whose connection broke before its answer came
// is sent again to whoever leads then, until its request times out (etcd's member answers
// such a read `etcdserver: leader changed` and leaves the retry to the client: this spares
// clients that do not retry). A write is not sent again: it may have been applied.
bool leadership_refusal(const WireError& e) {
  return e.code == kUnavailable &&
         (e.message == "etcdserver: not leader" || e.message == "etcdserver: no leader" ||
          e.message == "etcdserver: leader changed");
}

bool resendable(const actors::Request& request) {
  return std::holds_alternative<storage::RangeRequest>(request) ||
         std::holds_alternative<protocol::LeaseTimeToLiveRequest>(request) ||
         std::holds_alternative<protocol::LeaseLeasesRequest>(request);
}

// Sends `batch[i]` for each i of `to_send` at once, in arrival order, on the connection to
// `where` (pipelined: the leader's door takes them as one connection's requests) before it
// waits for any answer; answers each as its own answer arrives. A connection that breaks, or
// gives no answer for the request timeout, fails every request still unanswered, except the
// reads whose connection broke: those it returns (in arrival order) for the caller to send
// again, with the failure in `lost`. When `resending`, a read the member taken for the
// leader refuses as not leading is returned too: leadership is still moving.
std::vector<size_t> send_batch(WorkerState& st, std::vector<WorkerState::Pending>& batch,
                               const std::vector<size_t>& to_send,
                               const actors::MemberAttributes& where,
                               std::optional<WireError>& lost, bool resending) {
  auto& link = *st.link;
  std::unordered_map<uint32_t, size_t> unanswered;  // msgid -> index in `batch`
  for (size_t i : to_send) {
    st.client->set_token(batch[i].call.token);
    unanswered.emplace(queue_request(*st.client, batch[i].call.request), i);
    link.forwarded.fetch_add(1);
  }
  // A failure breaks the client: next_response() reports it below, after any answer that
  // arrived before it.
  (void)st.client->flush();
  std::vector<size_t> again;
  while (!unanswered.empty()) {
    auto got = st.client->next_response();
    if (!got) {
      auto failure = lost_leader(got.error(), where);
      // Timed out: the request's time is used up.
      bool broke = got.error().code != kDeadlineExceeded;
      for (auto& [msgid, i] : unanswered) {
        if (broke && resendable(batch[i].call.request)) {
          again.push_back(i);
        } else {
          link.forward_failures.fetch_add(1);
          batch[i].reply(failure);
        }
      }
      lost = std::move(failure);
      break;
    }
    auto it = unanswered.find(got.value().msgid);
    if (it == unanswered.end()) continue;  // not one of this batch's: none is outstanding
    auto& p = batch[it->second];
    const size_t index = it->second;
    unanswered.erase(it);
    if (got.value().error && resending && leadership_refusal(*got.value().error)) {
      again.push_back(index);
      lost = *got.value().error;
    } else if (got.value().error) {
      p.reply(*got.value().error);
    } else {
      p.reply(decode_answer(p.call.request, got.value().result));
    }
  }
  if (st.client->broken()) st.client.reset();
  std::sort(again.begin(), again.end());
  return again;
}

// Every request waiting for this worker goes out at once (send_batch). Reads whose
// connection broke are sent again to the member that leads once one is known and reachable
// (the old leader may be gone, and a new one takes an election), until the request timeout
// since the batch began, each attempt bounded by what is left of it; then each is answered
// with the last failure. The worker takes no other batch meanwhile (its requests wait),
// and gives up at once when the member begins to stop.
void forward_batch(WorkerState& st, std::vector<WorkerState::Pending>& batch) {
  auto& link = *st.link;
  const auto deadline = std::chrono::steady_clock::now() + st.options.request_timeout;
  std::vector<size_t> to_send;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (forwardable(batch[i].call.request)) {
      to_send.push_back(i);
    } else {
      batch[i].reply(WireError{kUnavailable, "etcdserver: not leader"});  // never sent here
    }
  }
  if (to_send.empty()) return;
  auto reached = reach_leader(st, to_send.size());
  if (auto* refused = std::get_if<WireError>(&reached)) {
    for (size_t i : to_send)
      batch[i].reply(Answer{*refused});
    return;
  }
  std::optional<WireError> lost;
  to_send =
      send_batch(st, batch, to_send, std::get<actors::MemberAttributes>(reached), lost, false);
  using std::chrono::milliseconds;
  auto pause = milliseconds(5);
  while (!to_send.empty()) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (link.closing.load() || link.stopping.load() || left <= pause) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, milliseconds(100));
    uint64_t leader = link.leader_id.load();
    if (leader == link.member_id) {
      // This member leads now: it serves the read itself when the client asks again.
      lost = WireError{kUnavailable, "etcdserver: leader changed"};
      break;
    }
    auto where = leader == 0 ? std::nullopt : link.attributes_of(leader);
    if (!where) continue;  // no leader yet, or it has not published where it serves
    const auto within = std::max(left - pause, milliseconds(1));
    if (auto failed = connect(st, *where, std::min(within, st.options.connect_timeout))) {
      lost = std::move(failed);  // the old leader, still taken for the leader, is gone
      continue;
    }
    st.client->set_request_timeout(within);
    to_send = send_batch(st, batch, to_send, *where, lost, true);
    if (st.client) st.client->set_request_timeout(st.options.request_timeout);
  }
  link.forward_failures.fetch_add(static_cast<int64_t>(to_send.size()));
  for (size_t i : to_send)
    batch[i].reply(*lost);
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
  // Ended with the pool (the member stops) between a request and its batch: answered, so no
  // door waits for it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& p : std::exchange(self->state.batch, {}))
      p.reply(WireError{kUnavailable, "etcdserver: server stopped"});
    self->quit(msg.reason);
  });
  return {
      [self](actors::forward_atom, ForwardCall& fc) -> caf::result<Answer> {
        auto& st = self->state;
        auto answer = self->make_response_promise();
        st.batch.push_back({std::move(fc), answer, false});
        // Handled after every request already in the mailbox: they join this batch.
        if (!std::exchange(st.batch_asked, true)) self->send(self, actors::flush_atom::value);
        return answer;
      },
      [self](actors::flush_atom) {
        auto& st = self->state;
        st.batch_asked = false;
        auto batch = std::exchange(st.batch, {});
        try {
          forward_batch(st, batch);
        } catch (const std::exception& e) {
          // The promises are this batch's only record: none may be left unanswered (a door
          // waits for its answer without a time limit).
          for (auto& p : batch)
            if (!p.answered)
              p.reply(WireError{client::kCodeInternal,
                                std::string("revkv: forwarding failed: ") + e.what()});
          st.client.reset();
        }
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
        // A compaction runs alone on the leader's connection and a physical one answers only
        // once done: in a batch it would hold every request behind it, and could outlast the
        // request timeout that then fails them all. The cluster worker takes it, with its
        // longer wait.
        if (std::holds_alternative<protocol::CompactionRequest>(fc.request))
          return self->delegate(st.cluster_worker, atom, std::move(fc));
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
