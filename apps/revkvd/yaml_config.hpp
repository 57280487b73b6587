#pragma once

// CLI11 reads revkvd's YAML config file through this adapter, so that one option table
// serves flags, environment and file with CLI11's precedence (flag > env > file >
// default). YAML keys are the flag names with '_' for '-' (OPERATIONS.md).

#include <CLI/CLI.hpp>

#include <istream>
#include <string>
#include <vector>

namespace revkv::apps {

class YamlConfig : public CLI::Config {
 public:
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  // Throws CLI::ConversionError on a document that is not a flat map of scalars.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
};

}  // namespace revkv::apps
