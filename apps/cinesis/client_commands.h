// `cinesis streams | put | tail`: everyday commands against any Kinesis endpoint, built on
// libcinesis (KinesisClient over HTTP, the Producer for `put`).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cinesis/client.h"

namespace cinesis::app {

class ClientCommands {
 public:
  explicit ClientCommands(CLI::App& app);
  // True when one of the commands was given on the command line.
  bool Selected() const;
  int Run();

 private:
  Result<std::unique_ptr<KinesisClient>> Connect() const;
  int List(KinesisClient& client);
  int Create(KinesisClient& client);
  int Describe(KinesisClient& client);
  int Delete(KinesisClient& client);
  int Put(KinesisClient& client);
  int Tail(KinesisClient& client);

  CLI::App* streams_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* describe_ = nullptr;
  CLI::App* delete_ = nullptr;
  CLI::App* put_ = nullptr;
  CLI::App* tail_ = nullptr;

  std::string endpoint_ = "http://127.0.0.1:4567";
  std::string region_;
  std::string stream_;
  int shards_ = 0;
  bool on_demand_ = false;
  std::vector<std::string> data_;
  std::string partition_key_;
  std::string from_ = "latest";
  std::uint64_t limit_ = 0;
  bool no_follow_ = false;
  bool json_ = false;
};

}  // namespace cinesis::app
