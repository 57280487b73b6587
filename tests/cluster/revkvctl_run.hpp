#pragma once

// revkvctl run in the test's own process (its `main_with_args`), as the cluster tests drive
// it against members' MessagePack doors: what it printed, stdout and stderr together (as
// etcdctl's 2>&1 in the side-by-side checks), and its exit status.

#include "apps/revkvctl/run.hpp"

#include <sstream>
#include <string>
#include <vector>

namespace revkv::testing {

struct Ctl {
  int status = -1;
  std::string out;
};

// revkvctl ARGS (split at spaces) against `endpoints`.
inline Ctl revkvctl(const std::string& endpoints, const std::string& args) {
  std::vector<std::string> argv{"revkvctl", "--endpoints=" + endpoints, "--command-timeout=40s"};
  std::istringstream words(args);
  for (std::string w; words >> w;)
    argv.push_back(w);
  std::istringstream in;
  std::ostringstream out;
  int code = ctl::main_with_args(argv, in, out, out);
  return {code, out.str()};
}

}  // namespace revkv::testing
