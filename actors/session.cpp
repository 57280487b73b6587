#include "actors/session.hpp"

#include "actors/lessor_actor.hpp"
#include "actors/messages.hpp"
#include "actors/methods.hpp"
#include "actors/routing.hpp"
#include "actors/watch_stream.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/range_rules.hpp"
#include "storage/txn_rules.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace revkv::actors {

using Call =
    std::variant<storage::RangeRequest, storage::PutRequest, storage::DeleteRangeRequest,
                 storage::TxnRequest, protocol::CompactionRequest, protocol::HashKVRequest,
                 protocol::StatusRequest, protocol::DefragmentRequest, protocol::AlarmRequest,
                 protocol::SnapshotRequest, protocol::WatchRequest, protocol::LeaseGrantRequest,
                 protocol::LeaseRevokeRequest, protocol::LeaseKeepAliveRequest,
                 protocol::LeaseTimeToLiveRequest, protocol::LeaseLeasesRequest>;

using Clock = std::chrono::steady_clock;

struct QueuedCall {
  uint32_t msgid = 0;
  Call call;
  bool write = false;
  protocol::Method method{};
  Clock::time_point received;  // decoded; the start of its latency
};

struct SessionState {
  SessionState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "session";
  ~SessionState() {
    if (metrics) metrics->connection_closed();
  }

  NodeContextPtr ctx;
  ::revkv::metrics::NodeMetrics* metrics = nullptr;  // ctx->metrics, or null
  Routes routes;
  caf::io::connection_handle hdl;
  std::unique_ptr<protocol::FrameDecoder> decoder;
  std::deque<QueuedCall> queue;  // decoded, waiting for their turn
  size_t reads_in_flight = 0;
  bool write_in_flight = false;
  uint64_t bytes_written = 0;      // handed to the socket
  uint64_t bytes_transferred = 0;  // acknowledged by the socket
  bool reading = true;
  bool processing = false;  // in process_input(): a nested call returns at once
  bool closing = false;
  bool draining = false;  // node shutdown: finish what is queued, then close

  // Watch (actors/watch_hub.hpp): the stream's ids, the creates and progress requests the
  // hub has not answered yet, and the watchers whose responses are being dropped because
  // the client does not read (they catch up from `kv` once it has).
  WatchStream watch;
  struct PendingWatch {
    int64_t watch_id = 0;
    Clock::time_point received;
  };
  std::unordered_map<uint32_t, PendingWatch> watch_pending;
  std::unordered_set<uint64_t> parked;
  bool watch_congested = false;
};

namespace {

using Self = caf::io::stateful_broker<SessionState>;

constexpr uint64_t kMaxUnsentBytes = 8ull << 20;
constexpr size_t kSnapshotChunkBytes = 1 << 20;

void write_bytes(Self* self, const msgpack::sbuffer& buf) {
  auto& st = self->state;
  auto& out = self->wr_buf(st.hdl);
  out.insert(out.end(), buf.data(), buf.data() + buf.size());
  st.bytes_written += buf.size();
  if (st.metrics) st.metrics->bytes_sent(buf.size());
  self->flush(st.hdl);
}

// Counts an answered request (metrics/node_metrics.hpp).
void count_request(Self* self, protocol::Method method, Clock::time_point received, int64_t code) {
  if (auto* m = self->state.metrics) {
    m->request_done(method, code, std::chrono::duration<double>(Clock::now() - received).count());
  }
}

template <class T>
int64_t result_code(const storage::Result<T>& r) {
  return r.ok() ? 0 : protocol::to_wire_error(r.error()).code;
}

void reply_error(Self* self, uint32_t msgid, const protocol::WireError& error) {
  msgpack::sbuffer buf;
  protocol::write_error(buf, msgid, error);
  write_bytes(self, buf);
}

template <class T>
void reply_kv(Self* self, uint32_t msgid, const storage::Result<T>& r) {
  if (!r.ok()) return reply_error(self, msgid, protocol::to_wire_error(r.error()));
  msgpack::sbuffer buf;
  protocol::write_result(buf, msgid,
                         protocol::encode_kv_to_string(self->state.ctx->header(r->revision), *r));
  write_bytes(self, buf);
}

template <class T>
void reply_body(Self* self, uint32_t msgid, const storage::Result<T>& r) {
  if (!r.ok()) return reply_error(self, msgid, protocol::to_wire_error(r.error()));
  msgpack::sbuffer buf;
  protocol::write_result(buf, msgid, protocol::encode_to_string(*r));
  write_bytes(self, buf);
}

// Maintenance.Snapshot: the tar in notifications of at most 1 MiB, then the result. All
// chunks go to the socket buffer at once (reading stops meanwhile: over_limit()).
void reply_snapshot(Self* self, uint32_t msgid, const storage::Result<SnapshotPayload>& r) {
  if (!r.ok()) return reply_error(self, msgid, protocol::to_wire_error(r.error()));
  const std::string& data = *r->data;
  const auto method = protocol::method_name(protocol::Method::maintenance_snapshot);
  size_t offset = 0;
  do {
    size_t n = std::min(kSnapshotChunkBytes, data.size() - offset);
    protocol::SnapshotChunk chunk{msgid, data.substr(offset, n), data.size() - offset - n};
    offset += n;
    msgpack::sbuffer buf;
    protocol::write_notification(buf, method, protocol::encode_to_string(chunk));
    write_bytes(self, buf);
  } while (offset < data.size());
  msgpack::sbuffer buf;
  protocol::write_result(buf, msgid,
                         protocol::encode_to_string(protocol::SnapshotResponse{
                             r->header, static_cast<int64_t>(data.size()), r->sha256}));
  write_bytes(self, buf);
}

void reply_failure(Self* self, uint32_t msgid, const caf::error& err) {
  reply_error(self, msgid,
              protocol::WireError{14, "revkv: internal error: " + caf::to_string(err)});
}

void pump(Self* self);
void close_connection(Self* self);
void process_input(Self* self);

bool idle(const SessionState& st) {
  return st.queue.empty() && st.reads_in_flight == 0 && !st.write_in_flight;
}

bool over_limit(const SessionState& st) {
  size_t pending = st.queue.size() + st.reads_in_flight + (st.write_in_flight ? 1 : 0);
  return pending >= st.ctx->options.max_inflight_per_connection ||
         st.bytes_written - st.bytes_transferred > kMaxUnsentBytes;
}

// Reading resumes when the queue and the unsent output are small again; frames already
// received (kept in the decoder while over the limit) are taken first.
void update_reading(Self* self) {
  auto& st = self->state;
  if (!st.closing && !st.draining) process_input(self);
  if (st.closing) return;
  bool over = over_limit(st);
  if (over && st.reading) {
    self->halt(st.hdl);
    st.reading = false;
  } else if (!over && !st.reading && !st.closing && !st.draining) {
    self->trigger(st.hdl);
    st.reading = true;
  }
}

void finished(Self* self, bool write) {
  auto& st = self->state;
  if (write) {
    st.write_in_flight = false;
  } else {
    --st.reads_in_flight;
  }
  pump(self);
  if (st.draining && idle(st)) return close_connection(self);
  update_reading(self);
}

void serve_range(Self* self, uint32_t msgid, const storage::RangeRequest& r,
                 Clock::time_point received) {
  auto& st = self->state;
  int64_t w = st.ctx->watermark.load();
  auto rev = storage::resolve_read_revision(r.revision, w, st.ctx->compact_revision.load());
  if (!rev.ok()) {
    auto error = protocol::to_wire_error(rev.error());
    reply_error(self, msgid, error);
    count_request(self, protocol::Method::kv_range, received, error.code);
    return finished(self, false);
  }
  auto where = route(r, st.routes.shards.size());
  std::vector<caf::actor> targets;
  if (where.target == Target::owner_shard) {
    targets.push_back(st.routes.shards[where.shard]);
  } else {
    targets = st.routes.shards;
  }
  struct Merge {
    std::vector<storage::RangeFetch> parts;
    std::optional<storage::Error> error;
    size_t remaining = 0;
  };
  auto merge = std::make_shared<Merge>();
  merge->remaining = targets.size();
  auto done = [self, msgid, merge, r, w, received]() {
    if (merge->error) {
      auto error = protocol::to_wire_error(*merge->error);
      reply_error(self, msgid, error);
      count_request(self, protocol::Method::kv_range, received, error.code);
    } else {
      auto limit = storage::fetch_limit(r);
      auto fetched = storage::merge_fetches(std::move(merge->parts), limit);
      reply_kv(self, msgid,
               storage::Result<storage::RangeResponse>{
                   storage::finish_range(r, std::move(fetched.kvs), fetched.count, w)});
      count_request(self, protocol::Method::kv_range, received, 0);
    }
    finished(self, false);
  };
  for (const auto& shard : targets) {
    self->request(shard, caf::infinite, range_atom::value, r, *rev)
        .then(
            [merge, done](storage::Result<storage::RangeFetch>& part) {
              if (part.ok()) {
                merge->parts.push_back(std::move(*part));
              } else if (!merge->error) {
                merge->error = part.error();
              }
              if (--merge->remaining == 0) done();
            },
            [merge, done](caf::error& err) {
              if (!merge->error) {
                merge->error = storage::Error{storage::Errc::io_error, caf::to_string(err)};
              }
              if (--merge->remaining == 0) done();
            });
  }
}

// The shard or coordinator a write goes to (see route()).
const caf::actor& writer(const Routes& routes, const Route& where) {
  return where.target == Target::owner_shard ? routes.shards[where.shard] : routes.coordinator;
}

// Sends a write (or maintenance) call to `target` and replies with `reply` when done.
template <class Reply, class Msg, class ReplyFn>
void forward(Self* self, const QueuedCall& q, const caf::actor& target, Msg msg, ReplyFn reply) {
  self->request(target, caf::infinite, std::move(msg))
      .then(
          [self, msgid = q.msgid, write = q.write, method = q.method, received = q.received,
           reply](storage::Result<Reply>& r) {
            reply(self, msgid, r);
            count_request(self, method, received, result_code(r));
            finished(self, write);
          },
          [self, msgid = q.msgid, write = q.write, method = q.method,
           received = q.received](caf::error& err) {
            reply_failure(self, msgid, err);
            count_request(self, method, received, 14);
            finished(self, write);
          });
}

// Lease.*: the lessor answers with the whole response body, header included.
template <class Request>
void forward_lease(Self* self, const QueuedCall& q, const caf::actor& lessor, Request call) {
  using Response = typename LeaseResponseOf<Request>::type;
  forward<Response>(self, q, lessor, std::move(call), reply_body<Response>);
}

// -- Watch.Watch ------------------------------------------------------------------------------

// The {} result etcd's silence maps to (PROTOCOL.md): cancel of an unknown id, a progress
// request that is not answered.
void reply_nothing(Self* self, uint32_t msgid) {
  msgpack::sbuffer buf;
  protocol::write_result(buf, msgid, std::string_view("\x80", 1));
  write_bytes(self, buf);
}

void reply_watch(Self* self, uint32_t msgid, const protocol::WatchResponse& r) {
  msgpack::sbuffer buf;
  protocol::write_result(buf, msgid, protocol::encode_to_string(r));
  write_bytes(self, buf);
}

void reply_canceled(Self* self, uint32_t msgid, int64_t watch_id) {
  protocol::WatchResponse r;
  r.header = self->state.ctx->header(self->state.ctx->watermark.load());
  r.watch_id = watch_id;
  r.canceled = true;
  reply_watch(self, msgid, r);
}

void finish_watch_call(Self* self, Clock::time_point received) {
  count_request(self, protocol::Method::watch, received, 0);
  finished(self, false);
}

void serve_watch(Self* self, uint32_t msgid, const protocol::WatchRequest& w,
                 Clock::time_point received) {
  auto& st = self->state;
  if (const auto* create = std::get_if<protocol::WatchCreateRequest>(&w.request)) {
    auto outcome = st.watch.create(*create);
    if (auto* rejected = std::get_if<protocol::WatchResponse>(&outcome)) {
      rejected->header = st.ctx->header(st.ctx->watermark.load());
      reply_watch(self, msgid, *rejected);
      return finish_watch_call(self, received);
    }
    auto& accepted = std::get<WatchStream::Accepted>(outcome);
    st.watch_pending[msgid] = SessionState::PendingWatch{accepted.watch_id, received};
    self->send(st.routes.watch_hub, watch_create_atom::value, msgid, accepted.tag,
               std::move(accepted.spec));
  } else if (const auto* cancel = std::get_if<protocol::WatchCancelRequest>(&w.request)) {
    auto tag = st.watch.cancel(cancel->watch_id);
    if (!tag) {
      reply_nothing(self, msgid);
      return finish_watch_call(self, received);
    }
    st.parked.erase(*tag);
    if (*tag == 0) {  // cancelled by a compaction already: nothing left at the hub
      reply_canceled(self, msgid, cancel->watch_id);
      return finish_watch_call(self, received);
    }
    // The hub answers: its answer follows the created response of a create still on its
    // way (pipelined create + cancel of one id).
    st.watch_pending[msgid] = SessionState::PendingWatch{cancel->watch_id, received};
    self->send(st.routes.watch_hub, watch_cancel_atom::value, msgid, *tag);
  } else {
    st.watch_pending[msgid] = SessionState::PendingWatch{-1, received};
    self->send(st.routes.watch_hub, watch_progress_atom::value, msgid);
  }
}

// Responses of the hub for this stream's watchers. Past `watch_buffer_bytes` of unsent
// output a watcher is parked: its responses are dropped from the first one not written,
// and the hub resends them from `kv` once the client has read its backlog.
void deliver_watch(Self* self, WatchDeliveries& deliveries) {
  auto& st = self->state;
  const auto method = protocol::method_name(protocol::Method::watch);
  const size_t fragment_limit = st.ctx->options.max_request_bytes + 512 * 1024;
  for (auto& d : deliveries) {
    auto id = st.watch.id_of(d.tag);
    if (!id) continue;  // cancelled meanwhile
    d.response.watch_id = *id;
    if (d.response.canceled) {
      st.watch.compacted(d.tag);  // written even while parked: nothing follows it
      st.parked.erase(d.tag);
    } else if (st.parked.contains(d.tag)) {
      continue;
    } else if (st.bytes_written - st.bytes_transferred > st.ctx->options.watch_buffer_bytes) {
      if (d.response.events.empty()) continue;  // a progress notification: the next will do
      st.parked.insert(d.tag);
      st.watch_congested = true;
      self->send(st.routes.watch_hub, watch_slow_atom::value, d.tag,
                 d.response.events.front().kv.mod_revision);
      continue;
    }
    std::vector<protocol::WatchResponse> parts;
    if (st.watch.fragments(d.tag)) {
      parts = fragment_response(std::move(d.response), fragment_limit);
    } else {
      parts.push_back(std::move(d.response));
    }
    for (const auto& part : parts) {
      msgpack::sbuffer buf;
      protocol::write_notification(buf, method, protocol::encode_to_string(part));
      write_bytes(self, buf);
    }
  }
}

void dispatch(Self* self, QueuedCall& q) {
  auto& st = self->state;
  auto& routes = st.routes;
  size_t shards = routes.shards.size();
  std::visit(
      [&](auto& call) {
        using T = std::decay_t<decltype(call)>;
        if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          serve_range(self, q.msgid, call, q.received);
        } else if constexpr (std::is_same_v<T, storage::PutRequest>) {
          auto shard = writer(routes, route(call, shards));
          forward<storage::PutResponse>(self, q, shard, std::move(call),
                                        reply_kv<storage::PutResponse>);
        } else if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) {
          auto target = writer(routes, route(call, shards));
          forward<storage::DeleteRangeResponse>(self, q, target, std::move(call),
                                                reply_kv<storage::DeleteRangeResponse>);
        } else if constexpr (std::is_same_v<T, storage::TxnRequest>) {
          auto target = writer(routes, route(call, shards));
          forward<storage::TxnResponse>(self, q, target, std::move(call),
                                        reply_kv<storage::TxnResponse>);
        } else if constexpr (std::is_same_v<T, protocol::CompactionRequest>) {
          forward<storage::CompactResponse>(self, q, routes.maintenance, std::move(call),
                                            reply_kv<storage::CompactResponse>);
        } else if constexpr (std::is_same_v<T, protocol::HashKVRequest>) {
          forward<protocol::HashKVResponse>(self, q, routes.maintenance, std::move(call),
                                            reply_body<protocol::HashKVResponse>);
        } else if constexpr (std::is_same_v<T, protocol::StatusRequest>) {
          forward<protocol::StatusResponse>(self, q, routes.maintenance, std::move(call),
                                            reply_body<protocol::StatusResponse>);
        } else if constexpr (std::is_same_v<T, protocol::DefragmentRequest>) {
          forward<protocol::DefragmentResponse>(self, q, routes.maintenance, std::move(call),
                                                reply_body<protocol::DefragmentResponse>);
        } else if constexpr (std::is_same_v<T, protocol::AlarmRequest>) {
          forward<protocol::AlarmResponse>(self, q, routes.maintenance, std::move(call),
                                           reply_body<protocol::AlarmResponse>);
        } else if constexpr (std::is_same_v<T, protocol::SnapshotRequest>) {
          forward<SnapshotPayload>(self, q, routes.maintenance, std::move(call), reply_snapshot);
        } else if constexpr (std::is_same_v<T, protocol::WatchRequest>) {
          serve_watch(self, q.msgid, call, q.received);
        } else if constexpr (LeaseRequest<T>) {
          forward_lease(self, q, routes.lessor, std::move(call));
        }
      },
      q.call);
}

void pump(Self* self) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    QueuedCall& next = st.queue.front();
    if (next.write ? (st.write_in_flight || st.reads_in_flight > 0) : st.write_in_flight) return;
    QueuedCall q = std::move(next);
    st.queue.pop_front();
    if (q.write) {
      st.write_in_flight = true;
    } else {
      ++st.reads_in_flight;
    }
    dispatch(self, q);
  }
}

// Static validation happens here, before anything is queued: a bad request is answered at
// once and never reaches a shard.
template <class T>
std::optional<protocol::WireError> validate(const T& call, const NodeOptions& options) {
  storage::Status s;
  if constexpr (std::is_same_v<T, storage::RangeRequest>) s = storage::validate_range(call);
  if constexpr (std::is_same_v<T, storage::PutRequest>) s = storage::validate_put(call);
  if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) s = storage::validate_delete(call);
  if constexpr (std::is_same_v<T, storage::TxnRequest>) {
    s = storage::validate_txn(call, options.max_txn_ops);
  }
  if (!s.ok()) return protocol::to_wire_error(s.error());
  return std::nullopt;
}

// Answers a request refused before it was queued.
void refuse(Self* self, uint32_t msgid, protocol::Method method, Clock::time_point received,
            const protocol::WireError& error) {
  reply_error(self, msgid, error);
  count_request(self, method, received, error.code);
}

template <class T>
void accept(Self* self, uint32_t msgid, protocol::Method method, const msgpack::object& body,
            bool write) {
  auto received = self->state.metrics ? Clock::now() : Clock::time_point{};
  auto decoded = protocol::decode_body<T>(body);
  if (!decoded.ok()) return refuse(self, msgid, method, received, decoded.error());
  if (auto err = validate(decoded.value(), self->state.ctx->options)) {
    return refuse(self, msgid, method, received, *err);
  }
  if constexpr (std::is_same_v<T, storage::PutRequest> || std::is_same_v<T, storage::TxnRequest>) {
    if (self->state.ctx->refuse_for_space(storage::request_cost(decoded.value()))) {
      return refuse(self, msgid, method, received,
                    protocol::to_wire_error(storage::Errc::no_space));
    }
  }
  self->state.queue.push_back(
      QueuedCall{msgid, Call{std::move(decoded).value()}, write, method, received});
}

void on_request(Self* self, protocol::RequestFrame& frame) {
  auto method = protocol::method_from_name(frame.method);
  if (!method) return reply_error(self, frame.msgid, protocol::unknown_method(frame.method));
  visit_method(*method, [&](auto request_type, bool write) {
    accept<typename decltype(request_type)::type>(self, frame.msgid, *method, frame.body, write);
  });
}

void close_connection(Self* self) {
  auto& st = self->state;
  st.closing = true;
  self->flush(st.hdl);
  self->close(st.hdl);
  self->quit();
}

// Decodes and queues received frames while the session is under its limits (a read of
// 64 KiB can hold thousands of small requests).
void process_input(Self* self) {
  auto& st = self->state;
  if (st.processing) return;
  st.processing = true;
  while (!st.closing && !over_limit(st)) {
    auto frame = st.decoder->next();
    if (!frame) break;
    if (auto* req = std::get_if<protocol::RequestFrame>(&*frame)) {
      on_request(self, *req);
    } else {
      auto& err = std::get<protocol::FrameError>(*frame);
      reply_error(self, err.msgid, err.error);
      if (err.close) break;
    }
    pump(self);
  }
  st.processing = false;
  if (!st.closing && st.decoder->closed()) close_connection(self);
}

}  // namespace

caf::behavior session_actor(Self* self, caf::io::connection_handle hdl, NodeContextPtr ctx,
                            Routes routes);

caf::actor fork_session(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                        NodeContextPtr ctx, Routes routes) {
  return acceptor->fork(session_actor, hdl, std::move(ctx), std::move(routes));
}

caf::behavior session_actor(Self* self, caf::io::connection_handle hdl, NodeContextPtr ctx,
                            Routes routes) {
  auto& st = self->state;
  st.hdl = hdl;
  protocol::FrameLimits limits;
  limits.max_request_bytes = ctx->options.max_request_bytes;
  st.decoder = std::make_unique<protocol::FrameDecoder>(limits);
  st.ctx = std::move(ctx);
  st.metrics = st.ctx->metrics.get();
  if (st.metrics) st.metrics->connection_opened();
  st.routes = std::move(routes);
  self->configure_read(hdl, caf::io::receive_policy::at_most(64 * 1024));
  self->ack_writes(hdl, true);
  return {
      [self](caf::io::new_data_msg& msg) {
        auto& st = self->state;
        if (st.closing) return;
        if (st.metrics) st.metrics->bytes_received(msg.buf.size());
        // halt() does not end CAF's current read loop: data can still arrive while over
        // the limit. It waits in the decoder, undecoded, until update_reading() resumes.
        st.decoder->feed(std::string_view(msg.buf.data(), msg.buf.size()));
        update_reading(self);
      },
      [self](caf::io::data_transferred_msg& msg) {
        auto& st = self->state;
        st.bytes_transferred += msg.written;
        if (st.watch_congested &&
            st.bytes_written - st.bytes_transferred < st.ctx->options.watch_buffer_bytes / 2) {
          st.watch_congested = false;
          self->send(st.routes.watch_hub, watch_drained_atom::value);
        }
        update_reading(self);
      },
      [self](watch_created_atom, uint32_t msgid, uint64_t, int64_t revision) {
        auto& st = self->state;
        auto it = st.watch_pending.find(msgid);
        if (it == st.watch_pending.end()) return;
        protocol::WatchResponse r;
        r.header = st.ctx->header(revision);
        r.watch_id = it->second.watch_id;
        r.created = true;
        auto received = it->second.received;
        st.watch_pending.erase(it);
        reply_watch(self, msgid, r);
        finish_watch_call(self, received);
      },
      [self](watch_progress_atom, uint32_t msgid, int64_t revision) {
        auto& st = self->state;
        auto it = st.watch_pending.find(msgid);
        if (it == st.watch_pending.end()) return;
        auto received = it->second.received;
        st.watch_pending.erase(it);
        // A watcher parked here but not yet at the hub may get history at or below the
        // hub's answer again: no promise then (SPEC §7.9, a dropped progress request).
        if (revision < 0 || !st.parked.empty()) {
          reply_nothing(self, msgid);
        } else {
          protocol::WatchResponse r;
          r.header = st.ctx->header(revision);
          r.watch_id = -1;
          reply_watch(self, msgid, r);
        }
        finish_watch_call(self, received);
      },
      [self](watch_cancel_atom, uint32_t msgid) {
        auto& st = self->state;
        auto it = st.watch_pending.find(msgid);
        if (it == st.watch_pending.end()) return;
        auto pending = it->second;
        st.watch_pending.erase(it);
        reply_canceled(self, msgid, pending.watch_id);
        finish_watch_call(self, pending.received);
      },
      [self](watch_out_atom, WatchDeliveries& deliveries) {
        if (self->state.closing) return;
        deliver_watch(self, deliveries);
      },
      [self](watch_unpark_atom, uint64_t tag) { self->state.parked.erase(tag); },
      [self](const caf::io::connection_closed_msg&) { self->quit(); },
      [self](shutdown_atom) {
        auto& st = self->state;
        st.draining = true;
        if (st.reading) {
          self->halt(st.hdl);
          st.reading = false;
        }
        if (idle(st)) close_connection(self);
      },
  };
}

}  // namespace revkv::actors
