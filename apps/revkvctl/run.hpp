#pragma once

// Executes a parsed revkvctl invocation against the node. Exit codes as etcdctl's common
// case: 0 on success, 1 with "Error: <message>" on stderr otherwise.

#include "apps/revkvctl/cli.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace revkv::ctl {

int run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err);
// parse() + run(): the whole program.
int main_with_args(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

}  // namespace revkv::ctl
