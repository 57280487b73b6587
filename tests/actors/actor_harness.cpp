#include "tests/actors/actor_harness.hpp"

#include "actors/methods.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/range_rules.hpp"
#include "storage/txn_rules.hpp"

#include <caf/io/middleman.hpp>
#include <catch2/catch.hpp>

#include <msgpack.hpp>

namespace revkv::testing {
namespace {

caf::actor_system_config& prepare(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

template <class T>
protocol::Decoded<std::string> kv_bytes(const actors::Node& node, const storage::Result<T>& r) {
  if (!r.ok()) return protocol::to_wire_error(r.error());
  return protocol::encode_kv_to_string(node.context()->header(r->revision), *r);
}

template <class T>
protocol::Decoded<std::string> body_bytes(const storage::Result<T>& r) {
  if (!r.ok()) return protocol::to_wire_error(r.error());
  return protocol::encode_to_string(*r);
}

}  // namespace

ActorHarness::ActorHarness(HarnessOptions options)
    : options_(options), sys_(prepare(cfg_)), self_(sys_, /*hide=*/true) {
  start_node();
}

void ActorHarness::start_node() {
  actors::NodeConfig config;
  config.data_dir = dir_.sub("data");
  config.listen = false;
  config.options.shards = options_.shards;
  config.options.max_txn_ops = options_.max_txn_ops;
  config.options.lease_check_interval = options_.lease_check_interval;
  config.options.lease_revoke_rate = options_.lease_revoke_rate;
  config.options.watch_progress_interval = options_.watch_progress_interval;
  config.options.sync = actors::SyncMode::never;
  config.backend.sync = false;  // as revkvd: the backend actor syncs the WAL itself
  auto started = actors::Node::start(sys_, config);
  if (!started.ok()) throw std::runtime_error("Node::start: " + started.error().message());
  node_ = std::move(*started);
  routes_ = node_->routes();
}

ActorHarness::~ActorHarness() {
  for (const auto& a : silent_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  auto stopped = node_->stop();
  CHECK(stopped.ok());
}

protocol::Decoded<std::string> ActorHarness::call_bytes(std::string_view method,
                                                        std::string_view body) {
  msgpack::object_handle handle;
  msgpack::object object;  // NIL: no body
  if (!body.empty()) {
    try {
      size_t offset = 0;
      handle = msgpack::unpack(body.data(), body.size(), offset);
      if (offset != body.size()) return protocol::bad_request("trailing bytes after the body");
      object = handle.get();
    } catch (const std::exception&) {
      return protocol::malformed_frame();
    }
  }
  auto known = protocol::method_from_name(method);
  if (!known) return protocol::unknown_method(method);
  auto serve = [&](auto tag, auto encode) -> protocol::Decoded<std::string> {
    using Req = typename decltype(tag)::type;
    auto decoded = protocol::decode_body<Req>(object);
    if (!decoded.ok()) return decoded.error();
    return encode(call<ResponseOfT<Req>>(std::move(decoded).value()));
  };
  std::optional<protocol::Decoded<std::string>> out;
  actors::visit_method(*known, [&](auto request_type, bool) {
    using Req = typename decltype(request_type)::type;
    if constexpr (std::is_same_v<Req, protocol::SnapshotRequest>) {
      // Chunks are notifications, which only a session writes: tests/node covers it.
      out = protocol::WireError{protocol::kCodeUnimplemented,
                                "revkv harness: Maintenance.Snapshot streams notifications; "
                                "drive it through a session (tests/node)"};
    } else if constexpr (std::is_same_v<Req, protocol::WatchRequest>) {
      auto decoded = protocol::decode_body<Req>(object);
      if (!decoded.ok()) {
        out = decoded.error();
        return;
      }
      auto answer = watch(decoded.value());
      out = answer ? protocol::encode_to_string(*answer) : std::string("\x80", 1);
    } else if constexpr (std::is_same_v<Req, storage::RangeRequest> ||
                         std::is_same_v<Req, storage::PutRequest> ||
                         std::is_same_v<Req, storage::DeleteRangeRequest> ||
                         std::is_same_v<Req, storage::TxnRequest> ||
                         std::is_same_v<Req, protocol::CompactionRequest>) {
      out = serve(request_type, [this](const auto& r) { return kv_bytes(*node_, r); });
    } else {
      out = serve(request_type, [](const auto& r) { return body_bytes(r); });
    }
  });
  return std::move(*out);
}

std::optional<protocol::WatchResponse> ActorHarness::watch(const protocol::WatchRequest& request) {
  if (!stream_) stream_ = open_watch_stream();
  return stream_->request(request);
}

std::optional<protocol::WatchResponse> ActorHarness::next_watch_response(
    std::chrono::milliseconds timeout) {
  if (!stream_) stream_ = open_watch_stream();
  return stream_->next(timeout);
}

std::unique_ptr<HarnessWatchStream> ActorHarness::open_watch_stream() {
  return std::make_unique<HarnessWatchStream>(sys_, routes_.watch_hub, node_->context(),
                                              options_.timeout);
}

void ActorHarness::restart() {
  stream_.reset();
  auto stopped = node_->stop();
  if (!stopped.ok()) throw std::runtime_error("Node::stop: " + stopped.error().message());
  node_.reset();
  start_node();
}

caf::actor ActorHarness::spawn_silent_actor() {
  auto a = sys_.spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::skip);  // every request stays unanswered in the mailbox
    return {[](actors::shutdown_atom) {}};
  });
  silent_.push_back(a);
  return a;
}

void ActorHarness::fail(const caf::error& error) {
  std::string what = sys_.render(error);
  if (error == caf::sec::request_timeout) {
    const auto& ctx = *node_->context();
    throw CallTimeout("no reply within " + std::to_string(options_.timeout.count()) + " ms: " +
                      what + " (node: last revision " + std::to_string(ctx.last_revision.load()) +
                      ", watermark " + std::to_string(ctx.watermark.load()) + ")");
  }
  throw CallFailed("no reply: " + what);
}

storage::Status ActorHarness::validate(const storage::RangeRequest& request) const {
  return storage::validate_range(request);
}
storage::Status ActorHarness::validate(const storage::PutRequest& request) const {
  return storage::validate_put(request);
}
storage::Status ActorHarness::validate(const storage::DeleteRangeRequest& request) const {
  return storage::validate_delete(request);
}
storage::Status ActorHarness::validate(const storage::TxnRequest& request) const {
  return storage::validate_txn(request, options_.max_txn_ops);
}

// As the session's serve_range: resolve the read revision against the watermark, ask the
// owner shard or every shard for its part, merge, apply the range rules.
storage::Result<storage::RangeResponse> ActorHarness::fan_out_range(
    const storage::RangeRequest& r) {
  const auto& ctx = *node_->context();
  int64_t w = ctx.watermark.load();
  auto rev = storage::resolve_read_revision(r.revision, w, ctx.compact_revision.load());
  if (!rev.ok()) return rev.error();
  auto where = actors::route(r, routes_.shards.size());
  std::vector<caf::actor> targets;
  if (where.target == actors::Target::owner_shard) {
    targets.push_back(routes_.shards[where.shard]);
  } else {
    targets = routes_.shards;
  }
  // Every request is sent before the first reply is awaited: the shards work in parallel.
  using Handle =
      decltype(self_->request(targets[0], options_.timeout, actors::range_atom::value, r, *rev));
  std::vector<Handle> pending;
  for (const auto& shard : targets)
    pending.push_back(self_->request(shard, options_.timeout, actors::range_atom::value, r, *rev));
  std::vector<storage::RangeFetch> parts;
  std::optional<storage::Error> refused;
  std::optional<caf::error> failed;
  for (auto& h : pending) {
    h.receive(
        [&](storage::Result<storage::RangeFetch>& part) {
          if (part.ok()) {
            parts.push_back(std::move(*part));
          } else if (!refused) {
            refused = part.error();
          }
        },
        [&](caf::error& e) {
          if (!failed) failed = std::move(e);
        });
  }
  if (failed) fail(*failed);
  if (refused) return *refused;
  auto fetched = storage::merge_fetches(std::move(parts), storage::fetch_limit(r));
  return storage::finish_range(r, std::move(fetched.kvs), fetched.count, w);
}

const caf::actor& ActorHarness::actor_of(const actors::Route& where) const {
  switch (where.target) {
    case actors::Target::owner_shard:
      return routes_.shards.at(where.shard);
    case actors::Target::coordinator:
      return routes_.coordinator;
    case actors::Target::maintenance:
      return routes_.maintenance;
    case actors::Target::lessor:
      return routes_.lessor;
    case actors::Target::all_shards:
      break;
  }
  throw CallFailed("a write cannot go to every shard");
}

}  // namespace revkv::testing
