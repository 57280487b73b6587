#include "protocol/frame.hpp"

#include "protocol/codec.hpp"

#include <algorithm>
#include <limits>
#include <new>

namespace revkv::protocol {
namespace {

// One msgpack header as the scanner sees it.
struct Head {
  std::size_t size = 0;   // bytes of the header itself
  uint64_t payload = 0;   // bytes that follow it (str/bin/ext data, scalar bodies)
  uint64_t elements = 0;  // for a container: array elements, or 2 x map entries
  bool container = false;
};

uint64_t big_endian(const unsigned char* p, std::size_t n) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = (v << 8) | p[i];
  return v;
}

enum class HeadResult { ok, need_more, malformed };

// Reads the header at p (avail bytes available). Reads nothing past avail.
HeadResult read_head(const unsigned char* p, std::size_t avail, Head& h) {
  if (avail == 0) return HeadResult::need_more;
  const unsigned char b = p[0];
  h = Head{};
  // Headers whose length field follows the type byte: n length bytes, `extra` more
  // header bytes (the ext type), then `len` payload bytes.
  auto sized = [&](std::size_t n, std::size_t extra) {
    if (avail < 1 + n) return HeadResult::need_more;
    h.size = 1 + n + extra;
    h.payload = big_endian(p + 1, n);
    return HeadResult::ok;
  };
  auto container = [&](std::size_t n, bool map) {
    if (avail < 1 + n) return HeadResult::need_more;
    h.size = 1 + n;
    h.container = true;
    h.elements = big_endian(p + 1, n) * (map ? 2 : 1);
    return HeadResult::ok;
  };
  auto scalar = [&](uint64_t body) {
    h.size = 1;
    h.payload = body;
    return HeadResult::ok;
  };
  if (b <= 0x7f || b >= 0xe0) return scalar(0);  // fixint
  if (b <= 0x8f) {                               // fixmap
    h.size = 1;
    h.container = true;
    h.elements = 2u * (b & 0x0fu);
    return HeadResult::ok;
  }
  if (b <= 0x9f) {  // fixarray
    h.size = 1;
    h.container = true;
    h.elements = b & 0x0fu;
    return HeadResult::ok;
  }
  if (b <= 0xbf) return scalar(b & 0x1fu);  // fixstr
  switch (b) {
    case 0xc0:  // nil
    case 0xc2:  // false
    case 0xc3:  // true
      return scalar(0);
    case 0xc1:  // never used
      return HeadResult::malformed;
    case 0xc4:  // bin 8/16/32
      return sized(1, 0);
    case 0xc5:
      return sized(2, 0);
    case 0xc6:
      return sized(4, 0);
    case 0xc7:  // ext 8/16/32
      return sized(1, 1);
    case 0xc8:
      return sized(2, 1);
    case 0xc9:
      return sized(4, 1);
    case 0xca:  // float 32/64
      return scalar(4);
    case 0xcb:
      return scalar(8);
    case 0xcc:  // uint 8..64
    case 0xd0:  // int 8..64
      return scalar(1);
    case 0xcd:
    case 0xd1:
      return scalar(2);
    case 0xce:
    case 0xd2:
      return scalar(4);
    case 0xcf:
    case 0xd3:
      return scalar(8);
    case 0xd4:  // fixext 1..16: type byte + data
      return scalar(2);
    case 0xd5:
      return scalar(3);
    case 0xd6:
      return scalar(5);
    case 0xd7:
      return scalar(9);
    case 0xd8:
      return scalar(17);
    case 0xd9:  // str 8/16/32
      return sized(1, 0);
    case 0xda:
      return sized(2, 0);
    case 0xdb:
      return sized(4, 0);
    case 0xdc:  // array 16/32
      return container(2, false);
    case 0xdd:
      return container(4, false);
    case 0xde:  // map 16/32
      return container(2, true);
    case 0xdf:
      return container(4, true);
    default:
      return HeadResult::malformed;
  }
}

bool is_array_head(unsigned char b) {
  return (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd;
}

// Reads a non-negative integer at p, if complete and of a positive-int encoding.
std::optional<uint64_t> read_uint(const unsigned char* p, std::size_t avail, std::size_t& used) {
  if (avail == 0) return std::nullopt;
  if (p[0] <= 0x7f) {
    used = 1;
    return p[0];
  }
  std::size_t n = p[0] == 0xcc ? 1 : p[0] == 0xcd ? 2 : p[0] == 0xce ? 4 : p[0] == 0xcf ? 8 : 0;
  if (n == 0 || avail < 1 + n) return std::nullopt;
  used = 1 + n;
  return big_endian(p + 1, n);
}

// The type and msgid of a (possibly incomplete or broken) frame, read from its first
// bytes: an error reply carries the msgid when it can be known.
struct Prefix {
  std::optional<uint64_t> type;
  std::optional<uint32_t> msgid;
};

Prefix peek_prefix(std::string_view frame) {
  Prefix out;
  const auto* p = reinterpret_cast<const unsigned char*>(frame.data());
  std::size_t avail = frame.size();
  Head h;
  if (read_head(p, avail, h) != HeadResult::ok || !h.container || !is_array_head(p[0]) ||
      h.elements < 1)
    return out;
  std::size_t at = h.size;
  std::size_t used = 0;
  out.type = read_uint(p + at, avail - at, used);
  if (!out.type || h.elements < 2) return out;
  at += used;
  auto msgid = read_uint(p + at, avail - at, used);
  if (msgid && *msgid <= std::numeric_limits<uint32_t>::max())
    out.msgid = static_cast<uint32_t>(*msgid);
  return out;
}

uint32_t request_msgid(const Prefix& prefix) {
  return prefix.type == 0u && prefix.msgid ? *prefix.msgid : 0;
}

}  // namespace

FrameDecoder::FrameDecoder(FrameLimits limits) : limits_(limits) {}

void FrameDecoder::feed(std::string_view bytes) {
  if (closed_) return;
  if (head_ > 0) {  // drop frames already returned before growing the buffer
    buffer_.erase(0, head_);
    head_ = 0;
  }
  buffer_.append(bytes);
}

void FrameDecoder::reset_scan() {
  pos_ = 0;
  pending_.clear();
  top_size_ = 0;
  params_start_ = 0;
  elements_ = 0;
}

FrameDecoder::Scan FrameDecoder::scan() {
  const auto* base = reinterpret_cast<const unsigned char*>(buffer_.data() + head_);
  const std::size_t avail = buffer_.size() - head_;
  const std::size_t max = limits_.max_frame_bytes();
  if (avail == 0) return Scan::need_more;
  // Every frame is an array: anything else is garbage, known from its first byte.
  if (pos_ == 0 && !is_array_head(base[0])) return Scan::malformed;
  for (;;) {
    Head h;
    switch (read_head(base + pos_, avail - pos_, h)) {
      case HeadResult::need_more:
        return Scan::need_more;
      case HeadResult::malformed:
        return Scan::malformed;
      case HeadResult::ok:
        break;
    }
    if (pending_.size() == 1 && top_size_ - pending_[0] == 3) params_start_ = pos_;
    if (h.container) {
      if (pos_ + h.size > max) return Scan::too_large;
      pos_ += h.size;
      elements_ = static_cast<std::size_t>(
          std::min<uint64_t>(elements_ + h.elements, std::numeric_limits<uint32_t>::max()));
      if (pending_.empty()) top_size_ = static_cast<std::size_t>(h.elements);
      if (h.elements > 0) {
        if (pending_.size() >= limits_.max_depth) return Scan::malformed;
        pending_.push_back(h.elements);
        continue;
      }
    } else {
      // Compared before waiting for the payload: a declared 4 GiB str is refused at
      // once, without buffering any of it.
      if (h.payload > max || pos_ + h.size + h.payload > max) return Scan::too_large;
      if (pos_ + h.size + h.payload > avail) return Scan::need_more;
      pos_ += h.size + static_cast<std::size_t>(h.payload);
    }
    // One element is complete: close every container it completes.
    while (!pending_.empty()) {
      if (--pending_.back() > 0) break;
      pending_.pop_back();
    }
    if (pending_.empty()) return Scan::complete;
  }
}

FrameError FrameDecoder::closing(WireError error) {
  auto prefix = peek_prefix(std::string_view(buffer_).substr(head_));
  closed_ = true;
  buffer_.clear();
  buffer_.shrink_to_fit();
  head_ = 0;
  reset_scan();
  return FrameError{request_msgid(prefix), std::move(error), true};
}

std::optional<Frame> FrameDecoder::next() {
  while (!closed_) {
    switch (scan()) {
      case Scan::need_more:
        return std::nullopt;
      case Scan::malformed:
        return closing(malformed_frame());
      case Scan::too_large:
        return closing(to_wire_error(storage::Errc::request_too_large));
      case Scan::complete:
        break;
    }
    std::string_view frame(buffer_.data() + head_, pos_);
    bool too_many = elements_ > limits_.max_elements;
    std::size_t params_bytes = params_start_ == 0 ? 0 : pos_ - params_start_;
    head_ += pos_;
    reset_scan();

    Prefix prefix = peek_prefix(frame);
    if (prefix.type == 1u || prefix.type == 2u) continue;  // a client's response/notification
    if (prefix.type == 0u && (too_many || params_bytes > limits_.max_request_bytes))
      return FrameError{request_msgid(prefix), to_wire_error(storage::Errc::request_too_large),
                        false};
    if (auto f = interpret(frame)) return f;
  }
  return std::nullopt;
}

namespace {

// The metadata map of params[1]: `token` (str or bin) is the caller's auth token,
// `forwarded` (bool) the mark of a request a cluster member forwarded; other entries are
// ignored, as gRPC servers ignore metadata they do not know.
struct Meta {
  std::optional<std::string> token;
  bool forwarded = false;
};

Decoded<Meta> read_meta(const msgpack::object& meta) {
  Meta out;
  if (meta.type != msgpack::type::MAP) return out;
  for (uint32_t i = 0; i < meta.via.map.size; ++i) {
    const msgpack::object_kv& kv = meta.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR && kv.key.type != msgpack::type::BIN) continue;
    std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    if (kv.val.type == msgpack::type::NIL) continue;
    if (key == "token") {
      if (kv.val.type != msgpack::type::STR && kv.val.type != msgpack::type::BIN)
        return bad_request("params[1].token: expected str");
      out.token.emplace(kv.val.via.str.ptr, kv.val.via.str.size);
    } else if (key == "forwarded") {
      if (kv.val.type != msgpack::type::BOOLEAN)
        return bad_request("params[1].forwarded: expected bool");
      out.forwarded = kv.val.via.boolean;
    }
  }
  return out;
}

}  // namespace

std::optional<Frame> FrameDecoder::interpret(std::string_view frame) {
  // The scan has bounded the frame, so limits derived from its length are safe: no
  // container can declare more elements than there are bytes.
  const std::size_t n = frame.size();
  const std::size_t count = std::min(n, limits_.max_elements);
  msgpack::unpack_limit limits(count, count, n, n, n, limits_.max_depth + 1);
  msgpack::object_handle handle;
  Prefix prefix = peek_prefix(frame);
  auto malformed = [&] {
    auto error = FrameError{request_msgid(prefix), malformed_frame(), true};
    closed_ = true;
    buffer_.clear();
    head_ = 0;
    return error;
  };
  try {
    handle = msgpack::unpack(frame.data(), n, nullptr, nullptr, limits);
  } catch (const msgpack::unpack_error&) {
    return malformed();
  } catch (const std::bad_alloc&) {
    return malformed();
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size == 0) return malformed();
  const msgpack::object* el = root.via.array.ptr;
  if (el[0].type != msgpack::type::POSITIVE_INTEGER) return malformed();
  if (el[0].via.u64 == 1 || el[0].via.u64 == 2) return std::nullopt;
  if (el[0].via.u64 != 0 || root.via.array.size != 4) return malformed();
  if (el[1].type != msgpack::type::POSITIVE_INTEGER ||
      el[1].via.u64 > std::numeric_limits<uint32_t>::max())
    return malformed();
  if ((el[2].type != msgpack::type::STR && el[2].type != msgpack::type::BIN) ||
      el[3].type != msgpack::type::ARRAY)
    return malformed();

  RequestFrame request;
  request.msgid = static_cast<uint32_t>(el[1].via.u64);
  // STR and BIN have the same {size, ptr} layout in msgpack-cxx.
  request.method.assign(el[2].via.str.ptr, el[2].via.str.size);
  const msgpack::object_array& params = el[3].via.array;
  auto nil_or_map = [](const msgpack::object& o) {
    return o.type == msgpack::type::NIL || o.type == msgpack::type::MAP;
  };
  if (params.size == 0) {
    request.body = msgpack::object();  // nil
  } else if (params.size <= 2 && nil_or_map(params.ptr[0]) &&
             (params.size == 1 || nil_or_map(params.ptr[1]))) {
    request.body = params.ptr[0];
    if (params.size == 2) {
      auto meta = read_meta(params.ptr[1]);
      if (!meta.ok()) return FrameError{request.msgid, meta.error(), false};
      request.token = std::move(meta.value().token);
      request.forwarded = meta.value().forwarded;
    }
  } else {
    // The frame itself is sound: answer and keep the connection.
    return FrameError{request.msgid, bad_request("params: expected [], [nil], [map] or [map, map]"),
                      false};
  }
  request.handle = std::move(handle);
  return Frame{std::move(request)};
}

void write_request(msgpack::sbuffer& out, uint32_t msgid, std::string_view method,
                   std::string_view body, std::optional<std::string_view> token, bool forwarded) {
  Packer pk(out);
  pk.pack_array(4);
  pk.pack_uint8(0);
  pk.pack_uint32(msgid);
  pk.pack_str(static_cast<uint32_t>(method.size()));
  pk.pack_str_body(method.data(), static_cast<uint32_t>(method.size()));
  if (token || forwarded) {
    pk.pack_array(2);
    if (body.empty()) {
      pk.pack_nil();
    } else {
      out.write(body.data(), body.size());
    }
    pk.pack_map(static_cast<uint32_t>(token.has_value()) + static_cast<uint32_t>(forwarded));
    if (token) {
      pk.pack_str(5);
      pk.pack_str_body("token", 5);
      pk.pack_str(static_cast<uint32_t>(token->size()));
      pk.pack_str_body(token->data(), static_cast<uint32_t>(token->size()));
    }
    if (forwarded) {
      pk.pack_str(9);
      pk.pack_str_body("forwarded", 9);
      pk.pack_true();
    }
  } else if (body.empty()) {
    pk.pack_array(0);
  } else {
    pk.pack_array(1);
    out.write(body.data(), body.size());
  }
}

void write_result(msgpack::sbuffer& out, uint32_t msgid, std::string_view result) {
  Packer pk(out);
  pk.pack_array(4);
  pk.pack_uint8(1);
  pk.pack_uint32(msgid);
  pk.pack_nil();
  out.write(result.data(), result.size());
}

void write_error(msgpack::sbuffer& out, uint32_t msgid, const WireError& error) {
  Packer pk(out);
  pk.pack_array(4);
  pk.pack_uint8(1);
  pk.pack_uint32(msgid);
  encode_error(pk, error);
  pk.pack_nil();
}

void write_notification(msgpack::sbuffer& out, std::string_view method, std::string_view body) {
  Packer pk(out);
  pk.pack_array(3);
  pk.pack_uint8(2);
  pk.pack_str(static_cast<uint32_t>(method.size()));
  pk.pack_str_body(method.data(), static_cast<uint32_t>(method.size()));
  pk.pack_array(1);
  out.write(body.data(), body.size());
}

}  // namespace revkv::protocol
