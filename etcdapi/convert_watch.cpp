// etcd's Watch messages <-> protocol/messages.hpp (declared in convert.hpp).
#include "etcdapi/convert.hpp"

namespace revkv::etcdapi {

namespace {

// proto3 has no absent bytes: an empty range_end is "only the key" (as in KV requests).
std::optional<std::string> range_end_of(const std::string& end) {
  if (end.empty()) return std::nullopt;
  return end;
}

}  // namespace

std::optional<protocol::WatchRequest> from_proto(const etcdserverpb::WatchRequest& in) {
  switch (in.request_union_case()) {
    case etcdserverpb::WatchRequest::kCreateRequest: {
      const auto& c = in.create_request();
      protocol::WatchCreateRequest out;
      out.key = c.key();
      out.range_end = range_end_of(c.range_end());
      out.start_revision = c.start_revision();
      out.progress_notify = c.progress_notify();
      for (int f : c.filters())
        out.filters.push_back(static_cast<protocol::WatchFilter>(f));
      out.prev_kv = c.prev_kv();
      out.watch_id = c.watch_id();
      out.fragment = c.fragment();
      return protocol::WatchRequest{std::move(out)};
    }
    case etcdserverpb::WatchRequest::kCancelRequest:
      return protocol::WatchRequest{protocol::WatchCancelRequest{in.cancel_request().watch_id()}};
    case etcdserverpb::WatchRequest::kProgressRequest:
      return protocol::WatchRequest{protocol::WatchProgressRequest{}};
    case etcdserverpb::WatchRequest::REQUEST_UNION_NOT_SET:
      break;
  }
  return std::nullopt;
}

void to_proto(const storage::Event& in, mvccpb::Event& out) {
  out.set_type(in.type == storage::Event::Type::put ? mvccpb::Event::PUT : mvccpb::Event::DELETE);
  to_proto(in.kv, *out.mutable_kv());
  if (in.prev_kv) to_proto(*in.prev_kv, *out.mutable_prev_kv());
}

void to_proto(const protocol::WatchResponse& in, etcdserverpb::WatchResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_watch_id(in.watch_id);
  out.set_created(in.created);
  out.set_canceled(in.canceled);
  out.set_compact_revision(in.compact_revision);
  out.set_cancel_reason(in.cancel_reason);
  out.set_fragment(in.fragment);
  out.mutable_events()->Reserve(static_cast<int>(in.events.size()));
  for (const auto& e : in.events)
    to_proto(e, *out.add_events());
}

// ---- the reverse directions, for clients and tests

void to_proto(const protocol::WatchRequest& in, etcdserverpb::WatchRequest& out) {
  if (const auto* c = std::get_if<protocol::WatchCreateRequest>(&in.request)) {
    auto& p = *out.mutable_create_request();
    p.set_key(c->key);
    if (c->range_end) p.set_range_end(*c->range_end);
    p.set_start_revision(c->start_revision);
    p.set_progress_notify(c->progress_notify);
    for (auto f : c->filters)
      p.add_filters(static_cast<etcdserverpb::WatchCreateRequest::FilterType>(f));
    p.set_prev_kv(c->prev_kv);
    p.set_watch_id(c->watch_id);
    p.set_fragment(c->fragment);
  } else if (const auto* x = std::get_if<protocol::WatchCancelRequest>(&in.request)) {
    out.mutable_cancel_request()->set_watch_id(x->watch_id);
  } else {
    out.mutable_progress_request();
  }
}

storage::Event from_proto(const mvccpb::Event& in) {
  storage::Event out;
  out.type =
      in.type() == mvccpb::Event::DELETE ? storage::Event::Type::del : storage::Event::Type::put;
  out.kv = from_proto(in.kv());
  if (in.has_prev_kv()) out.prev_kv = from_proto(in.prev_kv());
  return out;
}

protocol::WatchResponse from_proto(const etcdserverpb::WatchResponse& in) {
  protocol::WatchResponse out;
  out.header = from_proto(in.header());
  out.watch_id = in.watch_id();
  out.created = in.created();
  out.canceled = in.canceled();
  out.compact_revision = in.compact_revision();
  out.cancel_reason = in.cancel_reason();
  out.fragment = in.fragment();
  for (const auto& e : in.events())
    out.events.push_back(from_proto(e));
  return out;
}

}  // namespace revkv::etcdapi
