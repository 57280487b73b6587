// JWT tokens side by side with a real etcd 3.4: both started with the same
// `--auth-token jwt,...` and the same key made by `openssl`, the same etcdctl 3.4 and JSON
// gateway calls carrying those tokens must answer the same (headers and tokens
// normalized), and the tokens of both must have the same header and claim names (and
// values, but for `exp`, which is checked against the ttl). Also: a verify-only member's
// Authenticate, a short ttl's expiry waited for with a deadline, revkvd's startup errors,
// and the MessagePack door taking the same tokens (no etcd needed). Skipped, not passed,
// where etcd, etcdctl, openssl or curl is missing.

#include "auth/base64url.hpp"
#include "client/client.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/security_doc.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace revkv {
namespace {

using nlohmann::json;

bool have_tools() {
  return testing::run_shell("openssl version >/dev/null 2>&1 && curl --version >/dev/null 2>&1")
             .status == 0;
}

// The key files for `method` in `dir`: jwt.key (private, or the HMAC secret) and jwt.pub.
void make_key(const testing::TempDir& dir, const std::string& method) {
  std::string family = method.substr(0, 2);
  std::string cmd;
  if (family == "HS") {
    cmd = "openssl rand -out jwt.key 32";
  } else if (family == "ES") {
    // docs/SECURITY.md's commands, as written there.
    cmd = testing::security_doc_block("jwt-setup");
  } else {
    cmd =
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt.key && "
        "openssl pkey -in jwt.key -pubout -out jwt.pub";
  }
  REQUIRE(testing::run_shell("cd '" + dir.str() + "' && { " + cmd + "\n} >/dev/null 2>&1").status ==
          0);
}

std::string spec(const testing::TempDir& dir, const std::string& method, bool priv, bool pub,
                 const std::string& ttl) {
  std::string out = "jwt,sign-method=" + method;
  if (pub) out += ",pub-key=" + dir.sub("jwt.pub");
  if (priv) out += ",priv-key=" + dir.sub("jwt.key");
  return out + ",ttl=" + ttl;
}

// One server's side: etcdctl steps, or gateway calls (`curl ARGS`, ENDPOINT and {TOKEN}
// replaced; the token of the last Authenticate answer is kept).
struct Side {
  std::string etcdctl;
  std::string endpoint;
  std::string token;
  std::vector<std::string> tokens;  // every token Authenticate answered, in order

  testing::Run run(const std::string& step) {
    if (step.rfind("curl ", 0) != 0) {
      auto r = testing::etcdctl(etcdctl, endpoint, step);
      // clientv3's retry interceptor logs refused calls with a timestamp.
      r.out = std::regex_replace(r.out, std::regex(R"(\{"level":"warn"[^\n]*\n)"), "");
      r.out = std::regex_replace(r.out, std::regex(R"(took = [0-9.]+(µs|ms|ns|s))"), "took = T");
      return r;
    }
    std::string args = step.substr(5);
    for (auto [from, to] : {std::pair<std::string, std::string>{"ENDPOINT", endpoint},
                            std::pair<std::string, std::string>{"{TOKEN}", token},
                            std::pair<std::string, std::string>{"{TAMPERED}", tampered()}}) {
      for (size_t at; (at = args.find(from)) != std::string::npos;)
        args.replace(at, from.size(), to);
    }
    auto r = testing::run_shell("curl -s " + args + " 2>&1");
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex(R"re("token":"([^"]+)")re"))) {
      token = m[1];
      tokens.push_back(token);
    }
    // Tokens differ by their exp (and ECDSA/PSS signatures by their randomness); ids are
    // each server's own.
    r.out = std::regex_replace(r.out, std::regex(R"("token":"[^"]+")"), R"("token":"T")");
    r.out = std::regex_replace(r.out, std::regex(R"("header":\{[^}]*\})"), R"("header":H)");
    return r;
  }

  // The last token with one signature character changed.
  std::string tampered() const {
    if (token.empty()) return "x";
    std::string t = token;
    char& c = t[t.size() - 2];
    c = c == 'A' ? 'B' : 'A';
    return t;
  }
};

json decode_part(const std::string& token, int index) {
  size_t a = token.find('.');
  size_t b = token.find('.', a + 1);
  REQUIRE(b != std::string::npos);
  std::string part = index == 0 ? token.substr(0, a) : token.substr(a + 1, b - a - 1);
  auto text = auth::base64url_decode(part);
  REQUIRE(text);
  return json::parse(*text);
}

std::vector<std::string> names(const json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it)
    out.push_back(it.key());
  return out;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string kRoot = "--user root:rootpw ";
const std::string kAlice = "--user alice:apw ";
const std::string kAuthAlice =
    "curl -X POST -d '{\"name\":\"alice\",\"password\":\"apw\"}' "
    "http://ENDPOINT/v3/auth/authenticate";
const std::string kAuthRoot =
    "curl -X POST -d '{\"name\":\"root\",\"password\":\"rootpw\"}' "
    "http://ENDPOINT/v3/auth/authenticate";
const std::string kRangeK1 =
    "curl -X POST -H 'Authorization: {TOKEN}' -d '{\"key\":\"azE=\"}' "
    "http://ENDPOINT/v3/kv/range";
const std::string kPutK1 =
    "curl -X POST -H 'Authorization: {TOKEN}' -d '{\"key\":\"azE=\",\"value\":\"eA==\"}' "
    "http://ENDPOINT/v3/kv/put";
const std::string kUserList =
    "curl -X POST -H 'Authorization: {TOKEN}' -d '{}' http://ENDPOINT/v3/auth/user/list";

void compare(Side& reference, Side& ours, const std::vector<std::string>& steps) {
  for (const auto& step : steps) {
    auto expected = reference.run(step);
    auto got = ours.run(step);
    std::string want = expected.out;
    std::string have = got.out;
    for (size_t at; (at = want.find(reference.endpoint)) != std::string::npos;)
      want.replace(at, reference.endpoint.size(), "ENDPOINT");
    for (size_t at; (at = have.find(ours.endpoint)) != std::string::npos;)
      have.replace(at, ours.endpoint.size(), "ENDPOINT");
    INFO("step " << step << "\n-- etcd:\n" << expected.out << "-- revkvd:\n" << got.out);
    CHECK(got.status == expected.status);
    CHECK(have == want);
  }
}

}  // namespace

TEST_CASE("JWT tokens answer the same from revkvd as from etcd 3.4 with the same key",
          "[etcdapi][node][reference][auth][jwt]") {
  auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  if (!have_tools()) {
    testing::report_skipped("openssl or curl missing");
    return;
  }
  // The long sequence with ECDSA (JWS's R||S encoding is where implementations differ);
  // the others sign, verify and carry the same claims.
  auto method = GENERATE(as<std::string>{}, "ES256", "RS256", "PS256", "HS256");
  INFO("sign-method " << method);
  testing::TempDir dir;
  make_key(dir, method);
  bool hs = method == "HS256";
  std::string token_spec = spec(dir, method, true, !hs, "5m");
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"), {"--auth-token", token_spec});
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never", "--auth-token", token_spec});
  Side reference{etcdctl, etcd.endpoint(), "", {}};
  Side ours{etcdctl, revkvd.grpc_endpoint(), "", {}};

  std::vector<std::string> steps = {
      "user add root:rootpw", "user grant-role root root", "role add reader",
      "role grant-permission reader read k1", "user add alice:apw", "user grant-role alice reader",
      "put k1 v1",
      kAuthAlice,  // auth off: "authentication is not enabled"
      "auth enable",
      // etcdctl authenticates and sends the JWT with each call.
      kAlice + "get k1", kAlice + "put k1 x", "--user alice:wrong get k1", kAuthAlice, kRangeK1,
      kPutK1,
      "curl -X POST -H 'Authorization: {TAMPERED}' -d '{\"key\":\"azE=\"}' "
      "http://ENDPOINT/v3/kv/range",
      "curl -X POST -H 'Authorization: a.b.c' -d '{\"key\":\"azE=\"}' "
      "http://ENDPOINT/v3/kv/range",
      kAuthRoot,  // the token the cross check below uses
  };
  if (method == "ES256") {
    const std::vector<std::string> more = {
        kAuthRoot,
        kUserList,
        kAuthAlice,
        // An auth change: tokens issued before it are old for KV requests (etcd 3.4).
        kRoot + "role grant-permission reader readwrite k1",
        kRangeK1,
        kPutK1,
        // A watch created with it: created and canceled with the reason (the stream stays
        // open on both; curl ends it after 3 s).
        "curl -m 3 -X POST -H 'Authorization: {TOKEN}' -d "
        "'{\"create_request\":{\"key\":\"azE=\"}}' http://ENDPOINT/v3/watch",
        kAuthAlice,
        kPutK1,
        kRangeK1,
        // ...but not for the Auth calls, which etcd 3.4 checks without the revision.
        kAuthRoot,
        kRoot + "role add other",
        kUserList,
        // A deleted user's token: old for KV requests.
        kAuthAlice,
        kRoot + "user delete alice",
        kRangeK1,
        "curl -X POST -H 'Authorization: {TOKEN}' -d '{\"name\":\"alice\"}' "
        "http://ENDPOINT/v3/auth/user/get",
        kAlice + "get k1",
        kRoot + "auth disable",
        kRangeK1,
    };
    steps.insert(steps.end(), more.begin(), more.end());
  }
  const int64_t before = unix_now();
  compare(reference, ours, steps);
  const int64_t after = unix_now();

  // The tokens: same header, same claim names and values but exp, exp within the ttl.
  REQUIRE(reference.tokens.size() == ours.tokens.size());
  REQUIRE_FALSE(ours.tokens.empty());
  for (size_t i = 0; i < ours.tokens.size(); ++i) {
    json theirs_header = decode_part(reference.tokens[i], 0);
    json our_header = decode_part(ours.tokens[i], 0);
    CHECK(our_header == theirs_header);
    CHECK(our_header["alg"] == method);
    json theirs = decode_part(reference.tokens[i], 1);
    json claims = decode_part(ours.tokens[i], 1);
    CHECK(names(claims) == names(theirs));
    CHECK(names(claims) == std::vector<std::string>{"exp", "revision", "username"});
    CHECK(claims["username"] == theirs["username"]);
    CHECK(claims["revision"] == theirs["revision"]);
    for (const json* c : {&claims, &theirs}) {
      int64_t exp = (*c)["exp"].get<int64_t>();
      CHECK(exp >= before + 300);  // issued in [before, after], ttl=5m
      CHECK(exp <= after + 300);
    }
  }
  // Each verifies the other's: same key, same encoding (ECDSA's R||S, PSS's salt).
  std::vector<std::string> cross;
  for (auto* pair : {&reference, &ours}) {
    Side& issuer = *pair;
    Side& verifier = pair == &reference ? ours : reference;
    std::string last = issuer.tokens.back();
    auto r = testing::run_shell("curl -s -X POST -H 'Authorization: " + last + "' -d '{}' http://" +
                                verifier.endpoint + "/v3/auth/user/list 2>&1");
    cross.push_back(std::regex_replace(r.out, std::regex(R"("header":\{[^}]*\})"), "H"));
  }
  CHECK(cross[0] == cross[1]);
  CHECK(cross[0].find("\"users\"") != std::string::npos);
}

TEST_CASE("a verify-only JWT member refuses Authenticate as etcd 3.4 does",
          "[etcdapi][node][reference][auth][jwt]") {
  auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  if (!have_tools()) {
    testing::report_skipped("openssl or curl missing");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "RS256");
  std::string verify_only = spec(dir, "RS256", false, true, "5m");
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"), {"--auth-token", verify_only});
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never", "--auth-token", verify_only});
  Side reference{etcdctl, etcd.endpoint(), "", {}};
  Side ours{etcdctl, revkvd.grpc_endpoint(), "", {}};
  compare(reference, ours,
          {"user add root:rootpw", "user grant-role root root", "auth enable",
           "curl -X POST -d '{\"name\":\"root\",\"password\":\"wrong\"}' "
           "http://ENDPOINT/v3/auth/authenticate",
           kAuthRoot, kRoot + "get k1"});
}

TEST_CASE("a JWT stops working at its exp, on revkvd as on etcd 3.4",
          "[etcdapi][node][reference][auth][jwt]") {
  auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  if (!have_tools()) {
    testing::report_skipped("openssl or curl missing");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256");
  // 5 s: each step runs on both sides in turn, so a side's token must outlive the other
  // side's etcdctl run between its Authenticate and its Range on a loaded machine.
  std::string token_spec = spec(dir, "ES256", true, true, "5s");
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"), {"--auth-token", token_spec});
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never", "--auth-token", token_spec});
  Side reference{etcdctl, etcd.endpoint(), "", {}};
  Side ours{etcdctl, revkvd.grpc_endpoint(), "", {}};
  compare(
      reference, ours,
      {"user add root:rootpw", "user grant-role root root", "auth enable", kAuthRoot, kRangeK1});
  // Poll both sides in turn, with a deadline, until each refuses its token: the condition
  // is the answer, not the time. Both are watched through their tokens' exp, so each side's
  // last acceptance and first refusal are seen. The exp of a 5s token is at most 5 s away;
  // 30 s is the deadline.
  struct Expiry {
    Side* side;
    std::string answer;
    int64_t last_valid = 0;     // when the token was last accepted (Unix seconds, asked at)
    int64_t first_refused = 0;  // when it was first refused (asked at)
  };
  std::vector<Expiry> sides{{&reference, "", 0, 0}, {&ours, "", 0, 0}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto refused = [](const Expiry& e) { return e.first_refused != 0; };
  while (std::chrono::steady_clock::now() < deadline &&
         !std::all_of(sides.begin(), sides.end(), refused)) {
    for (auto& e : sides) {
      if (refused(e)) continue;
      const int64_t asked = unix_now();
      e.answer = e.side->run(kRangeK1).out;
      if (e.answer.find("invalid auth token") != std::string::npos)
        e.first_refused = asked;
      else
        e.last_valid = asked;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll interval
  }
  for (const auto& e : sides) {
    INFO((e.side == &ours ? "revkvd " : "etcd ") << e.side->endpoint);
    CHECK(
        e.answer ==
        R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
    const int64_t exp = decode_part(e.side->tokens.back(), 1)["exp"].get<int64_t>();
    INFO("exp " << exp << " last accepted at " << e.last_valid << ", first refused at "
                << e.first_refused);
    // Accepted before exp, refused from exp on (whole seconds, as etcd 3.4.23's golang-jwt);
    // a call asked in the second before exp may be served at exp.
    CHECK(e.last_valid > 0);
    CHECK(e.last_valid < exp);
    CHECK(e.first_refused >= exp - 1);
  }
  // A new token works again.
  compare(reference, ours, {kAuthRoot, kRangeK1});
}

}  // namespace revkv

namespace revkv {

TEST_CASE("revkvd refuses a bad --auth-token at start with a one-line reason",
          "[node][auth][jwt]") {
  if (!have_tools()) {
    testing::report_skipped("openssl or curl missing");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256");
  const std::string key = dir.sub("jwt.key");
  const std::string pub = dir.sub("jwt.pub");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"oauth", "--auth-token: expected simple or jwt"},
      {"jwt,priv-key=" + key, "needs sign-method="},
      {"jwt,sign-method=ES256,priv-key=" + key + ",colour=blue", "unknown option 'colour'"},
      {"jwt,sign-method=ES256,priv-key=" + key + ",ttl=soon", "ttl"},
      {"jwt,sign-method=ES256,priv-key=" + dir.sub("missing.key"), "cannot read"},
      {"jwt,sign-method=RS256,priv-key=" + key, "RS256 needs an RSA key"},
      {"jwt,sign-method=ES384,pub-key=" + pub, "curve secp384r1"},
      {"jwt,sign-method=XX256,priv-key=" + key, "unknown sign-method"},
  };
  for (const auto& [value, reason] : cases) {
    INFO(value);
    auto [status, out] = testing::run_revkvd({"--data-dir", dir.sub("data"), "--auth-token", value,
                                              "--listen-client", "127.0.0.1:0", "--listen-grpc",
                                              "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0"});
    CHECK(status != 0);
    CHECK(out.find(reason) != std::string::npos);
  }
}

}  // namespace revkv

namespace revkv {

// One resolver for both doors: a JWT from the MessagePack door's Auth.Authenticate works on
// the gateway and one from the gateway works on the MessagePack door, with the same rules.
TEST_CASE("the MessagePack door takes the same JWTs as the gRPC door", "[node][auth][jwt]") {
  if (!have_tools()) {
    testing::report_skipped("openssl or curl missing");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256");
  testing::NodeProcess node(
      dir.sub("data"), {"--sync", "never", "--auth-token", spec(dir, "ES256", true, true, "5m")});
  auto connected = client::Client::connect(node.endpoint());
  REQUIRE(connected.ok());
  auto c = std::move(connected).value();
  auto outcome = [](const auto& r) {
    return r.ok() ? std::string("ok") : std::to_string(r.error().code) + " " + r.error().message;
  };
  using T = protocol::PermissionType;
  REQUIRE(outcome(c.user_add({"root", "rootpw", {}})) == "ok");
  REQUIRE(outcome(c.user_grant_role("root", "root")) == "ok");
  REQUIRE(outcome(c.role_add("reader")) == "ok");
  REQUIRE(outcome(c.role_grant_permission({"reader", {T::read, "k1", ""}})) == "ok");
  REQUIRE(outcome(c.user_add({"alice", "apw", {}})) == "ok");
  REQUIRE(outcome(c.user_grant_role("alice", "reader")) == "ok");
  storage::PutRequest put;
  put.key = "k1";
  put.value = "v1";
  REQUIRE(outcome(c.put(put)) == "ok");
  REQUIRE(outcome(c.auth_enable()) == "ok");

  storage::RangeRequest get;
  get.key = "k1";
  REQUIRE(outcome(c.authenticate("alice", "apw")) == "ok");
  const std::string msgpack_token = *c.token();
  CHECK(decode_part(msgpack_token, 1)["username"] == "alice");
  CHECK(outcome(c.range(get)) == "ok");
  CHECK(outcome(c.put(put)) == "7 etcdserver: permission denied");
  c.set_token(msgpack_token + "x");
  CHECK(outcome(c.range(get)) == "16 etcdserver: invalid auth token");

  // The MessagePack door's token on the gateway, the gateway's on the MessagePack door.
  Side gateway{"", node.grpc_endpoint(), msgpack_token, {}};
  CHECK(gateway.run(kRangeK1).out.find("\"kvs\"") != std::string::npos);
  gateway.run(kAuthAlice);
  REQUIRE(gateway.tokens.size() == 1);
  c.set_token(gateway.tokens[0]);
  CHECK(outcome(c.range(get)) == "ok");

  // An auth change: the token is old for KV requests on this door too.
  c.set_token(std::nullopt);
  REQUIRE(outcome(c.authenticate("root", "rootpw")) == "ok");
  REQUIRE(outcome(c.role_grant_permission({"reader", {T::read, "k2", ""}})) == "ok");
  c.set_token(gateway.tokens[0]);
  CHECK(outcome(c.range(get)) == "3 etcdserver: revision of auth store is old");
}

}  // namespace revkv
