#pragma once

// CLI11 reads revkvd's YAML config file through this adapter, so that one option table
// serves flags, environment and file with CLI11's precedence (flag > env > file >
// default). YAML keys are the flag names with '_' for '-' (docs/NODE.md). etcd's config
// file nests its client TLS settings; that map is read too, with etcd's key names:
//   client-transport-security: {cert-file: F, key-file: F, trusted-ca-file: F,
//                               client-cert-auth: true}

#include <CLI/CLI.hpp>

#include <istream>
#include <set>
#include <string>
#include <vector>

namespace revkv::apps {

class YamlConfig : public CLI::Config {
 public:
  // `known`: the keys the file may hold (flag names without dashes, '-' as '_'); any
  // other key is refused with its name, as a misspelt key must not be silently ignored.
  explicit YamlConfig(std::set<std::string> known) : known_(std::move(known)) {}
  // The keys of `app`'s configurable long options.
  static std::set<std::string> keys_of(const CLI::App& app);

  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  // Throws CLI::ConversionError on a document that is not a flat map of scalars, or that
  // has an unknown key.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  std::set<std::string> known_;
};

}  // namespace revkv::apps
