// The client certificate's CN as the user (docs/SECURITY.md "The certificate's CN as the
// user"): with --client-cert-auth and auth enabled, an etcdctl 3.4 that gives no --user acts
// as the user its certificate names, side by side with a real etcd 3.4 started with the
// same certificates (made here with openssl): the same answers for a permitted user, a
// user without the permission, a CN naming no user, the root user, a --user that outranks
// the certificate, a refused watch, and the JSON gateway (which ignores the certificate,
// as etcd's). Skipped, not passed, where openssl, etcdctl, curl or etcd is missing.

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace revkv {
namespace {

bool tool_or_skip(const std::string& tool) {
  if (testing::run_shell("command -v " + tool + " >/dev/null 2>&1").status == 0) return true;
  testing::report_skipped(tool + " not installed (scripts/setup)");
  return false;
}

// A CA, a server certificate for 127.0.0.1, and client certificates whose CNs are `users`
// (each in USER.crt / USER.key), in `dir`.
void make_certificates(const std::string& dir, const std::vector<std::string>& users) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = "cd " + dir + " && set -e\n" + "openssl req -x509 " + ec +
                       " -keyout ca.key -out ca.crt -days 30 -subj '/CN=test CA'\n" +
                       "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' "
                       "> server.ext\n" +
                       "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n" + "openssl req " +
                       ec + " -keyout server.key -out server.csr -subj '/CN=test node'\n" +
                       "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
                       "-CAcreateserial -days 30 -extfile server.ext -out server.crt\n";
  for (const auto& u : users) {
    script += "openssl req " + ec + " -keyout " + u + ".key -out " + u + ".csr -subj '/CN=" + u +
              "'\n" + "openssl x509 -req -in " + u + ".csr -CA ca.crt -CAkey ca.key " +
              "-CAcreateserial -days 30 -extfile client.ext -out " + u + ".crt\n";
  }
  const auto r = testing::run_shell("(" + script + ") 2>&1");
  INFO(r.out);
  REQUIRE(r.status == 0);
}

std::string normalize(std::string out, const std::string& endpoint) {
  // clientv3's retry interceptor logs each refused call with a timestamp and a target.
  out = std::regex_replace(out, std::regex(R"(\{"level":"warn"[^\n]*\n)"), "");
  out = std::regex_replace(out, std::regex(R"("header":\{[^}]*\})"), R"("header":H)");
  // curl -i: the answer's date is the moment's.
  out = std::regex_replace(out, std::regex("Date: [^\r\n]*\r?\n"), "");
  for (size_t at = 0; (at = out.find(endpoint, at)) != std::string::npos;)
    out.replace(at, endpoint.size(), "ENDPOINT");
  return out;
}

// One command as the holder of certificate `cert`: etcdctl's arguments, or after "curl " a
// call to the JSON gateway (ENDPOINT replaced).
struct Step {
  std::string cert;
  std::string args;
};

testing::Run run(const std::string& etcdctl, const std::string& certs, const std::string& endpoint,
                 const Step& step) {
  const std::string tls = "--cacert " + certs + "/ca.crt --cert " + certs + "/" + step.cert +
                          ".crt --key " + certs + "/" + step.cert + ".key ";
  if (step.args.rfind("curl ", 0) == 0) {
    std::string args = step.args.substr(5);
    for (size_t at; (at = args.find("ENDPOINT")) != std::string::npos;)
      args.replace(at, 8, endpoint);
    return testing::run_shell("curl -s " + tls + args + " 2>&1");
  }
  return testing::etcdctl(etcdctl, "https://" + endpoint, tls + step.args);
}

}  // namespace

TEST_CASE("with client-cert-auth the certificate CN is the user as in etcd 3.4",
          "[tls][node][reference][auth]") {
  if (!tool_or_skip("openssl") || !tool_or_skip("curl")) return;
  const auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  const auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  const std::string certs = dir.sub("certs");
  std::filesystem::create_directories(certs);
  make_certificates(certs, {"root", "app1", "ghost"});
  const std::vector<std::string> tls = {
      "--cert-file",       certs + "/server.crt", "--key-file",        certs + "/server.key",
      "--trusted-ca-file", certs + "/ca.crt",     "--client-cert-auth"};
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"), tls, /*https=*/true);
  std::vector<std::string> flags = {"--sync", "never"};
  flags.insert(flags.end(), tls.begin(), tls.end());
  testing::NodeProcess revkvd(dir.sub("revkvd"), flags);

  const std::vector<Step> steps = {
      // Auth off: the certificate's user needs not exist.
      {"ghost", "put /app1/a 1"},
      {"ghost", "user add root:rootpw"},
      {"ghost", "user grant-role root root"},
      {"ghost", "role add app"},
      {"ghost", "role grant-permission --prefix app readwrite /app1/"},
      {"ghost", "user add app1:app1pw"},
      {"ghost", "user grant-role app1 app"},
      {"ghost", "put other 1"},
      {"ghost", "auth enable"},
      // Auth on: no --user, so the certificate's CN is the user.
      {"app1", "put /app1/b 2"},
      {"app1", "get /app1/ --prefix"},
      {"app1", "get other"},
      {"app1", "put other 2"},
      {"app1", "del /app1/a"},
      {"app1", "user list"},
      {"app1", "user get app1"},
      {"app1", "auth status"},
      {"app1", "watch other"},
      {"app1", "defrag"},
      // A CN that names no user: permission denied (KV) or user name not found (admin).
      {"ghost", "get /app1/b"},
      {"ghost", "put /app1/c 3"},
      {"ghost", "user list"},
      {"ghost", "role get app"},
      // The root user's certificate may do everything.
      {"root", "get other"},
      {"root", "user list"},
      {"root", "role get app"},
      // A --user outranks the certificate: its token is what counts.
      {"ghost", "--user app1:app1pw get /app1/b"},
      {"app1", "--user root:rootpw get other"},
      {"app1", "--user app1:wrong get /app1/b"},
      // The JSON gateway cannot act as the certificate's user: with auth on, etcd's refuses
      // a certificate with a CN (whatever the token), before its CORS answers.
      {"app1",
       "curl -i --http1.1 -X POST -d '{\"key\":\"L2FwcDEvYg==\"}' https://ENDPOINT/v3/kv/range"},
      {"ghost",
       "curl -X POST -H 'Authorization: forged.1' -d '{}' https://ENDPOINT/v3beta/kv/range"},
      {"app1", "curl -X OPTIONS https://ENDPOINT/v3/kv/range"},
      // The user's permissions change under the certificate: it follows at once.
      {"root", "role revoke-permission app /app1/ --prefix"},
      {"app1", "get /app1/b"},
      {"root", "user delete app1"},
      {"app1", "get /app1/b"},
      {"root", "auth disable"},
      {"ghost", "get /app1/b"},
  };
  for (const auto& step : steps) {
    const auto expected = run(etcdctl, certs, etcd.endpoint(), step);
    const auto got = run(etcdctl, certs, revkvd.grpc_endpoint(), step);
    INFO("as " << step.cert << ": " << step.args << "\n-- etcd:\n"
               << expected.out << "-- revkvd:\n"
               << got.out);
    CHECK(got.status == expected.status);
    CHECK(normalize(got.out, revkvd.grpc_endpoint()) == normalize(expected.out, etcd.endpoint()));
  }
}

}  // namespace revkv
