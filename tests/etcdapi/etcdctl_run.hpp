#pragma once

// Runs Debian's etcdctl 3.4 (etcd-client) for the etcdctl tests of this folder.

#include "tests/skip.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace revkv::testing {

// Where etcdctl is; "" when it is not installed (the callers report themselves skipped).
inline std::string find_etcdctl() {
  // ETCDCTL_PATH overrides the search; one that does not exist means "not installed".
  if (const char* env = std::getenv("ETCDCTL_PATH"); env && *env)
    return std::filesystem::exists(env) ? env : "";
  for (const char* p : {"/usr/bin/etcdctl", "/usr/local/bin/etcdctl"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

// find_etcdctl(), or "" after reporting the running test skipped (tests/skip.hpp).
inline std::string etcdctl_or_skip() {
  auto bin = find_etcdctl();
  if (bin.empty()) report_skipped("etcdctl not installed (Debian etcd-client; scripts/setup)");
  return bin;
}

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line to its end: what it wrote to stdout (callers add 2>&1 for
// stderr) and its exit status (-1 when a signal ended it).
inline Run run_shell(const std::string& cmd) {
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `args` go through the shell: the callers quote what needs quoting. `input` is stdin.
inline Run etcdctl(const std::string& bin, const std::string& endpoint, const std::string& args,
                   const std::string& input = "") {
  return run_shell("printf '%s' '" + input + "' | ETCDCTL_API=3 " + bin + " --endpoints=" +
                   endpoint + " --dial-timeout=5s --command-timeout=10s " + args + " 2>&1");
}

}  // namespace revkv::testing
