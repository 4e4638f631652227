// `cinesis bench`'s option table (bench/loadgen/bench_options.cc): one row per option, each
// with help, each documented default accepted by its own option, the validation coming from
// the rows, and docs/bench-options.md generated from the table (also checked by the test
// docs.bench_options_is_current through `cinesis docs bench`).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "bench_options.h"
#include "common/cli_option_table.h"

namespace cinesis::app {
namespace {

TEST(BenchOptionTable, EveryRowHasANameTypeAndHelp) {
  BenchOptions o;
  const auto rows = BenchOptionTable(o);
  EXPECT_EQ(rows.size(), 22u);  // 21 options and the startup scenario's command
  std::set<std::string> names;
  for (const auto& row : rows) {
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row " << row.name;
    EXPECT_FALSE(row.help.empty()) << row.name;
    EXPECT_FALSE(row.type.empty()) << row.name;
  }
}

// Each option, given the default its --help shows (or the field's sentinel), parses and leaves
// every field as it was: the documented defaults are values the options accept.
TEST(BenchOptionTable, EveryOptionParsesItsDefault) {
  BenchOptions fresh;
  const std::string before = cli::Markdown(BenchOptionTable(fresh));
  for (const auto& row : BenchOptionTable(fresh)) {
    if (row.type == "flag" || row.name.rfind("--", 0) != 0) continue;
    BenchOptions o;
    CLI::App app;
    cli::Bind(BenchOptionTable(o), app);
    CLI::Option* opt = app.get_option(row.name);
    opt->capture_default_str();
    const std::string def = opt->get_default_str();
    if (def.empty()) continue;  // an empty string: nothing to give
    std::vector<std::string> args = {row.name + "=" + def};
    EXPECT_NO_THROW(app.parse(args)) << row.name << " " << def;
    EXPECT_EQ(cli::Markdown(BenchOptionTable(o)), before) << row.name << " " << def;
  }
}

TEST(BenchOptionTable, ValidationComesFromTheRows) {
  auto error = [](std::vector<std::string> args) -> std::string {
    BenchOptions o;
    CLI::App app;
    cli::Bind(BenchOptionTable(o), app);
    std::reverse(args.begin(), args.end());  // App::parse(vector) takes them last first
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error({"--connections", "0"}), "--connections: Value 0 not in range 1 to 10000");
  EXPECT_EQ(error({"--io-threads", "65"}), "--io-threads: Value 65 not in range 1 to 64");
  EXPECT_EQ(error({"--scenario", "foo"}),
            "--scenario: foo not in {put-records,put-record,get-records,mixed,startup}");
  EXPECT_EQ(error({"--record-bytes", "1048577"}),
            "--record-bytes: Value 1048577 not in range 1 to 1048576");
  EXPECT_EQ(error({"--batch", "501"}), "--batch: Value 501 not in range 1 to 500");
  EXPECT_EQ(error({"--body-pool", "100001"}), "--body-pool: Value 100001 not in range 0 to 100000");
  EXPECT_EQ(error({"--get-limit", "0"}), "--get-limit: Value 0 not in range 1 to 10000");
  EXPECT_EQ(error({"--runs", "1001"}), "--runs: Value 1001 not in range 1 to 1000");
  EXPECT_EQ(error({"--connections", "10000", "--batch", "1", "--scenario", "startup"}), "");
}

TEST(BenchOptionTable, HelpListsEveryRow) {
  BenchOptions o;
  CLI::App app;
  const auto rows = BenchOptionTable(o);
  cli::Bind(rows, app);
  const std::string help = app.help();
  for (const auto& row : rows) EXPECT_NE(help.find(row.name), std::string::npos) << row.name;
  EXPECT_NE(help.find("--connections INT:INT in [1 - 10000]=8"), std::string::npos) << help;
}

TEST(BenchOptionTable, MarkdownHasOneLinePerRow) {
  BenchOptions o;
  const auto rows = BenchOptionTable(o);
  const std::string md = cli::Markdown(rows);
  std::size_t lines = 0;
  for (char ch : md) lines += ch == '\n';
  EXPECT_EQ(lines, 2 + rows.size());
  EXPECT_NE(md.find("| `--connections` | integer | `8` | 1..10000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `--json` | flag | `off` |  |"), std::string::npos) << md;
}

TEST(BenchOptionTable, CommittedDocIsCurrent) {
  std::ifstream in(CINESIS_SOURCE_DIR "/docs/bench-options.md", std::ios::binary);
  ASSERT_TRUE(in) << "docs/bench-options.md missing";
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), BenchOptionsMarkdown())
      << "docs/bench-options.md is stale: run `cinesis docs bench > docs/bench-options.md`";
}

}  // namespace
}  // namespace cinesis::app
