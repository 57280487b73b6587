#include "apps/revkvd/yaml_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>

namespace revkv::apps {

std::string YamlConfig::to_config(const CLI::App* app, bool default_also, bool, std::string) const {
  std::ostringstream out;
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_lnames().empty() || opt->get_configurable() == false) continue;
    std::string name = opt->get_lnames().front();
    if (name == "config" || name == "help" || name == "version") continue;
    std::string value =
        opt->count() > 0 ? opt->results().front() : (default_also ? opt->get_default_str() : "");
    if (value.empty()) continue;
    std::replace(name.begin(), name.end(), '-', '_');
    out << name << ": " << value << "\n";
  }
  return out.str();
}

std::set<std::string> YamlConfig::keys_of(const CLI::App& app) {
  std::set<std::string> keys;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty() || !opt->get_configurable()) continue;
    std::string name = opt->get_lnames().front();
    if (name == "config" || name == "help" || name == "version") continue;
    std::replace(name.begin(), name.end(), '-', '_');
    keys.insert(name);
  }
  return keys;
}

namespace {

// An option value unless a REVKV_* variable for it is set: CLI11 applies a config file
// before the environment, and the environment only fills options still unset;
// The precedence (docs/NODE.md) is env > file, so a file value yields to a variable that is set.
void add_item(std::vector<CLI::ConfigItem>& items, const std::string& name,
              const std::string& value) {
  std::string env = "REVKV_" + name;
  std::transform(env.begin(), env.end(), env.begin(),
                 [](char c) { return c == '-' ? '_' : static_cast<char>(std::toupper(c)); });
  if (std::getenv(env.c_str()) != nullptr) return;
  CLI::ConfigItem item;
  item.name = name;
  item.inputs = {value};
  items.push_back(std::move(item));
}

// etcd's client-transport-security and peer-transport-security maps: the keys revkvd
// serves (no auto-tls: a self-signed certificate nobody can verify is not offered). The
// peer map's keys are the flags with "peer-" before them.
void add_transport_security(std::vector<CLI::ConfigItem>& items, const YAML::Node& map,
                            const std::string& section, const std::string& flag_prefix) {
  static const std::set<std::string> kKeys = {"cert-file", "key-file", "trusted-ca-file",
                                              "client-cert-auth"};
  if (!map.IsMap()) throw CLI::ConversionError("config " + section + " must be a map");
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    if (kKeys.count(key) == 0) {
      throw CLI::ConversionError("config file: unknown key '" + section + "." + key +
                                 "' (known: cert-file, key-file, trusted-ca-file, "
                                 "client-cert-auth)");
    }
    if (!entry.second.IsScalar())
      throw CLI::ConversionError("config option " + key + " must be a single value");
    add_item(items, flag_prefix + key, entry.second.as<std::string>());
  }
}

}  // namespace

std::vector<CLI::ConfigItem> YamlConfig::from_config(std::istream& input) const {
  YAML::Node root;
  try {
    root = YAML::Load(input);
  } catch (const YAML::Exception& e) {
    throw CLI::ConversionError("config file is not valid YAML: " + std::string(e.what()));
  }
  std::vector<CLI::ConfigItem> items;
  if (root.IsNull()) return items;
  if (!root.IsMap()) throw CLI::ConversionError("config file must be a map of option: value");
  std::map<std::string, std::string> seen;  // key with '_' for '-' -> as written
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    if (key == "client-transport-security" || key == "client_transport_security") {
      add_transport_security(items, entry.second, "client-transport-security", "");
      continue;
    }
    if (key == "peer-transport-security" || key == "peer_transport_security") {
      add_transport_security(items, entry.second, "peer-transport-security", "peer-");
      continue;
    }
    // etcd's config files write its flags' names (heartbeat-interval); revkvd's own use
    // underscores (heartbeat_interval): both name the same flag.
    std::string known = key;
    std::replace(known.begin(), known.end(), '-', '_');
    if (known_.count(known) == 0)
      throw CLI::ConversionError("config file: unknown key '" + key + "'");
    if (auto [it, fresh] = seen.emplace(known, key); !fresh) {
      // CLI11 would keep the first and drop the second without a word.
      throw CLI::ConversionError("config file: key '" + key + "' given twice (also as '" +
                                 it->second + "')");
    }
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    if (!entry.second.IsScalar()) {
      throw CLI::ConversionError("config option " + name + " must be a single value");
    }
    add_item(items, name, entry.second.as<std::string>());
  }
  return items;
}

}  // namespace revkv::apps
