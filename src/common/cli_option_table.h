// The command-line side of the option tables (option_table.h is the library side): a program's
// options as one table whose rows declare name, type, allowed values and help once, bound to
// the field that holds the default. The rows register the CLI11 options (parsing, validation,
// `--help`) and print the generated Markdown reference. Used by `cinesis serve`
// (apps/cinesis/options.cc) and `cinesis bench` (bench/loadgen/bench_options.cc).
//
// Header-only and included by programs only: no library compiles it, so no library needs CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace cinesis::cli {

struct OptionRow {
  std::string name;   // "--port", or a positional's name
  std::string type;   // "integer", "string", "flag"
  std::string range;  // human-readable allowed values, empty if any
  std::string help;
  // The documented default of an option whose --help shows none (a sentinel the program
  // replaces); empty: the default --help shows. Written into the Markdown as is.
  std::string default_text;
  // Registers the option on `app`, bound to its field; returns it for the default text.
  std::function<CLI::Option*(CLI::App&)> bind;
};

class OptionTable {
 public:
  // An option whose --help shows the field's value as its default.
  template <typename T>
  void Add(std::string name, T& field, std::string type, std::string range, std::string help,
           std::optional<CLI::Validator> check = std::nullopt) {
    auto bind = [name, &field, help, check](CLI::App& app) {
      auto* o = app.add_option(name, field, help)->capture_default_str();
      if (check) o->check(*check);
      return o;
    };
    rows.push_back(
        {std::move(name), std::move(type), std::move(range), std::move(help), "", std::move(bind)});
  }
  // An option whose --help shows no default (the field holds a sentinel): the Markdown gives
  // `default_text`.
  template <typename T>
  void AddUnshown(std::string name, T& field, std::string type, std::string range,
                  std::string default_text, std::string help,
                  std::optional<CLI::Validator> check = std::nullopt) {
    auto bind = [name, &field, help, check](CLI::App& app) {
      auto* o = app.add_option(name, field, help);
      if (check) o->check(*check);
      return o;
    };
    rows.push_back({std::move(name), std::move(type), std::move(range), std::move(help),
                    std::move(default_text), std::move(bind)});
  }
  void Flag(std::string name, bool& field, std::string help) {
    auto bind = [name, &field, help](CLI::App& app) { return app.add_flag(name, field, help); };
    rows.push_back({std::move(name), "flag", "", std::move(help), "", std::move(bind)});
  }

  std::vector<OptionRow> rows;
};

// Registers every row on `app`.
inline void Bind(const std::vector<OptionRow>& rows, CLI::App& app) {
  for (const auto& row : rows) row.bind(app);
}

// The rows as a Markdown table (header and one line per row); defaults are the bound fields'
// values (flags: off).
inline std::string Markdown(const std::vector<OptionRow>& rows) {
  CLI::App scratch;
  std::ostringstream out;
  out << "| option | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    std::string def;
    if (!r.default_text.empty()) {
      def = r.default_text;
    } else {
      CLI::Option* o = r.bind(scratch);
      def = r.type == "flag" ? "off" : o->get_default_str();
      if (def.empty()) def = "\"\"";
      def = "`" + def + "`";
    }
    out << "| `" << r.name << "` | " << r.type << " | " << def << " | " << r.range << " | "
        << r.help << " |\n";
  }
  return out.str();
}

}  // namespace cinesis::cli
