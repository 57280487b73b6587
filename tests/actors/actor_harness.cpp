#include "tests/actors/actor_harness.hpp"

#include "actors/methods.hpp"
#include "actors/msgpack_answer.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/actors/harness_door.hpp"

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
  config.clock = options_.clock;
  config.options.sync = options_.sync;
  config.options.quota_backend_bytes = options_.quota_backend_bytes;
  config.backend.sync = false;  // as revkvd: the backend actor syncs the WAL itself
  config.backend.hooks = options_.backend_hooks;
  auto started = actors::Node::start(sys_, config);
  if (!started.ok()) throw std::runtime_error("Node::start: " + started.error().message());
  node_ = std::move(*started);
  routes_ = node_->routes();
}

ActorHarness::~ActorHarness() {
  stream_.reset();
  close_door();
  for (const auto& a : silent_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  auto stopped = node_->stop();
  CHECK(stopped.ok());
}

actors::Answer ActorHarness::call_path(actors::Request request) {
  std::optional<actors::Answer> answer;
  caf::error failure;
  self_->request(door(), options_.timeout, harness_call_atom::value, std::move(request))
      .receive([&](actors::Answer& a) { answer = std::move(a); },
               [&](caf::error& e) { failure = std::move(e); });
  if (!answer) fail(failure);
  return std::move(*answer);
}

const caf::actor& ActorHarness::door() {
  if (!door_) door_ = spawn_harness_door(sys_, node_->context(), routes_, caf::actor{self_});
  return door_;
}

void ActorHarness::close_door() {
  if (door_) caf::anon_send_exit(door_, caf::exit_reason::user_shutdown);
  door_ = nullptr;
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
  std::optional<protocol::Decoded<std::string>> out;
  actors::visit_method(*known, [&](auto request_type, bool) {
    using Req = typename decltype(request_type)::type;
    auto decoded = protocol::decode_body<Req>(object);
    if (!decoded.ok()) {
      out = decoded.error();
      return;
    }
    if constexpr (std::is_same_v<Req, protocol::WatchRequest>) {
      // The harness's watch stream, so that next_watch_response() sees what follows.
      auto answer = watch(decoded.value());
      out = actors::answer_body(
          actors::Answer{answer ? actors::Response{*answer} : actors::Response{actors::NoAnswer{}}},
          *node_->context());
    } else {
      out = actors::answer_body(call_path(actors::Request{std::move(decoded).value()}),
                                *node_->context());
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
  return std::make_unique<HarnessWatchStream>(sys_, node_->context(), routes_, options_.timeout);
}

void ActorHarness::restart() {
  stream_.reset();
  close_door();
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

}  // namespace revkv::testing
