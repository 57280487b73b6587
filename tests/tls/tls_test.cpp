// TLS on revkvd's client doors (docs/SECURITY.md), whole-process: certificates made with
// the openssl CLI by the very commands docs/SECURITY.md shows, then etcdctl 3.4 (gRPC),
// curl (the JSON gateway) and revkvctl (MessagePack) over TLS; plaintext, untrusted,
// expired and missing client certificates refused with one log line while the node keeps
// serving; certificates reloaded on SIGHUP; bad flags refused at start. Skipped, not passed,
// where openssl, etcdctl or curl is missing.

#include "apps/revkvctl/run.hpp"
#include "tests/etcdapi/background_etcdctl.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/security_doc.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

struct Sh {
  int status = -1;
  std::string out;  // stdout and stderr
};

Sh sh(const std::string& cmd) {
  Sh r;
  FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have(const char* tool) {
  return sh(std::string("command -v ") + tool + " >/dev/null").status == 0;
}

using testing::read_file;

// The shell block between the tls-setup markers of docs/SECURITY.md.
std::string setup_commands() {
  return testing::security_doc_block("tls-setup");
}

// A CA, the node's and a client's certificates (docs/SECURITY.md), and for the refusals
// and the reload: a client certificate from another CA, an expired one from the right CA,
// and a second server certificate.
struct Certs {
  testing::TempDir dir;
  std::string at(const std::string& name) const { return dir.sub(name); }
};

bool make_certs(const Certs& c) {
  const auto setup = sh("cd " + c.dir.str() + " && bash -euo pipefail -c '" + [&] {
    std::string s = setup_commands(), quoted;
    for (char ch : s)
      quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return quoted;
  }() + "'");
  INFO(setup.out);
  REQUIRE(setup.status == 0);
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const auto extra =
      sh("cd " + c.dir.str() + " && set -e\n" +
         // Another CA and a client certificate of its own.
         "openssl req -x509 " + ec + " -keyout rogue-ca.key -out rogue-ca.crt -days 30 " +
         "-subj '/CN=rogue CA'\n" + "openssl req " + ec +
         " -keyout rogue.key -out rogue.csr -subj '/CN=rogue'\n" +
         "openssl x509 -req -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key -CAcreateserial "
         "-days 30 -extfile client.ext -out rogue.crt\n" +
         // The right CA, but it expired yesterday (-days -1 ends it before it starts).
         "openssl req " + ec + " -keyout old.key -out old.csr -subj '/CN=old'\n" +
         "openssl x509 -req -in old.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 "
         "-extfile client.ext -out old.crt\n" +
         // A second server certificate, for the reload.
         "openssl req " + ec + " -keyout server2.key -out server2.csr -subj '/CN=revkv node 2'\n" +
         "openssl x509 -req -in server2.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 "
         "-extfile server.ext -out server2.crt\n");
  INFO(extra.out);
  REQUIRE(extra.status == 0);
  return true;
}

bool tools_or_skip(std::initializer_list<const char*> tools) {
  for (const char* t : tools) {
    if (!have(t)) {
      testing::report_skipped(std::string(t) + " not installed (scripts/setup)");
      return false;
    }
  }
  return true;
}

std::vector<std::string> tls_flags(const Certs& c, bool client_cert_auth) {
  std::vector<std::string> f = {"--sync",           "never",      "--cert-file",
                                c.at("server.crt"), "--key-file", c.at("server.key"),
                                "--log-format",     "text"};
  if (client_cert_auth) {
    f.insert(f.end(), {"--trusted-ca-file", c.at("ca.crt"), "--client-cert-auth"});
  }
  return f;
}

// Waits until the log holds `text` (or `limit` passes); whether it does.
bool log_has(const std::string& log, const std::string& text, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (read_file(log).find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// etcdctl's TLS flags with a client certificate `name` (client, rogue, old) or none.
std::string etcdctl_tls(const Certs& c, const std::string& name) {
  std::string f = "--cacert " + c.at("ca.crt");
  if (!name.empty()) f += " --cert " + c.at(name + ".crt") + " --key " + c.at(name + ".key");
  return f + " ";
}

struct CtlRun {
  int status = -1;
  std::string out, err;
};

CtlRun revkvctl(std::vector<std::string> args) {
  args.insert(args.begin(), "revkvctl");
  std::istringstream in;
  std::ostringstream out, err;
  CtlRun r;
  r.status = ctl::main_with_args(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// The serial and subject of the certificate a new connection to `port` gets.
std::string served_certificate(const Certs& c, uint16_t port) {
  return sh("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " +
            c.at("ca.crt") + " -cert " + c.at("client.crt") + " -key " + c.at("client.key") +
            " </dev/null 2>/dev/null | openssl x509 -noout -serial -subject")
      .out;
}

std::string certificate_of(const std::string& file) {
  return sh("openssl x509 -noout -serial -subject -in " + file).out;
}

// A raw TCP connection to 127.0.0.1:`port`; -1 on failure.

TEST_CASE("etcdctl 3.4 over TLS with a client certificate: put get and watch", "[tls][node]") {
  if (!tools_or_skip({"openssl"})) return;
  const auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  const std::string log = dir.sub("log");
  testing::NodeProcess node(dir.sub("data"), tls_flags(c, true), log);
  const std::string ep = "https://127.0.0.1:" + std::to_string(node.grpc_port());
  auto run = [&](const std::string& cert, const std::string& args) {
    auto r = testing::etcdctl(bin, ep, etcdctl_tls(c, cert) + args);
    INFO("etcdctl " << args << "\n" << r.out);
    return r;
  };
  CHECK(run("client", "put foo bar").out == "OK\n");
  CHECK(run("client", "get foo").out == "foo\nbar\n");

  testing::BackgroundEtcdctl watch(bin, ep, etcdctl_tls(c, "client") + "watch foo --rev 1");
  CHECK(watch.wait_for("PUT\nfoo\nbar\n", 10s));
  CHECK(run("client", "put foo baz").out == "OK\n");
  CHECK(watch.wait_for("PUT\nfoo\nbaz\n", 10s));
  watch.interrupt(5s);

  // The cluster's client URL says https.
  CHECK(run("client", "member list").out.find("https://127.0.0.1:") != std::string::npos);
}

TEST_CASE(
    "refused at the TLS client port: plaintext and garbage and missing or untrusted or "
    "expired client certificates while the node keeps serving",
    "[tls][node]") {
  if (!tools_or_skip({"openssl"})) return;
  const auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  const std::string log = dir.sub("log");
  testing::NodeProcess node(dir.sub("data"), tls_flags(c, true), log);
  const std::string port = std::to_string(node.grpc_port());
  const std::string ep = "https://127.0.0.1:" + port;
  auto refused = [&](const std::string& flags, const std::string& endpoint) {
    auto r = testing::etcdctl(bin, endpoint, flags + "--dial-timeout=2s put k v");
    INFO(r.out);
    CHECK(r.status != 0);
  };

  // Plaintext gRPC to the TLS port.
  refused("", "127.0.0.1:" + port);
  CHECK(log_has(log, "refused: not TLS (plaintext to a TLS port?)", 10s));
  // No client certificate.
  refused(etcdctl_tls(c, ""), ep);
  CHECK(log_has(log, "refused: TLS handshake failed: peer did not return a certificate", 10s));
  // A client certificate from another CA.
  refused(etcdctl_tls(c, "rogue"), ep);
  CHECK(log_has(log, "client certificate /CN=rogue rejected: unable to get local issuer", 10s));
  // The right CA, expired.
  refused(etcdctl_tls(c, "old"), ep);
  CHECK(log_has(log, "client certificate /CN=old rejected: certificate has expired", 10s));

  // Garbage that starts as a TLS record, a handshake cut short, and plaintext HTTP/1.1.
  for (const std::string& bytes :
       {std::string("\x16\x03\x01\x00\x05garbagegarbage", 20), std::string("\x16\x03\x01\x02", 4),
        std::string("GET /health HTTP/1.1\r\n\r\n")}) {
    const int fd = testing::connect_loopback(node.grpc_port());
    REQUIRE(fd >= 0);
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
    ::shutdown(fd, SHUT_WR);
    // The node closes it, with at most a TLS alert (7 bytes), never an answer.
    std::string got;
    char buf[256];
    for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0 && got.size() < 4096;)
      got.append(buf, static_cast<size_t>(n));
    CHECK(got.size() <= 7);
    ::close(fd);
  }
  CHECK(log_has(log, "refused: connection closed during the TLS handshake", 10s));

  // Silent connections wait at their handshake deadline, apart: they hold up no one.
  std::vector<int> silent;
  for (int i = 0; i < 100; ++i)
    if (const int fd = testing::connect_loopback(node.grpc_port()); fd >= 0) silent.push_back(fd);
  CHECK(silent.size() == 100);

  // The node serves the next client as before.
  auto ok = testing::etcdctl(bin, ep, etcdctl_tls(c, "client") + "put k v");
  INFO(ok.out);
  CHECK(ok.out == "OK\n");
  for (int fd : silent)
    ::close(fd);
  CHECK(node.stop() == 0);
}

TEST_CASE("the JSON gateway over https with curl", "[tls][node]") {
  if (!tools_or_skip({"openssl", "curl"})) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), tls_flags(c, true), dir.sub("log"));
  const std::string url = "https://127.0.0.1:" + std::to_string(node.grpc_port());
  const std::string curl = "curl -sS --max-time 10 --cacert " + c.at("ca.crt") + " --cert " +
                           c.at("client.crt") + " --key " + c.at("client.key") + " ";
  // "foo" = Zm9v, "bar" = YmFy; HTTP/1.1 by ALPN, and without ALPN (the port sniffs).
  auto put = sh(curl + url + "/v3/kv/put -d '{\"key\":\"Zm9v\",\"value\":\"YmFy\"}'");
  INFO(put.out);
  CHECK(put.out.find("\"revision\":\"2\"") != std::string::npos);
  auto get = sh(curl + "--no-alpn " + url + "/v3/kv/range -d '{\"key\":\"Zm9v\"}'");
  INFO(get.out);
  CHECK(get.out.find("\"value\":\"YmFy\"") != std::string::npos);
  // Without a client certificate: refused during the handshake.
  auto anonymous = sh("curl -sS --max-time 10 --cacert " + c.at("ca.crt") + " " + url +
                      "/v3/kv/range -d '{\"key\":\"Zm9v\"}'");
  CHECK(anonymous.status != 0);
  CHECK(anonymous.out.find("YmFy") == std::string::npos);
}

TEST_CASE("revkvctl over TLS to the MessagePack port", "[tls][node]") {
  if (!tools_or_skip({"openssl"})) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  const std::string log = dir.sub("log");
  testing::NodeProcess node(dir.sub("data"), tls_flags(c, true), log);
  const std::string ep = "127.0.0.1:" + std::to_string(node.client_port());
  const std::vector<std::string> tls = {"--cacert",         c.at("ca.crt"), "--cert",
                                        c.at("client.crt"), "--key",        c.at("client.key")};
  auto ctl = [&](const std::string& endpoint, std::vector<std::string> flags,
                 std::vector<std::string> args) {
    std::vector<std::string> all = {"--endpoints", endpoint, "--dial-timeout", "3s"};
    all.insert(all.end(), flags.begin(), flags.end());
    all.insert(all.end(), args.begin(), args.end());
    auto r = revkvctl(all);
    INFO("revkvctl " << endpoint << ": " << r.out << r.err);
    return r;
  };
  CHECK(ctl(ep, tls, {"put", "a", "1"}).out == "OK\n");
  CHECK(ctl("https://" + ep, tls, {"get", "a"}).out == "a\n1\n");
  // A large value crosses the relay in many TLS records, both ways.
  const std::string big(300 * 1024, 'x');
  CHECK(ctl(ep, tls, {"put", "big", big}).out == "OK\n");
  CHECK(ctl(ep, tls, {"get", "big", "--print-value-only"}).out == big + "\n");

  // Plaintext to the TLS port, an untrusted server (no --cacert: the system's CAs), no
  // client certificate: errors, and the node logs why.
  CHECK(ctl(ep, {}, {"get", "a"}).status != 0);
  CHECK(log_has(log, "MessagePack port connection from 127.0.0.1", 10s));
  auto untrusted = ctl("https://" + ep, {}, {"get", "a"});
  CHECK(untrusted.status != 0);
  CHECK(untrusted.err.find("server certificate") != std::string::npos);
  CHECK(ctl(ep, {"--cacert", c.at("ca.crt")}, {"get", "a"}).status != 0);
  CHECK(log_has(log, "peer did not return a certificate", 10s));
  // --insecure-skip-tls-verify skips the server's check, not the node's of the client.
  CHECK(
      ctl(ep,
          {"--insecure-skip-tls-verify", "--cert", c.at("client.crt"), "--key", c.at("client.key")},
          {"get", "a", "--print-value-only"})
          .out == "1\n");
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvctl without a user acts on the MessagePack port as its certificate CN user",
          "[tls][node][auth]") {
  if (!tools_or_skip({"openssl"})) return;
  Certs c;
  make_certs(c);
  // client.crt's CN is app1 (docs/SECURITY.md); ghost names no user.
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const auto ghost = sh("cd " + c.dir.str() + " && set -e\n" + "openssl req " + ec +
                        " -keyout ghost.key -out ghost.csr -subj '/CN=ghost'\n" +
                        "openssl x509 -req -in ghost.csr -CA ca.crt -CAkey ca.key "
                        "-CAcreateserial -days 30 -extfile client.ext -out ghost.crt\n");
  INFO(ghost.out);
  REQUIRE(ghost.status == 0);
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), tls_flags(c, true), dir.sub("log"));
  const std::string ep = "https://127.0.0.1:" + std::to_string(node.client_port());
  auto ctl = [&](const std::string& cert, std::vector<std::string> args) {
    std::vector<std::string> all = {
        "--endpoints",  ep,       "--dial-timeout",    "3s",    "--cacert",
        c.at("ca.crt"), "--cert", c.at(cert + ".crt"), "--key", c.at(cert + ".key")};
    all.insert(all.end(), args.begin(), args.end());
    auto r = revkvctl(all);
    UNSCOPED_INFO("as " << cert << ": " << r.out << r.err);
    return r;
  };
  // Auth off: the certificate's user needs not exist.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"put", "/app1/a", "1"},
           {"put", "other", "2"},
           {"user", "add", "root:rootpw"},
           {"user", "grant-role", "root", "root"},
           {"role", "add", "app"},
           {"role", "grant-permission", "--prefix", "app", "read", "/app1/"},
           {"user", "add", "app1:app1pw"},
           {"user", "grant-role", "app1", "app"},
           {"auth", "enable"}})
    REQUIRE(ctl("ghost", args).status == 0);

  // No token: the certificate's CN is the user, with its roles' permissions.
  CHECK(ctl("client", {"get", "/app1/a", "--print-value-only"}).out == "1\n");
  const auto other = ctl("client", {"get", "other"});
  CHECK(other.status != 0);
  CHECK(other.err.find("etcdserver: permission denied") != std::string::npos);
  const auto write = ctl("client", {"put", "/app1/a", "3"});
  CHECK(write.status != 0);
  CHECK(write.err.find("etcdserver: permission denied") != std::string::npos);
  // Auth calls too: app1 may read itself but not list the users.
  CHECK(ctl("client", {"user", "get", "app1"}).status == 0);
  CHECK(ctl("client", {"user", "list"}).status != 0);
  // A CN that names no user is refused.
  const auto nobody = ctl("ghost", {"get", "/app1/a"});
  CHECK(nobody.status != 0);
  CHECK(nobody.err.find("etcdserver: permission denied") != std::string::npos);
  // A token outranks the certificate, whichever way.
  CHECK(ctl("ghost", {"--user", "app1:app1pw", "get", "/app1/a", "--print-value-only"}).out ==
        "1\n");
  CHECK(ctl("client", {"--user", "root:rootpw", "get", "other", "--print-value-only"}).out ==
        "2\n");
  CHECK(ctl("client", {"--user", "app1:wrong", "get", "/app1/a"}).status != 0);
  // The roles are read at each request: a revoked permission counts at once.
  REQUIRE(ctl("client",
              {"--user", "root:rootpw", "role", "revoke-permission", "app", "/app1/", "--prefix"})
              .status == 0);
  const auto revoked = ctl("client", {"get", "/app1/a"});
  CHECK(revoked.status != 0);
  CHECK(revoked.err.find("etcdserver: permission denied") != std::string::npos);
  CHECK(node.stop() == 0);
}

TEST_CASE("SIGHUP reloads the certificates and new connections get the new one", "[tls][node]") {
  if (!tools_or_skip({"openssl"})) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  const std::string log = dir.sub("log");
  // The node reads the files it was given: they are replaced in place.
  const std::string cert = dir.sub("node.crt"), key = dir.sub("node.key");
  std::filesystem::copy_file(c.at("server.crt"), cert);
  std::filesystem::copy_file(c.at("server.key"), key);
  testing::NodeProcess node(
      dir.sub("data"),
      {"--sync", "never", "--cert-file", cert, "--key-file", key, "--trusted-ca-file",
       c.at("ca.crt"), "--client-cert-auth", "--log-format", "text", "--log-level", "info"},
      log);
  const auto first = certificate_of(c.at("server.crt"));
  const auto second = certificate_of(c.at("server2.crt"));
  REQUIRE(first != second);
  CHECK(served_certificate(c, node.grpc_port()) == first);
  CHECK(served_certificate(c, node.client_port()) == first);

  // A key that does not match: the reload fails, the old certificate stays.
  std::filesystem::copy_file(c.at("server2.crt"), cert,
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(::kill(node.pid(), SIGHUP) == 0);
  CHECK(log_has(log, "TLS certificates not reloaded, the previous ones stay", 10s));
  CHECK(served_certificate(c, node.grpc_port()) == first);

  std::filesystem::copy_file(c.at("server2.key"), key,
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(::kill(node.pid(), SIGHUP) == 0);
  const bool reloaded = log_has(log, "TLS certificates reloaded", 10s);
  INFO(read_file(log));
  CHECK(reloaded);
  CHECK(served_certificate(c, node.grpc_port()) == second);
  CHECK(served_certificate(c, node.client_port()) == second);
  CHECK(node.stop() == 0);
}

TEST_CASE("TLS flags: bad combinations and files refused at start and the YAML keys of etcd",
          "[tls][node]") {
  if (!tools_or_skip({"openssl"})) return;
  Certs c;
  make_certs(c);
  testing::TempDir dir;
  const std::string data = dir.sub("data");
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--cert-file", c.at("server.crt")}, "--cert-file needs --key-file"},
      {{"--key-file", c.at("server.key")}, "--key-file needs --cert-file"},
      {{"--client-cert-auth"}, "--client-cert-auth needs --cert-file and --key-file"},
      {{"--cert-file", c.at("server.crt"), "--key-file", c.at("server.key"), "--client-cert-auth"},
       "--client-cert-auth needs --trusted-ca-file"},
      {{"--cert-file", dir.sub("missing.crt"), "--key-file", c.at("server.key")},
       "cannot load --cert-file"},
      {{"--cert-file", c.at("server.crt"), "--key-file", c.at("client.key")},
       "does not match --cert-file"},
      {{"--listen-grpc", "https://127.0.0.1:0"}, "https:// needs TLS"},
  };
  for (const auto& k : cases) {
    std::vector<std::string> args = {"--data-dir", data};
    args.insert(args.end(), k.flags.begin(), k.flags.end());
    auto [status, err] = testing::run_revkvd(args);
    INFO(err);
    CHECK(status == 1);
    CHECK(err.find(k.says) != std::string::npos);
    CHECK(!std::filesystem::exists(data));
  }

  // etcd's config file layout, and https:// listen URLs.
  const std::string config = dir.sub("revkvd.yaml");
  std::ofstream(config) << "client-transport-security:\n"
                        << "  cert-file: " << c.at("server.crt") << "\n"
                        << "  key-file: " << c.at("server.key") << "\n"
                        << "  trusted-ca-file: " << c.at("ca.crt") << "\n"
                        << "  client-cert-auth: true\n";
  testing::NodeProcess node(data, {"--config", config, "--listen-grpc", "https://127.0.0.1:0",
                                   "--listen-client", "https://127.0.0.1:0"});
  // Served with TLS and a client certificate required.
  CHECK(served_certificate(c, node.grpc_port()) == certificate_of(c.at("server.crt")));
  auto anonymous = revkvctl({"--endpoints", "127.0.0.1:" + std::to_string(node.client_port()),
                             "--cacert", c.at("ca.crt"), "get", "a"});
  CHECK(anonymous.status != 0);
  std::ofstream(config, std::ios::app) << "  auto-tls: true\n";
  auto [status, err] = testing::run_revkvd({"--data-dir", dir.sub("data2"), "--config", config});
  CHECK(status != 0);
  CHECK(err.find("client-transport-security.auto-tls") != std::string::npos);
}

TEST_CASE("a plaintext client door beyond loopback is warned about at start", "[tls][node]") {
  testing::TempDir dir;
  const std::string log = dir.sub("log");
  {
    testing::NodeProcess node(
        dir.sub("data"), {"--sync", "never", "--listen-grpc", "0.0.0.0:0", "--log-format", "text"},
        log);
    CHECK(node.stop() == 0);
  }
  const auto text = read_file(log);
  CHECK(text.find("--listen-grpc 0.0.0.0:0 listens beyond loopback without TLS") !=
        std::string::npos);
  CHECK(text.find("--listen-client 127.0.0.1") == std::string::npos);
}

}  // namespace
}  // namespace revkv
