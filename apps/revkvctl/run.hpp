#pragma once

// Executes a parsed revkvctl invocation against the node. Exit codes as etcdctl's
// (cli.hpp ExitCode): 0 on success, otherwise "Error: <message>" on stderr and 1 for a
// failed request, 3 for bad txn input, 4 for an unsupported output format, 5 for a watch
// the node canceled, 128 for bad arguments.

#include "apps/revkvctl/cli.hpp"

#include <iosfwd>
#include <stop_token>
#include <string>
#include <vector>

namespace revkv::ctl {

// `stop` ends a running `watch` (exit 5), which otherwise runs until the node cancels it —
// reconnecting and resuming when the node goes away — or the process is interrupted.
int run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err,
        std::stop_token stop = {});
// parse() + run(): the whole program.
int main_with_args(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err, std::stop_token stop = {});

}  // namespace revkv::ctl
