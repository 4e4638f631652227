// One option table per component (serve, producer, consumer, client, retry): each row names an
// option of an options struct with its type, declared default, allowed range and help. The same
// rows validate a struct (Validate), print docs/configuration.md (Markdown), and a unit test
// (option_table_test) compares every declared default with what the struct's default member
// initialiser renders, so a default changed in only one place fails a test.
//
// The programs' command-line tables (`cinesis serve`, `cinesis bench`) are built with
// cli_option_table.h instead.
//
// Threading: tables are immutable after construction (built once, function-local statics).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "cinesis/status.h"

namespace cinesis::options {

template <class T>
struct Row {
  std::string name;   // the struct member's name
  std::string type;   // ms, integer, bytes, number, bool, enum, string, ...
  std::string def;    // the default as documented; must equal render(T{})
  std::string range;  // allowed values as documented ("1..500", ">= 1", "")
  std::string help;
  std::function<std::string(const T&)> render;  // the member's value written as `def` is
  std::function<std::string(const T&)> check;   // "" when allowed, else why not; may be empty
};

template <class T>
using Table = std::vector<Row<T>>;

inline constexpr long long kNoMax = std::numeric_limits<long long>::max();

inline std::string RangeText(long long lo, long long hi) {
  if (hi == kNoMax) return ">= " + std::to_string(lo);
  return std::to_string(lo) + ".." + std::to_string(hi);
}

inline std::string NumberText(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream out;
  out << v;
  return out.str();
}

template <class F>
long long WholeValue(const F& v) {
  if constexpr (std::is_arithmetic_v<F>) {
    return static_cast<long long>(v);
  } else {
    return static_cast<long long>(v.count());  // std::chrono::duration
  }
}

// A whole-number member (int, size_t, std::chrono::milliseconds) within [lo, hi].
template <class T, class F>
Row<T> Whole(std::string name, std::string type, F T::*field, long long lo, long long hi,
             std::string def, std::string help) {
  const std::string unit = type == "ms" ? " ms" : "";
  return Row<T>{std::move(name),
                std::move(type),
                std::move(def),
                RangeText(lo, hi),
                std::move(help),
                [field](const T& o) { return std::to_string(WholeValue(o.*field)); },
                [field, lo, hi, unit](const T& o) -> std::string {
                  const long long v = WholeValue(o.*field);
                  if (v < lo || v > hi) return "must be " + RangeText(lo, hi) + unit;
                  return "";
                }};
}

// A floating-point member that must be > 0 (infinity allowed: no limit).
template <class T>
Row<T> Positive(std::string name, double T::*field, std::string def, std::string help) {
  return Row<T>{std::move(name),
                "number",
                std::move(def),
                "> 0",
                std::move(help),
                [field](const T& o) { return NumberText(o.*field); },
                [field](const T& o) -> std::string {
                  return (o.*field > 0) ? "" : "must be > 0";  // also rejects NaN
                }};
}

template <class T>
Row<T> Flag(std::string name, bool T::*field, std::string def, std::string help) {
  return Row<T>{std::move(name),
                "bool",
                std::move(def),
                "",
                std::move(help),
                [field](const T& o) { return std::string(o.*field ? "true" : "false"); },
                {}};
}

// Anything else (enums, strings, pointers, callbacks, cross-member rules).
template <class T>
Row<T> Custom(std::string name, std::string type, std::string def, std::string range,
              std::string help, std::function<std::string(const T&)> render,
              std::function<std::string(const T&)> check = {}) {
  return Row<T>{std::move(name), std::move(type),   std::move(def),  std::move(range),
                std::move(help), std::move(render), std::move(check)};
}

// InvalidArgument naming the first row that rejects `value`: "<what>.<name>: <why>".
template <class T>
[[nodiscard]] Status Validate(const Table<T>& table, const T& value, const char* what) {
  for (const Row<T>& row : table) {
    if (!row.check) continue;
    std::string why = row.check(value);
    if (!why.empty()) {
      return Status(Code::kInvalidArgument, std::string(what) + "." + row.name + ": " + why);
    }
  }
  return Status::Ok();
}

// The table as Markdown (header and one line per row).
template <class T>
std::string Markdown(const Table<T>& table) {
  std::ostringstream out;
  out << "| option | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const Row<T>& row : table) {
    out << "| `" << row.name << "` | " << row.type << " | `" << row.def << "` | " << row.range
        << " | " << row.help << " |\n";
  }
  return out.str();
}

// The rows whose declared default differs from the struct's: "name: declared X, struct Y".
template <class T>
std::vector<std::string> DefaultMismatches(const Table<T>& table, const T& defaults = T{}) {
  std::vector<std::string> out;
  for (const Row<T>& row : table) {
    const std::string actual = row.render(defaults);
    if (actual != row.def) out.push_back(row.name + ": declared " + row.def + ", struct " + actual);
  }
  return out;
}

}  // namespace cinesis::options
