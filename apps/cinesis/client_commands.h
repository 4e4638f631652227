// `cinesis streams | put | tail`: everyday commands against any Kinesis endpoint, built on
// libcinesis (KinesisClient over HTTP, the Producer for `put`, a checkpoint store for
// `tail --app`). Linked into the one `cinesis` binary; exit codes in cli_util.h.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
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
  int Put(KinesisClient& client);   // put_command.cc
  int Tail(KinesisClient& client);  // tail_command.cc

  CLI::App* streams_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* describe_ = nullptr;
  CLI::App* delete_ = nullptr;
  CLI::App* put_ = nullptr;
  CLI::App* tail_ = nullptr;

  std::optional<std::string> endpoint_;  // unset: the environment, else the local server
  std::string region_;
  std::string ca_bundle_;
  bool no_verify_ssl_ = false;
  std::string stream_;
  // streams create / delete
  int shards_ = 0;
  bool on_demand_ = false;
  bool no_wait_ = false;
  // put
  std::vector<std::string> data_;
  std::string partition_key_;
  std::string key_delimiter_;
  std::string file_;
  int linger_ms_ = 20;
  bool quiet_ = false;
  // tail
  std::string from_ = "latest";
  std::vector<std::string> shard_filter_;
  std::string app_name_;
  std::string store_;
  std::string format_;
  std::uint64_t limit_ = 0;
  bool no_follow_ = false;
  bool json_ = false;
};

// Prints "cinesis: <error>" on stderr; returns the exit code of its class.
int Fail(const Status& st);
int Fail(const Status& st, int exit_code);

// Every shard of the stream, page after page.
Result<std::vector<api::Shard>> AllShards(KinesisClient& client, const std::string& stream);

// SIGINT and SIGTERM set a flag (Interrupted()). Installed without SA_RESTART, so a blocked
// read(2) returns EINTR and the command can stop reading.
void InstallInterruptHandler();
bool Interrupted();

}  // namespace cinesis::app
