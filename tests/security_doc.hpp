#pragma once

// The shell steps of docs/SECURITY.md, which the TLS tests run as written (so the documented
// openssl commands are the tested ones): a file's text, where SECURITY.md is (Bazel's
// runfiles via REVKV_SECURITY_MD in the environment, CMake's via the same compile-time
// define), and the ```sh block between `<!-- NAME begin -->` and `<!-- NAME end -->`.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace revkv::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string security_md() {
  if (const char* env = std::getenv("REVKV_SECURITY_MD"); env && *env) return env;
#ifdef REVKV_SECURITY_MD
  return REVKV_SECURITY_MD;
#else
  return "docs/SECURITY.md";
#endif
}

inline std::string security_doc_block(const std::string& name) {
  const std::string doc = read_file(security_md());
  const std::string begin = "<!-- " + name + " begin -->\n```sh\n";
  const std::string end = "```\n<!-- " + name + " end -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  return doc.substr(b + begin.size(), e - b - begin.size());
}

// `s` as one single-quoted shell word (a doc block handed to `bash -c`).
inline std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace revkv::testing
