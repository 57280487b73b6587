// revkvctl: etcdctl-style command-line client for revkvd (docs/REVKVCTL.md).

#include "apps/revkvctl/run.hpp"

#include <iostream>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return revkv::ctl::main_with_args(args, std::cin, std::cout, std::cerr);
}
