// cinesis-client: `cinesis streams | put | tail` (cinesis execs this binary for them).
#include <CLI/CLI.hpp>

#include "client_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"cinesis - streams, records and tails on any Kinesis endpoint"};
  app.name("cinesis");
  app.require_subcommand(1);
  cinesis::app::ClientCommands commands(app);
  CLI11_PARSE(app, argc, argv);
  return commands.Run();
}
