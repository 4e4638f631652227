// `cinesis config`: what a client command would use, without calling Kinesis: the resolved
// region (and where it came from), the endpoint (and its source), and the credentials
// source (provider name, masked access key id, expiry), never a secret. Issue 20.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace cinesis::app {

class ConfigCommand {
 public:
  explicit ConfigCommand(CLI::App& app);
  bool Selected() const { return cmd_->parsed(); }
  int Run();

 private:
  CLI::App* cmd_ = nullptr;
  std::optional<std::string> endpoint_;
  std::string region_;
  std::string profile_;
  bool debug_ = false;
};

}  // namespace cinesis::app
