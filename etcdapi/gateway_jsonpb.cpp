#include "etcdapi/gateway_jsonpb.hpp"

#include "etcdapi/gateway_enums.hpp"
#include "util/json.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <google/protobuf/descriptor.h>
#include <limits>
#include <variant>
#include <vector>

namespace revkv::etcdapi::gateway {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
namespace json = util::json;

// What encoding/json decodes a value into, and its Go type's name for errors.
struct GoTarget {
  enum class Kind : uint8_t { signed_int, unsigned_int, floating, boolean, string, bytes };
  Kind kind;
  int bits = 64;
  std::string type;
};

// A decoded scalar; monostate: JSON null, which leaves the field as it is.
using Scalar = std::variant<std::monostate, int64_t, uint64_t, double, bool, std::string>;

// Either a value or Go's error.
struct Decoded {
  Scalar value;
  std::optional<std::string> error;
};

std::string kind_word(char kind) {
  switch (kind) {
    case '{':
      return "object";
    case '[':
      return "array";
    case '"':
      return "string";
    case 't':
    case 'f':
      return "bool";
    default:
      return "number";
  }
}

std::string cannot(const std::string& what, const std::string& type) {
  return "json: cannot unmarshal " + what + " into Go value of type " + type;
}

std::string_view trimmed(std::string_view raw) {
  const auto start = raw.find_first_not_of(" \t\r\n");
  if (start == raw.npos) return {};
  return raw.substr(start, raw.find_last_not_of(" \t\r\n") + 1 - start);
}

// strconv.ParseInt / ParseUint / ParseFloat of a JSON number's text, as encoding/json's
// literalStore applies them to an integer or float kind of `bits`.
Decoded number_into(std::string_view literal, const GoTarget& target) {
  const std::string refused = cannot("number " + std::string(literal), target.type);
  const char* first = literal.data();
  const char* last = first + literal.size();
  if (target.kind == GoTarget::Kind::signed_int) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(first, last, v);
    const int64_t bound = target.bits == 64 ? std::numeric_limits<int64_t>::max()
                                            : (int64_t{1} << (target.bits - 1)) - 1;
    if (ec != std::errc() || end != last || v > bound || v < -bound - 1) return {{}, refused};
    return {v, std::nullopt};
  }
  if (target.kind == GoTarget::Kind::unsigned_int) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(first, last, v);
    const uint64_t bound =
        target.bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << target.bits) - 1;
    if (ec != std::errc() || end != last || v > bound) return {{}, refused};
    return {v, std::nullopt};
  }
  const std::string text(literal);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || v == HUGE_VAL || v == -HUGE_VAL) return {{}, refused};
  return {v, std::nullopt};
}

// json.Unmarshal(raw, &target) for a scalar target: raw is whole, well-formed JSON.
Decoded unmarshal_scalar(const json::RawText& text, std::string_view raw, const GoTarget& target) {
  using Kind = GoTarget::Kind;
  const char kind = json::kind(raw);
  switch (kind) {
    case 'n':
      return {};
    case 't':
    case 'f':
      if (target.kind == Kind::boolean) return {kind == 't', std::nullopt};
      return {{}, cannot("bool", target.type)};
    case '"': {
      if (target.kind == Kind::string) return {json::unquote(raw), std::nullopt};
      if (target.kind != Kind::bytes) return {{}, cannot("string", target.type)};
      auto decoded = json::decode_base64(json::unquote(raw));
      if (decoded.corrupt_at)
        return {{}, "illegal base64 data at input byte " + std::to_string(*decoded.corrupt_at)};
      return {std::move(decoded.bytes), std::nullopt};
    }
    case '0':
      if (target.kind == Kind::signed_int || target.kind == Kind::unsigned_int ||
          target.kind == Kind::floating)
        return number_into(trimmed(raw), target);
      return {{}, cannot("number", target.type)};
    case '[': {
      if (target.kind != Kind::bytes) return {{}, cannot("array", target.type)};
      // A []byte from an array: each element a uint8; the first error is the answer, as
      // encoding/json keeps the first it saved.
      const GoTarget byte{Kind::unsigned_int, 8, "uint8"};
      std::string bytes;
      std::optional<std::string> first_error;
      text.for_each_element(raw, [&](std::string_view element) {
        auto b = unmarshal_scalar(text, element, byte);
        if (b.error && !first_error) first_error = b.error;
        const auto* v = std::get_if<uint64_t>(&b.value);
        bytes += static_cast<char>(v ? *v : 0);
      });
      if (first_error) return {{}, first_error};
      return {std::move(bytes), std::nullopt};
    }
    default:
      return {{}, cannot(kind_word(kind), target.type)};
  }
}

GoTarget target_of(const FieldDescriptor& field) {
  using Kind = GoTarget::Kind;
  switch (field.type()) {
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64:
      return {Kind::signed_int, 64, "int64"};
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32:
      return {Kind::signed_int, 32, "int32"};
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64:
      return {Kind::unsigned_int, 64, "uint64"};
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32:
      return {Kind::unsigned_int, 32, "uint32"};
    case FieldDescriptor::TYPE_DOUBLE:
      return {Kind::floating, 64, "float64"};
    case FieldDescriptor::TYPE_FLOAT:
      return {Kind::floating, 32, "float32"};
    case FieldDescriptor::TYPE_BOOL:
      return {Kind::boolean, 1, "bool"};
    case FieldDescriptor::TYPE_BYTES:
      return {Kind::bytes, 8, "[]uint8"};
    case FieldDescriptor::TYPE_ENUM:
      // An enum's Go type is an int32 of its own name.
      return {Kind::signed_int, 32, go_enum_type(*field.enum_type())};
    default:
      return {Kind::string, 0, "string"};
  }
}

void store(Message& message, const FieldDescriptor& field, const Scalar& value, bool add) {
  const Reflection& r = *message.GetReflection();
  const auto* i = std::get_if<int64_t>(&value);
  const auto* u = std::get_if<uint64_t>(&value);
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      add ? r.AddInt64(&message, &field, *i) : r.SetInt64(&message, &field, *i);
      return;
    case FieldDescriptor::CPPTYPE_INT32:
      add ? r.AddInt32(&message, &field, static_cast<int32_t>(*i))
          : r.SetInt32(&message, &field, static_cast<int32_t>(*i));
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
      add ? r.AddEnumValue(&message, &field, static_cast<int>(*i))
          : r.SetEnumValue(&message, &field, static_cast<int>(*i));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      add ? r.AddUInt64(&message, &field, *u) : r.SetUInt64(&message, &field, *u);
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      add ? r.AddUInt32(&message, &field, static_cast<uint32_t>(*u))
          : r.SetUInt32(&message, &field, static_cast<uint32_t>(*u));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      add ? r.AddDouble(&message, &field, std::get<double>(value))
          : r.SetDouble(&message, &field, std::get<double>(value));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      add ? r.AddFloat(&message, &field, static_cast<float>(std::get<double>(value)))
          : r.SetFloat(&message, &field, static_cast<float>(std::get<double>(value)));
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      add ? r.AddBool(&message, &field, std::get<bool>(value))
          : r.SetBool(&message, &field, std::get<bool>(value));
      return;
    case FieldDescriptor::CPPTYPE_STRING:
      add ? r.AddString(&message, &field, std::get<std::string>(value))
          : r.SetString(&message, &field, std::get<std::string>(value));
      return;
    default:
      return;
  }
}

std::optional<std::string> decode_message(const json::RawText& text, std::string_view raw,
                                          Message& message, int depth);

// jsonpb's unmarshalValue for one value of `field` (one element when `add`).
std::optional<std::string> decode_value(const json::RawText& text, std::string_view raw,
                                        Message& message, const FieldDescriptor& field, bool add,
                                        int depth) {
  const Reflection& r = *message.GetReflection();
  const char kind = json::kind(raw);
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    // A null message is left unset (as an element, Go's slice holds a nil pointer; here an
    // empty message takes its place).
    if (kind == 'n') {
      if (add) r.AddMessage(&message, &field);
      return std::nullopt;
    }
    Message* sub = add ? r.AddMessage(&message, &field) : r.MutableMessage(&message, &field);
    return decode_message(text, raw, *sub, depth + 1);
  }
  if (field.type() == FieldDescriptor::TYPE_ENUM && kind == '"') {
    // By name, the raw text between the quotes (jsonpb does not unescape it).
    const std::string_view quoted = trimmed(raw);
    const std::string name(quoted.substr(1, quoted.size() - 2));
    const auto* value = field.enum_type()->FindValueByName(name);
    if (!value)
      return "unknown value " + go_quote(name) + " for enum " + go_enum_type(*field.enum_type());
    store(message, field, int64_t{value->number()}, add);
    return std::nullopt;
  }
  const GoTarget target = target_of(field);
  std::string_view value = raw;
  const bool numeric = target.kind == GoTarget::Kind::signed_int ||
                       target.kind == GoTarget::Kind::unsigned_int ||
                       target.kind == GoTarget::Kind::floating;
  if (numeric && kind == '"') {
    // A number may come as a string: jsonpb drops the quotes and decodes what is between.
    const std::string_view quoted = trimmed(raw);
    value = quoted.substr(1, quoted.size() - 2);
    if (auto bad = json::unmarshal_syntax_error(value)) return bad;
  }
  // (The text between the quotes is its own JSON text, not a part of `text`.)
  auto decoded = value.data() == raw.data() ? unmarshal_scalar(text, value, target)
                                            : unmarshal_scalar(json::RawText(value), value, target);
  if (decoded.error) return decoded.error;
  if (std::holds_alternative<std::monostate>(decoded.value)) {
    // null: nothing set; an element still takes its place (Go's zero value).
    if (!add) return std::nullopt;
    decoded.value = target.kind == GoTarget::Kind::signed_int     ? Scalar{int64_t{0}}
                    : target.kind == GoTarget::Kind::unsigned_int ? Scalar{uint64_t{0}}
                    : target.kind == GoTarget::Kind::floating     ? Scalar{0.0}
                    : target.kind == GoTarget::Kind::boolean      ? Scalar{false}
                                                                  : Scalar{std::string()};
  }
  store(message, field, decoded.value, add);
  return std::nullopt;
}

std::optional<std::string> decode_field(const json::RawText& text, std::string_view raw,
                                        Message& message, const FieldDescriptor& field, int depth) {
  if (!field.is_repeated()) return decode_value(text, raw, message, field, false, depth);
  const char kind = json::kind(raw);
  if (kind == 'n') return std::nullopt;
  if (kind != '[') return cannot(kind_word(kind), "[]json.RawMessage");
  message.GetReflection()->ClearField(&message, &field);
  std::optional<std::string> bad;
  text.for_each_element(raw, [&](std::string_view element) {
    if (!bad) bad = decode_value(text, element, message, field, true, depth);
  });
  return bad;
}

// A oneof's Go type: the interface golang/protobuf generates for it (isCompare_TargetUnion).
std::string go_oneof_type(const google::protobuf::OneofDescriptor& oneof) {
  const auto& message = *oneof.containing_type();
  const std::string& package = message.file()->package();
  const std::string name = go_local_name(message.full_name(), package);
  std::string camel;
  bool upper = true;
  for (const char c : oneof.name()) {
    if (c == '_') {
      upper = true;
      continue;
    }
    camel += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return (package.empty() ? "" : package + ".") + "is" + name + "_" + camel;
}

// What an object gives a message: per field the value under its proto name and under its
// JSON name (the last of each, as a Go map keeps it), and per oneof the value under the
// oneof's own name. Names that are none of these are dropped as they are read.
struct GivenFields {
  std::vector<std::string_view> by_name, by_json_name, by_oneof_name;
};

GivenFields given_fields(const json::RawText& text, std::string_view raw,
                         const google::protobuf::Descriptor& descriptor) {
  GivenFields given;
  given.by_name.resize(static_cast<std::size_t>(descriptor.field_count()));
  given.by_json_name.resize(given.by_name.size());
  given.by_oneof_name.resize(static_cast<std::size_t>(descriptor.oneof_decl_count()));
  text.for_each_member(raw, [&](std::string_view raw_name, std::string_view value) {
    const std::string name = json::unquote(raw_name);
    for (int i = 0; i < descriptor.field_count(); ++i) {
      const FieldDescriptor& field = *descriptor.field(i);
      if (field.name() == name) given.by_name[static_cast<std::size_t>(i)] = value;
      if (field.json_name() == name) given.by_json_name[static_cast<std::size_t>(i)] = value;
    }
    for (int i = 0; i < descriptor.oneof_decl_count(); ++i)
      if (descriptor.oneof_decl(i)->name() == name)
        given.by_oneof_name[static_cast<std::size_t>(i)] = value;
  });
  return given;
}

// Deeper messages than protobuf reads (its default recursion limit): etcd's server could
// not take them from this gateway anyway, and the bound keeps the walk's stack small.
constexpr int kMaxMessageDepth = 100;

std::optional<std::string> decode_message(const json::RawText& text, std::string_view raw,
                                          Message& message, int depth) {
  const char kind = json::kind(raw);
  // null is the empty message (json.Unmarshal of null into a map leaves it empty).
  if (kind == 'n') return std::nullopt;
  if (kind != '{') return cannot(kind_word(kind), "map[string]json.RawMessage");
  if (depth > kMaxMessageDepth) return "gateway: request nested deeper than 100 messages";
  const auto& descriptor = *message.GetDescriptor();
  const GivenFields given = given_fields(text, raw, descriptor);
  const auto value_of = [&](int i) {
    const auto at = static_cast<std::size_t>(i);
    // Both names given: the JSON name's value, as jsonpb favours it.
    return given.by_json_name[at].data() ? given.by_json_name[at] : given.by_name[at];
  };
  // Plain fields in declaration order, a oneof's own name where the oneof's first member
  // stands (that is where golang/protobuf puts its interface field), then the oneofs'
  // members (jsonpb takes them last).
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (const auto* oneof = field.real_containing_oneof()) {
      const std::string_view own = given.by_oneof_name[static_cast<std::size_t>(oneof->index())];
      if (oneof->field(0) == &field && own.data() && json::kind(own) != 'n')
        return cannot(kind_word(json::kind(own)), go_oneof_type(*oneof));
      continue;
    }
    if (const auto value = value_of(i); value.data())
      if (auto bad = decode_field(text, value, message, field, depth)) return bad;
  }
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (!field.real_containing_oneof()) continue;
    if (const auto value = value_of(i); value.data())
      if (auto bad = decode_field(text, value, message, field, depth)) return bad;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> decode_jsonpb(std::string_view json, Message& message) {
  message.Clear();
  const json::RawText text(json);
  return decode_message(text, json, message, 0);
}

}  // namespace revkv::etcdapi::gateway
