#include "client/response_decoder.hpp"

#include "protocol/codec.hpp"

#include <cstring>
#include <limits>
#include <new>

namespace revkv::client {
namespace {

protocol::WireError malformed(std::string_view why) {
  return {kCodeInternal, "revkv: malformed response frame: " + std::string(why)};
}

// Copy str/bin payloads into the frame's zone instead of referencing the unpacker's
// buffer: a Response then stays valid on its own, whatever the decoder does next.
bool copy_payloads(msgpack::type::object_type, std::size_t, void*) {
  return false;
}

msgpack::unpack_limit unpack_limits(const ClientLimits& l) {
  return msgpack::unpack_limit(l.max_container_elements, l.max_container_elements,
                               l.max_frame_bytes, l.max_frame_bytes, l.max_frame_bytes,
                               l.max_depth + 1);
}

}  // namespace

ResponseDecoder::ResponseDecoder(ClientLimits limits)
    : limits_(limits),
      unpacker_(&copy_payloads, nullptr, MSGPACK_UNPACKER_INIT_BUFFER_SIZE, unpack_limits(limits)) {
}

void ResponseDecoder::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  unpacker_.reserve_buffer(bytes.size());
  std::memcpy(unpacker_.buffer(), bytes.data(), bytes.size());
  unpacker_.buffer_consumed(bytes.size());
  fed_ += bytes.size();
}

bool interpret_incoming(msgpack::object_handle handle, Incoming& out) {
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size == 0) return false;
  const msgpack::object* el = root.via.array.ptr;
  if (el[0].type != msgpack::type::POSITIVE_INTEGER) return false;
  if (el[0].via.u64 == 1 && root.via.array.size == 4) {
    if (el[1].type != msgpack::type::POSITIVE_INTEGER ||
        el[1].via.u64 > std::numeric_limits<uint32_t>::max())
      return false;
    Response r;
    r.msgid = static_cast<uint32_t>(el[1].via.u64);
    if (el[2].type != msgpack::type::NIL) {
      r.error = protocol::decode_error(el[2]);
      // An error we cannot read is still an error, never a success.
      if (!r.error) r.error = protocol::WireError{2, "revkv: unreadable error object"};
    } else {
      r.result = el[3];
    }
    r.handle = std::move(handle);
    out = std::move(r);
    return true;
  }
  if (el[0].via.u64 == 2 && root.via.array.size == 3) {
    if ((el[1].type != msgpack::type::STR && el[1].type != msgpack::type::BIN) ||
        el[2].type != msgpack::type::ARRAY)
      return false;
    Notification n;
    n.method.assign(el[1].via.str.ptr, el[1].via.str.size);  // STR/BIN share the layout
    if (el[2].via.array.size > 0) n.body = el[2].via.array.ptr[0];
    n.handle = std::move(handle);
    out = std::move(n);
    return true;
  }
  return false;
}

Result<std::optional<Incoming>> ResponseDecoder::next() {
  if (failed_) return *failed_;
  msgpack::object_handle handle;
  bool complete = false;
  try {
    complete = unpacker_.next(handle);
  } catch (const std::bad_alloc&) {
    failed_ = malformed("too large");
  } catch (const std::exception& e) {  // unpack_error, size_overflow, depth_size_overflow ...
    failed_ = malformed(e.what());
  }
  if (failed_) return *failed_;
  if (!complete) {
    // Every byte still buffered belongs to the one incomplete frame.
    if (fed_ - consumed_ > limits_.max_frame_bytes) {
      failed_ =
          malformed("frame larger than " + std::to_string(limits_.max_frame_bytes) + " bytes");
      return *failed_;
    }
    return std::optional<Incoming>{};
  }
  consumed_ = fed_ - unpacker_.nonparsed_size();
  Incoming out;
  if (!interpret_incoming(std::move(handle), out)) {
    failed_ = malformed("not a response or notification");
    return *failed_;
  }
  return std::optional<Incoming>{std::move(out)};
}

}  // namespace revkv::client
