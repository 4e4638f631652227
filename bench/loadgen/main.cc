// cinesis-bench: the load generator behind `cinesis bench` (see bench.h, docs/benchmarks.md).
#include <CLI/CLI.hpp>

#include "bench.h"

int main(int argc, char** argv) {
  CLI::App app{
      "cinesis-bench - load-test a Kinesis endpoint (cinesis, kinesalite, kinesis-local, ...)"};
  cinesis::app::BenchCommand bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return bench.Run();
}
