#pragma once

// Executes a parsed revkvctl invocation against the node. Exit codes as etcdctl's
// (cli.hpp ExitCode): 0 on success, otherwise "Error: <message>" on stderr and 1 for a
// failed request, 3 for bad txn input, 4 for an unsupported output format, 5 for a watch
// the node canceled, 128 for bad arguments.

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
