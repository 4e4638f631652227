// cinesis-bench: the load generator behind `cinesis bench` (see bench.h, docs/benchmarks.md).
#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>

#include "bench.h"
#include "bench_options.h"

int main(int argc, char** argv) {
  // `cinesis docs bench`: docs/bench-options.md from the option table. Checked before parsing
  // and alone, so --help stays as it is (CLI11 2.1 prints a blank line for a hidden option).
  if (argc == 2 && std::strcmp(argv[1], "--options-markdown") == 0) {
    std::cout << cinesis::app::BenchOptionsMarkdown();
    return 0;
  }
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
