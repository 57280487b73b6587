// The JSON gateway's streams with auth enabled (docs/SECURITY.md): /v3/watch and
// /v3/lease/keepalive pass the HTTP Authorization header on as the call's token, as the
// unary routes do, so a watch is created as the token's user: allowed with a read
// permission, refused (created and canceled, with etcd's reason) without one or without a
// token. A permission of a type etcd does not name is kept and grants nothing. Spoken in raw
// HTTP/1.1, as curl speaks it.

#include "tests/etcdapi/http_conn.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>

namespace revkv {
namespace {

using Catch::Matchers::Contains;
using testing::HttpConn;

constexpr const char* kFoo = "Zm9v";  // foo
constexpr const char* kFop = "Zm9w";  // fop: the end of the "foo" prefix

std::string with_token(const std::string& token) {
  return token.empty() ? std::string() : "Authorization: " + token + "\r\n";
}

// A POST whose answer the caller reads (a stream's).
bool send_post(HttpConn& c, const std::string& path, const std::string& body,
               const std::string& token) {
  return c.send_raw("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + with_token(token) +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

testing::HttpAnswer call(HttpConn& c, const std::string& path, const std::string& body,
                         const std::string& token = "") {
  return c.request("POST", path, body, with_token(token));
}

std::string login(HttpConn& c, const std::string& name, const std::string& password) {
  const auto a = call(c, "/v3/auth/authenticate",
                      R"({"name":")" + name + R"(","password":")" + password + "\"}");
  INFO(a.body);
  std::smatch m;
  REQUIRE(std::regex_search(a.body, m, std::regex(R"re("token":"([^"]+)")re")));
  return m[1];
}

// The first answer of a watch on "foo" opened with `token`.
std::string first_watch_answer(HttpConn& w, const std::string& token) {
  REQUIRE(send_post(w, "/v3/watch", R"({"create_request":{"key":")" + std::string(kFoo) + "\"}}",
                    token));
  REQUIRE(w.read_head().status == 200);
  auto created = w.read_chunk();
  REQUIRE(created);
  return *created;
}

}  // namespace

TEST_CASE("gateway: watch and lease keepalive streams carry the Authorization token",
          "[gateway][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--sync", "never"});
  HttpConn c(node.grpc_port());
  REQUIRE(c.connected());
  // root, a role reading the "foo" prefix, alice with it, bob without it.
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v3/auth/user/add", R"({"name":"root","password":"rootpw"})"},
           {"/v3/auth/user/grant", R"({"user":"root","role":"root"})"},
           {"/v3/auth/role/add", R"({"name":"reader"})"},
           {"/v3/auth/role/grant", R"({"name":"reader","perm":{"permType":"READ","key":")" +
                                       std::string(kFoo) + R"(","range_end":")" + kFop + "\"}}"},
           {"/v3/auth/user/add", R"({"name":"alice","password":"apw"})"},
           {"/v3/auth/user/grant", R"({"user":"alice","role":"reader"})"},
           {"/v3/auth/user/add", R"({"name":"bob","password":"bpw"})"},
           // A permission type etcd does not name: kept as given, granting nothing.
           {"/v3/auth/role/add", R"({"name":"odd"})"},
           {"/v3/auth/role/grant",
            R"({"name":"odd","perm":{"permType":7,"key":")" + std::string(kFoo) + "\"}}"},
           {"/v3/auth/user/add", R"({"name":"carol","password":"cpw"})"},
           {"/v3/auth/user/grant", R"({"user":"carol","role":"odd"})"},
           {"/v3/auth/enable", "{}"},
       }) {
    const auto a = call(c, path, body);
    INFO(path << " " << body << "\n" << a.body);
    REQUIRE(a.status == 200);
  }
  const std::string root = login(c, "root", "rootpw");
  const std::string alice = login(c, "alice", "apw");
  const std::string bob = login(c, "bob", "bpw");
  const std::string carol = login(c, "carol", "cpw");

  // The token may come as grpc-gateway's metadata headers too, as etcd reads them.
  CHECK(c.request("POST", "/v3/kv/range", R"({"key":"Zm9v"})",
                  "Grpc-Metadata-Token: " + alice + "\r\n")
            .status == 200);
  CHECK_THAT(c.request("POST", "/v3/kv/range", R"({"key":"Zm9v"})",
                       "Grpc-Metadata-Authorization: " + bob + "\r\n")
                 .body,
             Contains("etcdserver: permission denied"));
  CHECK_THAT(c.request("POST", "/v3/kv/range", R"({"key":"Zm9v"})").body,
             Contains("etcdserver: user name is empty"));

  // carol's role holds permType 7 on foo: shown as etcd shows it, and no read or write.
  const auto odd = call(c, "/v3/auth/role/get", R"({"role":"odd"})", root);
  CHECK_THAT(odd.body, Contains(R"("perm":[{"permType":7,"key":"Zm9v"}])"));
  for (const char* path : {"/v3/kv/range", "/v3/kv/put"}) {
    const auto refused =
        call(c, path, R"({"key":")" + std::string(kFoo) + R"(","value":"YmFy"})", carol);
    CHECK_THAT(refused.body, Contains("etcdserver: permission denied"));
  }

  // alice's watch is created and stays: a put by root reaches it.
  HttpConn allowed(node.grpc_port());
  const auto created = first_watch_answer(allowed, alice);
  CHECK_THAT(created, Contains(R"("created":true)"));
  CHECK_THAT(created, !Contains("canceled"));
  REQUIRE(call(c, "/v3/kv/put", R"({"key":")" + std::string(kFoo) + R"(","value":"YmFy"})", root)
              .status == 200);
  auto event = allowed.read_chunk();
  REQUIRE(event);
  CHECK_THAT(*event, Contains(R"("events":[{"kv":{"key":"Zm9v")"));

  // bob has no read permission; without a token there is no user: both canceled at once,
  // with etcd's reason.
  HttpConn denied(node.grpc_port());
  const auto refused = first_watch_answer(denied, bob);
  CHECK_THAT(refused, Contains(R"("canceled":true)"));
  CHECK_THAT(refused, Contains("etcdserver: permission denied"));
  HttpConn anonymous(node.grpc_port());
  const auto nobody = first_watch_answer(anonymous, "");
  CHECK_THAT(nobody, Contains(R"("canceled":true)"));
  CHECK_THAT(nobody, Contains("etcdserver: user name is empty"));

  // A lease kept alive over the gateway's stream with a token (etcd 3.4 checks no
  // permission on lease calls; the token is passed on all the same).
  const auto grant = call(c, "/v3/lease/grant", R"({"TTL":"60"})", root);
  REQUIRE(grant.status == 200);
  std::smatch m;
  REQUIRE(std::regex_search(grant.body, m, std::regex(R"re("ID":"([0-9]+)")re")));
  HttpConn keepalive(node.grpc_port());
  REQUIRE(send_post(keepalive, "/v3/lease/keepalive", R"({"ID":")" + m[1].str() + "\"}", alice));
  REQUIRE(keepalive.read_head().status == 200);
  auto renewed = keepalive.read_chunk();
  REQUIRE(renewed);
  CHECK_THAT(*renewed, Contains(R"("TTL":"60")"));

  // A stream's error before its first message, as grpc-gateway writes it (etcd 3.4 answers
  // this request so): chunked, the status from its code, the stream's error object.
  HttpConn snapshot(node.grpc_port());
  auto no_token = call(snapshot, "/v3/maintenance/snapshot", "{}");
  CHECK(no_token.status == 500);
  CHECK(no_token.headers["transfer-encoding"] == "chunked");
  CHECK_THAT(no_token.body, Contains(R"({"error":{"grpc_code":2,"http_code":500,)"
                                     R"("message":"auth: user name is empty",)"
                                     R"("http_status":"Internal Server Error"}})"));
}

}  // namespace revkv
