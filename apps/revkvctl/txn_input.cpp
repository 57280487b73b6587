#include "apps/revkvctl/txn_input.hpp"

#include "apps/revkvctl/cli.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <optional>

namespace revkv::ctl {
namespace {

protocol::WireError invalid(std::string message) {
  return {protocol::kCodeInvalidArgument, std::move(message)};
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Reads a Go-quoted string ("..." with escapes, or `...`) at s[pos]; advances pos.
std::optional<std::string> read_quoted(std::string_view s, std::size_t& pos) {
  if (pos >= s.size()) return std::nullopt;
  const char quote = s[pos];
  if (quote != '"' && quote != '`') return std::nullopt;
  std::string out;
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == quote) {
      pos = i + 1;
      return out;
    }
    if (c != '\\' || quote == '`') {
      out += c;
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'x': {
        unsigned v = 0;
        if (i + 2 >= s.size() ||
            std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3)
          return std::nullopt;
        out += static_cast<char>(v);
        i += 2;
        break;
      }
      default:
        out += s[i];  // \" \\ \'
    }
  }
  return std::nullopt;
}

void skip_spaces(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && is_space(s[pos]))
    ++pos;
}

}  // namespace

std::vector<std::string> argify(std::string_view line) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    skip_spaces(line, pos);
    if (pos >= line.size()) return out;
    if (line[pos] == '"') {
      std::size_t start = pos;
      if (auto q = read_quoted(line, pos)) {
        out.push_back(std::move(*q));
        continue;
      }
      pos = start;  // unterminated: a bare word, as etcdctl's regexp would read it
    } else if (line[pos] == '\'') {
      auto end = line.find('\'', pos + 1);
      if (end != std::string_view::npos) {
        out.emplace_back(line.substr(pos + 1, end - pos - 1));
        pos = end + 1;
        continue;
      }
    }
    std::size_t start = pos;
    while (pos < line.size() && !is_space(line[pos]))
      ++pos;
    out.emplace_back(line.substr(start, pos - start));
  }
}

client::Result<storage::Compare> parse_compare(std::string_view line) {
  auto malformed = [&] { return invalid("malformed comparison: " + std::string(line)); };
  auto paren = line.find('(');
  if (paren == std::string_view::npos) return malformed();
  std::string target(line.substr(0, paren));
  std::size_t pos = paren + 1;
  auto key = read_quoted(line, pos);
  if (!key || pos >= line.size() || line[pos] != ')') return malformed();
  ++pos;
  skip_spaces(line, pos);
  std::size_t op_start = pos;
  while (pos < line.size() && !is_space(line[pos]))
    ++pos;
  std::string_view op = line.substr(op_start, pos - op_start);
  skip_spaces(line, pos);
  auto value = read_quoted(line, pos);
  if (!value) return malformed();

  storage::Compare c;
  c.key = std::move(*key);
  if (op == "=")
    c.result = static_cast<int32_t>(storage::CompareResult::equal);
  else if (op == "!=")
    c.result = static_cast<int32_t>(storage::CompareResult::not_equal);
  else if (op == ">")
    c.result = static_cast<int32_t>(storage::CompareResult::greater);
  else if (op == "<")
    c.result = static_cast<int32_t>(storage::CompareResult::less);
  else
    return invalid("malformed comparison: " + std::string(line) + " (unknown op " +
                   std::string(op) + ")");

  auto number = [&](int base) -> bool {
    const std::string& v = *value;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), c.number, base);
    return !v.empty() && ec == std::errc{} && end == v.data() + v.size();
  };
  storage::CompareTarget t;
  bool ok = true;
  if (target == "ver" || target == "version") {
    t = storage::CompareTarget::version;
    ok = number(10);
  } else if (target == "c" || target == "create") {
    t = storage::CompareTarget::create;
    ok = number(10);
  } else if (target == "m" || target == "mod") {
    t = storage::CompareTarget::mod;
    ok = number(10);
  } else if (target == "val" || target == "value") {
    t = storage::CompareTarget::value;
    c.value = std::move(*value);
  } else if (target == "lease") {
    t = storage::CompareTarget::lease;
    ok = number(16);
  } else {
    return invalid("malformed comparison: " + std::string(line) + " (unknown target " + target +
                   ")");
  }
  if (!ok) return invalid("malformed comparison: " + std::string(line) + " (bad number)");
  c.target = static_cast<int32_t>(t);
  c.union_kind = t;
  return c;
}

client::Result<storage::RequestOp> parse_request_op(std::string_view line) {
  auto args = argify(line);
  auto bad = [&](const std::string& why) {
    return invalid("invalid txn request: " + std::string(line) +
                   (why.empty() ? "" : " (" + why + ")"));
  };
  if (args.empty()) return bad("");
  const std::string verb = args[0];
  CLI::App app("txn op", verb);
  PutArgs put;
  GetArgs get;
  DelArgs del;
  if (verb == "put")
    add_put_flags(app, put);
  else if (verb == "get")
    add_get_flags(app, get);
  else if (verb == "del" || verb == "delete")
    add_del_flags(app, del);
  else
    return bad("");
  std::vector<std::string> rest(args.rbegin(), args.rend() - 1);  // CLI11: reversed, no verb
  try {
    app.parse(rest);
  } catch (const CLI::ParseError& e) {
    return bad(e.what());
  }
  storage::RequestOp op;
  if (verb == "put") {
    if (put.positionals.size() < 2 && !put.ignore_value) return bad("put needs a key and a value");
    auto r = to_request(put);
    if (!r) return bad(r.error().message);
    op.op = std::move(r).value();
  } else if (verb == "get") {
    auto r = to_request(get);
    if (!r) return bad(r.error().message);
    op.op = std::move(r).value();
  } else {
    auto r = to_request(del);
    if (!r) return bad(r.error().message);
    op.op = std::move(r).value();
  }
  return op;
}

client::Result<storage::TxnRequest> read_txn(std::istream& in, std::ostream* prompts) {
  // One section: lines until a blank line. As etcdctl, every line must end with a newline:
  // input that ends before the failure section's blank line is refused with `EOF` (Go's
  // io.EOF, which etcdctl prints), even within a line, so a cut input never runs.
  auto section = [&](const char* prompt, auto&& parse_line) -> std::optional<protocol::WireError> {
    if (prompts) *prompts << prompt << "\n" << std::flush;
    std::string line;
    for (;;) {
      // getline sets eofbit when the input ends before a newline.
      if (!std::getline(in, line) || in.eof()) return invalid("EOF");
      std::size_t b = 0, e = line.size();
      while (b < e && is_space(line[b]))
        ++b;
      while (e > b && is_space(line[e - 1]))
        --e;
      if (b == e) break;
      if (auto err = parse_line(std::string_view(line).substr(b, e - b))) return err;
    }
    return std::nullopt;
  };
  storage::TxnRequest txn;
  auto ops_into = [](std::vector<storage::RequestOp>& ops) {
    return [&ops](std::string_view l) -> std::optional<protocol::WireError> {
      auto op = parse_request_op(l);
      if (!op) return op.error();
      ops.push_back(std::move(op).value());
      return std::nullopt;
    };
  };
  if (auto err =
          section("compares:", [&](std::string_view l) -> std::optional<protocol::WireError> {
            auto c = parse_compare(l);
            if (!c) return c.error();
            txn.compare.push_back(std::move(c).value());
            return std::nullopt;
          }))
    return *err;
  if (auto err = section("success requests (get, put, del):", ops_into(txn.success))) return *err;
  if (auto err = section("failure requests (get, put, del):", ops_into(txn.failure))) return *err;
  return txn;
}

}  // namespace revkv::ctl
