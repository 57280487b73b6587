// JWT tokens (auth/jwt.hpp): every signing method with keys made by the `openssl` command,
// tampering, algorithm confusion, expiry on an injected clock, bounded garbage, the
// --auth-token spec, startup errors for bad keys, and the auth store's JWT path (the
// revision rule of etcd 3.4, a deleted user).

#include "auth/jwt.hpp"

#include "auth/base64url.hpp"
#include "auth/check.hpp"
#include "auth/store.hpp"
#include "auth/token_spec.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace revkv;
using namespace revkv::auth;
using std::chrono::seconds;

namespace {

using Clock = JwtTokens::Clock;
const Clock::time_point kNow = Clock::time_point(seconds(1'800'000'000));

bool have_openssl() {
  return std::system("openssl version > /dev/null 2>&1") == 0;
}

// Runs `command` in `dir`; REQUIREs success.
void run_in(const testing::TempDir& dir, const std::string& command) {
  std::string full = "cd '" + dir.str() + "' && { " + command + "; } > /dev/null 2>&1";
  REQUIRE(std::system(full.c_str()) == 0);
}

// A key pair for `method` in dir: NAME.key (private) and NAME.pub; for HS, NAME.key holds
// 32 random bytes.
void make_key(const testing::TempDir& dir, const std::string& method, const std::string& name) {
  std::string family = method.substr(0, 2);
  std::string bits = method.substr(2);
  if (family == "HS") {
    run_in(dir, "openssl rand -out " + name + ".key 32");
    return;
  }
  if (family == "ES") {
    std::string curve = bits == "256" ? "prime256v1" : bits == "384" ? "secp384r1" : "secp521r1";
    run_in(dir, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:" + curve + " -out " +
                    name + ".key");
  } else {
    run_in(dir,
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + name + ".key");
  }
  run_in(dir, "openssl pkey -in " + name + ".key -pubout -out " + name + ".pub");
}

std::shared_ptr<const JwtTokens> load(const std::string& method, const std::string& pub,
                                      const std::string& priv, seconds ttl = seconds(300)) {
  TokenSpec spec;
  spec.kind = TokenSpec::Kind::jwt;
  spec.sign_method = method;
  spec.pub_key = pub;
  spec.priv_key = priv;
  spec.ttl = ttl;
  auto loaded = JwtTokens::load(spec);
  if (auto* error = std::get_if<std::string>(&loaded)) FAIL(*error);
  return std::get<std::shared_ptr<const JwtTokens>>(loaded);
}

std::string load_error(const std::string& method, const std::string& pub, const std::string& priv) {
  TokenSpec spec;
  spec.kind = TokenSpec::Kind::jwt;
  spec.sign_method = method;
  spec.pub_key = pub;
  spec.priv_key = priv;
  auto loaded = JwtTokens::load(spec);
  auto* error = std::get_if<std::string>(&loaded);
  return error ? *error : std::string();
}

struct Parts {
  std::string header, claims, signature;  // base64url
};

Parts split(const std::string& token) {
  auto a = token.find('.');
  auto b = token.find('.', a + 1);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::string join(const Parts& p) {
  return p.header + "." + p.claims + "." + p.signature;
}

nlohmann::json decode_json(const std::string& b64) {
  auto text = base64url_decode(b64);
  REQUIRE(text);
  return nlohmann::json::parse(*text);
}

std::string encode_json(const nlohmann::json& j) {
  return base64url_encode(j.dump());
}

const char* const kMethods[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                                "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"};

}  // namespace

TEST_CASE("base64url encodes and decodes without padding") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    auto enc = base64url_encode(s);
    CHECK(enc.find('=') == std::string::npos);
    CHECK(base64url_decode(enc) == s);
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("a"));
  CHECK_FALSE(base64url_decode("ab=="));
  CHECK_FALSE(base64url_decode("a+b/"));
  CHECK_FALSE(base64url_decode("ab c"));
}

TEST_CASE("the --auth-token spec is etcd's, with clear errors") {
  auto simple = parse_token_spec("simple");
  REQUIRE(std::holds_alternative<TokenSpec>(simple));
  CHECK(std::get<TokenSpec>(simple).kind == TokenSpec::Kind::simple);

  auto jwt = parse_token_spec("jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS256,ttl=1h30m");
  REQUIRE(std::holds_alternative<TokenSpec>(jwt));
  const auto& spec = std::get<TokenSpec>(jwt);
  CHECK(spec.kind == TokenSpec::Kind::jwt);
  CHECK(spec.sign_method == "RS256");
  CHECK(spec.pub_key == "a.pub");
  CHECK(spec.priv_key == "a.key");
  CHECK(spec.ttl == seconds(5400));
  // etcd's default ttl: 5 minutes.
  CHECK(std::get<TokenSpec>(parse_token_spec("jwt,sign-method=ES256,priv-key=k")).ttl ==
        seconds(300));

  auto error = [](const char* text) {
    auto parsed = parse_token_spec(text);
    REQUIRE(std::holds_alternative<std::string>(parsed));
    return std::get<std::string>(parsed);
  };
  CHECK(error("oauth").find("expected simple or jwt") != std::string::npos);
  CHECK(error("simple,ttl=5m").find("no options") != std::string::npos);
  CHECK(error("jwt,priv-key=k").find("sign-method") != std::string::npos);
  CHECK(error("jwt,sign-method=RS256").find("priv-key") != std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv_key=k").find("unknown option 'priv_key'") !=
        std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv-key").find("NAME=VALUE") != std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv-key=a,priv-key=b").find("twice") != std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv-key=k,ttl=5").find("ttl") != std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv-key=k,ttl=500ms").find("at least 1s") !=
        std::string::npos);
  CHECK(error("jwt,sign-method=RS256,priv-key=k,ttl=-5m").find("ttl") != std::string::npos);
}

TEST_CASE("Go durations parse as time.ParseDuration does") {
  CHECK(parse_go_duration("5m") == std::chrono::minutes(5));
  CHECK(parse_go_duration("1h30m") == std::chrono::minutes(90));
  CHECK(parse_go_duration("1.5h") == std::chrono::minutes(90));
  CHECK(parse_go_duration("90s") == seconds(90));
  CHECK(parse_go_duration("250ms") == std::chrono::milliseconds(250));
  CHECK(parse_go_duration("0") == std::chrono::nanoseconds(0));
  CHECK_FALSE(parse_go_duration(""));
  CHECK_FALSE(parse_go_duration("5"));
  CHECK_FALSE(parse_go_duration("m"));
  CHECK_FALSE(parse_go_duration("5d"));
  CHECK_FALSE(parse_go_duration("."));
  CHECK_FALSE(parse_go_duration("99999999999h"));
}

TEST_CASE("every sign method signs tokens that verify, and carry etcd's claims") {
  if (!have_openssl()) {
    testing::report_skipped("no openssl command");
    return;
  }
  testing::TempDir dir;
  for (std::string method : kMethods) {
    INFO(method);
    make_key(dir, method, method);
    bool hs = method[0] == 'H';
    auto tokens = load(method, hs ? "" : dir.sub(method + ".pub"), dir.sub(method + ".key"));
    CHECK_FALSE(tokens->verify_only());
    auto token = tokens->assign("alice", 7, kNow);
    REQUIRE(token);
    auto claims = tokens->verify(*token, kNow);
    REQUIRE(claims);
    CHECK(claims->username == "alice");
    CHECK(claims->revision == 7);
    CHECK(claims->exp == 1'800'000'300);

    Parts p = split(*token);
    CHECK(decode_json(p.header) == nlohmann::json{{"alg", method}, {"typ", "JWT"}});
    auto body = decode_json(p.claims);
    CHECK(body == nlohmann::json{{"exp", 1'800'000'300}, {"revision", 7}, {"username", "alice"}});
    if (method[0] == 'E') {
      // JWS's raw R || S, not DER: twice the curve's byte size.
      size_t half = method == "ES256" ? 32 : method == "ES384" ? 48 : 66;
      CHECK(base64url_decode(p.signature)->size() == 2 * half);
    }

    // A verify-only member (the public key alone) accepts it, and cannot sign.
    if (!hs) {
      auto verifier = load(method, dir.sub(method + ".pub"), "");
      CHECK(verifier->verify_only());
      CHECK(verifier->verify(*token, kNow));
      CHECK_FALSE(verifier->assign("alice", 7, kNow));
      // The private key alone signs and verifies too.
      CHECK(load(method, "", dir.sub(method + ".key"))->verify(*token, kNow));
    }

    // Another key of the same method does not verify it.
    make_key(dir, method, method + "-other");
    auto other = load(method, "", dir.sub(method + "-other.key"));
    CHECK_FALSE(other->verify(*token, kNow));
  }
}

TEST_CASE("tampered, confused, expired and garbage tokens are refused") {
  if (!have_openssl()) {
    testing::report_skipped("no openssl command");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256", "es");
  make_key(dir, "RS256", "rs");
  make_key(dir, "HS256", "hs");
  auto es = load("ES256", dir.sub("es.pub"), dir.sub("es.key"), seconds(60));
  auto token = *es->assign("alice", 3, kNow);
  Parts good = split(token);
  REQUIRE(es->verify(token, kNow));

  SECTION("a changed payload") {
    auto body = decode_json(good.claims);
    body["username"] = "root";
    Parts p = good;
    p.claims = encode_json(body);
    CHECK_FALSE(es->verify(join(p), kNow));
    body = decode_json(good.claims);
    body["revision"] = 99;
    p.claims = encode_json(body);
    CHECK_FALSE(es->verify(join(p), kNow));
  }
  SECTION("a changed signature") {
    auto sig = *base64url_decode(good.signature);
    for (size_t i : {size_t{0}, sig.size() / 2, sig.size() - 1}) {
      std::string bad = sig;
      bad[i] = static_cast<char>(bad[i] ^ 1);
      Parts p = good;
      p.signature = base64url_encode(bad);
      CHECK_FALSE(es->verify(join(p), kNow));
    }
    Parts p = good;
    p.signature = "";
    CHECK_FALSE(es->verify(join(p), kNow));
    p.signature = base64url_encode(sig.substr(1));
    CHECK_FALSE(es->verify(join(p), kNow));
  }
  SECTION("a changed header") {
    Parts p = good;
    p.header = encode_json({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "x"}});
    CHECK_FALSE(es->verify(join(p), kNow));  // the signature covers the header's bytes
  }
  SECTION("alg none, and an unsigned token") {
    Parts p = good;
    p.header = encode_json({{"alg", "none"}, {"typ", "JWT"}});
    p.signature = "";
    CHECK_FALSE(es->verify(join(p), kNow));
    p.header = encode_json({{"alg", "NONE"}});
    CHECK_FALSE(es->verify(join(p), kNow));
    p.header = encode_json({{"typ", "JWT"}});
    CHECK_FALSE(es->verify(join(p), kNow));
  }
  SECTION("another algorithm, even a validly signed one") {
    // HS256 keyed with the verifier's public key bytes: the classic confusion attack.
    std::ifstream in(dir.sub("es.pub"));
    std::string pub((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir.sub("confused.key")) << pub;
    auto confused = load("HS256", "", dir.sub("confused.key"));
    CHECK_FALSE(es->verify(*confused->assign("alice", 3, kNow), kNow));
    auto rs = load("RS256", "", dir.sub("rs.key"));
    auto rs_token = *rs->assign("alice", 3, kNow);
    CHECK_FALSE(es->verify(rs_token, kNow));
    auto hs = load("HS256", "", dir.sub("hs.key"));
    CHECK_FALSE(es->verify(*hs->assign("alice", 3, kNow), kNow));
    CHECK_FALSE(rs->verify(*hs->assign("alice", 3, kNow), kNow));
    // The alg of the header swapped for the configured one: the signature no longer fits.
    Parts p = split(rs_token);
    p.header = encode_json({{"alg", "ES256"}, {"typ", "JWT"}});
    CHECK_FALSE(es->verify(join(p), kNow));
  }
  SECTION("expiry on the injected clock, as etcd 3.4.23: valid while now < exp") {
    CHECK(es->verify(token, kNow + seconds(59)));
    CHECK(es->verify(token, kNow + std::chrono::milliseconds(59'999)));
    CHECK_FALSE(es->verify(token, kNow + seconds(60)));
    CHECK_FALSE(es->verify(token, kNow + seconds(61)));
    CHECK_FALSE(es->verify(token, kNow + std::chrono::hours(24 * 365)));
  }
  SECTION("garbage") {
    for (std::string junk :
         {std::string(), std::string("."), std::string(".."), std::string("..."),
          std::string("a.b.c"), std::string("a.b.c.d"), good.header + "." + good.claims,
          token + ".", token + "x", "x" + token, std::string("\0\0\0", 3),
          std::string("abcdefghijklmnop.12"), good.header + ".." + good.signature,
          std::string("eyJ.eyJ.eyJ"), std::string(200, '.')}) {
      INFO(junk);
      CHECK_FALSE(es->verify(junk, kNow));
    }
  }
  SECTION("an enormous token is refused before any decoding") {
    std::string huge = good.header + "." + std::string(16 << 20, 'A') + "." + good.signature;
    CHECK_FALSE(es->verify(huge, kNow));
    Parts p = good;
    p.header = base64url_encode("{\"alg\":\"ES256\",\"x\":\"" + std::string(4000, 'y') + "\"}");
    CHECK_FALSE(es->verify(join(p), kNow));
    // Deeply nested JSON in the header: refused without a crash.
    p.header = base64url_encode(std::string(380, '['));
    CHECK_FALSE(es->verify(join(p), kNow));
  }
  SECTION("claims of the wrong types, signed with the key (only its holder can)") {
    auto hs = load("HS256", "", dir.sub("hs.key"));
    auto sign = [&](const nlohmann::json& claims) {
      std::string input =
          encode_json({{"alg", "HS256"}, {"typ", "JWT"}}) + "." + encode_json(claims);
      // Signed with the same secret through JwtKey: claims assign() never writes.
      auto key = JwtKey::load("HS256", "", dir.sub("hs.key"));
      auto sig = std::get<std::unique_ptr<JwtKey>>(key)->sign(input);
      return input + "." + base64url_encode(*sig);
    };
    const int64_t exp = 1'800'000'100;
    CHECK(hs->verify(sign({{"username", "a"}, {"revision", 2}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"revision", 2}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", 5}, {"revision", 2}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", "a"}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", "a"}, {"revision", -2}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", "a"}, {"revision", "2"}, {"exp", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", "a"}, {"revision", 2}}), kNow));
    CHECK_FALSE(hs->verify(sign({{"username", "a"}, {"revision", 2}, {"exp", "never"}}), kNow));
    CHECK_FALSE(
        hs->verify(sign({{"username", "a"}, {"revision", 2}, {"exp", exp}, {"nbf", exp}}), kNow));
    CHECK_FALSE(
        hs->verify(sign({{"username", "a"}, {"revision", 2}, {"exp", exp}, {"iat", exp}}), kNow));
    CHECK_FALSE(hs->verify(sign(nlohmann::json::array({1, 2})), kNow));
  }
}

TEST_CASE("bad keys are startup errors that say what is wrong") {
  if (!have_openssl()) {
    testing::report_skipped("no openssl command");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256", "es");
  make_key(dir, "ES384", "es384");
  make_key(dir, "RS256", "rs");
  make_key(dir, "ES256", "es2");
  run_in(dir, "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out small.key");
  run_in(dir,
         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 "
         "-aes-128-cbc -pass pass:secret -out encrypted.key");
  std::ofstream(dir.sub("garbage.key")) << "not a key\n";
  std::ofstream(dir.sub("empty.key"));

  auto has = [](const std::string& error, const std::string& part) {
    INFO(error);
    CHECK(error.find(part) != std::string::npos);
  };
  has(load_error("XS256", "", dir.sub("es.key")), "unknown sign-method 'XS256'");
  has(load_error("none", "", dir.sub("es.key")), "unknown sign-method");
  has(load_error("ES256", "", dir.sub("missing.key")), "cannot read");
  has(load_error("ES256", dir.sub("missing.pub"), ""), "cannot read");
  has(load_error("ES256", "", dir.sub("garbage.key")), "holds no PEM private key");
  has(load_error("ES256", dir.sub("garbage.key"), ""), "holds no PEM public key");
  has(load_error("ES256", "", dir.sub("encrypted.key")), "encrypted");
  has(load_error("ES256", "", dir.sub("rs.key")), "ES256 needs an EC key");
  has(load_error("RS256", "", dir.sub("es.key")), "RS256 needs an RSA key");
  has(load_error("PS256", dir.sub("es.pub"), ""), "PS256 needs an RSA key");
  has(load_error("ES256", "", dir.sub("es384.key")), "curve prime256v1");
  has(load_error("ES384", dir.sub("es.pub"), ""), "curve secp384r1");
  has(load_error("RS256", "", dir.sub("small.key")), "at least 2048");
  has(load_error("ES256", dir.sub("es2.pub"), dir.sub("es.key")), "does not match");
  has(load_error("HS256", "", dir.sub("empty.key")), "is empty");
  has(load_error("HS256", dir.sub("es.pub"), dir.sub("es.key")), "no public key");
  has(load_error("HS256", "", ""), "needs priv-key");
  // A directory is no key file.
  has(load_error("ES256", "", dir.str()), "priv-key");
}

namespace {

const StoreOptions kFast{seconds(300), 4, nullptr};

std::unique_ptr<storage::Backend> open_backend(const std::string& dir) {
  auto b = storage::Backend::open(dir, {});
  REQUIRE(b.ok());
  return std::move(*b);
}

}  // namespace

TEST_CASE("the auth store hands out JWTs and applies etcd 3.4's revision rule") {
  if (!have_openssl()) {
    testing::report_skipped("no openssl command");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "ES256", "es");
  auto backend = open_backend(dir.sub("db"));
  StoreOptions options = kFast;
  options.jwt = load("ES256", dir.sub("es.pub"), dir.sub("es.key"));
  auto opened = AuthStore::open(*backend, options);
  REQUIRE(opened.ok());
  auto& store = **opened;
  REQUIRE_FALSE(store.user_add("root", "rootpw", false));
  REQUIRE_FALSE(store.user_grant_role("root", "root"));
  REQUIRE_FALSE(store.role_add("reader"));
  REQUIRE_FALSE(store.role_grant_permission("reader", Permission{PermType::read, "k", ""}));
  REQUIRE_FALSE(store.user_add("alice", "apw", false));
  REQUIRE_FALSE(store.user_grant_role("alice", "reader"));
  // As etcd: Authenticate needs auth on.
  auto off = store.authenticate("alice", "apw");
  REQUIRE(std::holds_alternative<protocol::WireError>(off));
  CHECK(std::get<protocol::WireError>(off) == errors::auth_not_enabled());
  REQUIRE_FALSE(store.enable());

  CHECK(std::get<protocol::WireError>(store.authenticate("alice", "wrong")) ==
        errors::auth_failed());
  CHECK(std::get<protocol::WireError>(store.authenticate("bob", "apw")) == errors::auth_failed());
  auto issued = store.authenticate("alice", "apw");
  REQUIRE(std::holds_alternative<std::string>(issued));
  const std::string token = std::get<std::string>(issued);
  CHECK(store.tokens().size() == 0);  // stateless: no table

  Caller alice = store.caller(token);
  CHECK_FALSE(alice.bad_token);
  CHECK(alice.user == "alice");
  CHECK(alice.token_revision == store.revision());
  CHECK_FALSE(check_range_op(*store.state(), alice, "k", "", PermType::read));
  CHECK(check_range_op(*store.state(), alice, "k", "", PermType::write) ==
        errors::permission_denied());
  CHECK(store.caller(token + "x").bad_token);
  CHECK(store.caller(std::string_view("a simple token.1")).bad_token);

  // A root token of the same revision.
  const std::string root_token = std::get<std::string>(store.authenticate("root", "rootpw"));

  SECTION("a role change makes earlier tokens old for KV checks, as etcd 3.4") {
    REQUIRE_FALSE(store.role_grant_permission("reader", Permission{PermType::write, "k", ""}));
    Caller again = store.caller(token);
    CHECK_FALSE(again.bad_token);  // the signature still holds
    CHECK(check_range_op(*store.state(), again, "k", "", PermType::read) ==
          errors::auth_old_revision());
    // etcd's IsAdminPermitted has no revision check: root's old token still administers.
    CHECK_FALSE(check_admin(*store.state(), store.caller(root_token)));
    // A new token is current again.
    Caller fresh = store.caller(std::get<std::string>(store.authenticate("alice", "apw")));
    CHECK_FALSE(check_range_op(*store.state(), fresh, "k", "", PermType::write));
  }
  SECTION("a deleted user's token: old for KV checks, not found for admin checks") {
    REQUIRE_FALSE(store.user_delete("alice"));
    Caller gone = store.caller(token);
    CHECK(check_range_op(*store.state(), gone, "k", "", PermType::read) ==
          errors::auth_old_revision());
    CHECK(check_admin(*store.state(), gone) == errors::user_not_found());
  }
  SECTION("auth disabled: tokens still verify, nothing is checked") {
    REQUIRE_FALSE(store.disable());
    CHECK_FALSE(store.caller(token).bad_token);
    CHECK_FALSE(check_range_op(*store.state(), store.caller(token), "k", "", PermType::write));
  }
}

TEST_CASE("a verify-only auth store checks passwords, then refuses to sign as etcd 3.4") {
  if (!have_openssl()) {
    testing::report_skipped("no openssl command");
    return;
  }
  testing::TempDir dir;
  make_key(dir, "RS256", "rs");
  auto backend = open_backend(dir.sub("db"));
  StoreOptions options = kFast;
  options.jwt = load("RS256", dir.sub("rs.pub"), "");
  auto opened = AuthStore::open(*backend, options);
  REQUIRE(opened.ok());
  auto& store = **opened;
  REQUIRE_FALSE(store.user_add("root", "rootpw", false));
  REQUIRE_FALSE(store.user_grant_role("root", "root"));
  REQUIRE_FALSE(store.enable());
  CHECK(std::get<protocol::WireError>(store.authenticate("root", "bad")) == errors::auth_failed());
  CHECK(std::get<protocol::WireError>(store.authenticate("root", "rootpw")) ==
        errors::jwt_verify_only());
  // What a signing member issued is accepted here.
  auto signer = load("RS256", "", dir.sub("rs.key"));
  Caller root = store.caller(*signer->assign("root", store.revision()));
  CHECK(root.user == "root");
  CHECK_FALSE(check_admin(*store.state(), root));
}
