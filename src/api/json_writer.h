// A small append-only JSON writer for responses: writes straight into a string with
// no intermediate document, which keeps GetRecords/PutRecords encoding allocation-light.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cinesis::api {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() {
    Sep();
    out_ += '{';
    first_ = true;
  }
  void EndObject() {
    out_ += '}';
    first_ = false;
  }
  void BeginArray() {
    Sep();
    out_ += '[';
    first_ = true;
  }
  void EndArray() {
    out_ += ']';
    first_ = false;
  }
  // Writes `"name":`; the next value call writes the value. `name` is a member name of
  // the protocol, which never needs escaping.
  void Key(std::string_view name) {
    Sep();
    out_ += '"';
    out_.append(name);
    out_ += "\":";
    first_ = true;  // suppress the separator before the value
  }
  void String(std::string_view s) {
    Sep();
    Escaped(s);
  }
  // A string value that cannot need escaping: sequence numbers, shard ids, iterators,
  // enum names, ARNs built by the service.
  void Plain(std::string_view s) {
    Sep();
    out_ += '"';
    out_.append(s);
    out_ += '"';
  }
  void Reserve(std::size_t bytes) { out_.reserve(out_.size() + bytes); }
  void Base64(std::string_view bytes);
  void Int(std::int64_t v);
  void Bool(bool v) {
    Sep();
    out_ += v ? "true" : "false";
  }
  // Epoch seconds with the millisecond fraction, e.g. 1441215410.867.
  void Timestamp(EpochMillis ms) {
    Sep();
    RawTimestamp(ms);
  }

  // Without separators or state: text the caller lays out itself (the records of an answer,
  // written as runs of literal text between their values).
  void Raw(std::string_view text) { out_.append(text); }
  void RawTimestamp(EpochMillis ms);
  void RawBase64(std::string_view bytes);  // without quotes
  void RawString(std::string_view s) { Escaped(s); }

  // For text written through a pointer (the records of a GetRecords answer): Extend makes
  // room for `max` more bytes and returns where they start; the caller writes at most
  // that many, then Trim(end) cuts the text back to where it stopped.
  char* Extend(std::size_t max) {
    const std::size_t at = out_.size();
    out_.resize(at + max);
    return out_.data() + at;
  }
  void Trim(const char* end) { out_.resize(static_cast<std::size_t>(end - out_.data())); }
  // What String(s) appends (quoted, escaped), written at `o`, which has room for
  // EscapedBound(s.size()) bytes; returns its end.
  static constexpr std::size_t EscapedBound(std::size_t n) { return 6 * n + 2; }
  static char* EscapedTo(std::string_view s, char* o);
  // What RawTimestamp(ms) appends, written at `o` (room for kTimestampBound bytes).
  static constexpr std::size_t kTimestampBound = 32;
  static char* TimestampTo(EpochMillis ms, char* o);

 private:
  void Escaped(std::string_view s);
  void Sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace cinesis::api
