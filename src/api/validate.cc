#include "api/validate.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "api/errors.h"
#include "common/base64.h"
#include "common/status.h"

namespace cinesis::api {
namespace {

namespace json = boost::json;

constexpr std::string_view kBigNumber =
    "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";

Status TypeError(std::string msg) { return {Code::kSerialization, std::move(msg)}; }

// The echo of an offending value in an error message is cut after this many bytes (then
// "..."), so that a huge request cannot make a huge answer: the texts of values within the
// service's limits stay whole (a Records list of 500 entries is ~30 KB, 50 tags ~20 KB), a
// 30 MiB one does not become a 650 MB message. docs/security.md.
constexpr std::size_t kMaxValueText = 32 * 1024;

// `s` cut to kMaxValueText bytes (never inside a UTF-8 sequence) plus "...".
std::string CutValueText(std::string s) {
  if (s.size() <= kMaxValueText) return s;
  std::size_t cut = kMaxValueText;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "...";
  return s;
}

std::string_view JavaTypeName(ShapeType t) {
  switch (t) {
    case ShapeType::kInteger:
      return "Integer";
    case ShapeType::kLong:
      return "Long";
    case ShapeType::kBoolean:
      return "Boolean";
    default:
      return "String";
  }
}

Status ContainerMismatch(const json::value& v) {
  if (v.is_array()) return TypeError("Start of list found where not expected");
  return TypeError("Start of structure or map found where not expected.");
}

Status CheckValue(const Shape& shape, json::value& v);

Status CheckStructure(const Shape& shape, json::object& obj) {
  // Unknown members and nulls are dropped: the service ignores them.
  for (auto it = obj.begin(); it != obj.end();) {
    if (it->value().is_null() || shape.FindMember(it->key()) == nullptr) {
      it = obj.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& m : shape.members) {
    if (auto* v = obj.if_contains(m.name)) RETURN_IF_ERROR(CheckValue(*m.shape, *v));
  }
  return Status::Ok();
}

Status CheckValue(const Shape& shape, json::value& v) {
  switch (shape.type) {
    case ShapeType::kString:
      if (v.is_string()) return Status::Ok();
      if (v.is_bool())
        return TypeError("class java.lang.Boolean can not be converted to an String");
      if (v.is_number())
        return TypeError(std::string(kBigNumber) + " can not be converted to an String");
      return ContainerMismatch(v);
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      if (v.is_bool() || v.is_string()) {
        return TypeError(
            std::string(v.is_bool() ? "class java.lang.Boolean" : "class java.lang.String") +
            " can not be converted to an " + std::string(JavaTypeName(shape.type)));
      }
      if (!v.is_number()) return ContainerMismatch(v);
      const std::int64_t lo = shape.type == ShapeType::kInteger
                                  ? std::numeric_limits<std::int32_t>::min()
                                  : std::numeric_limits<std::int64_t>::min();
      const std::int64_t hi = shape.type == ShapeType::kInteger
                                  ? std::numeric_limits<std::int32_t>::max()
                                  : std::numeric_limits<std::int64_t>::max();
      std::int64_t n = 0;
      if (v.is_int64()) {
        n = v.get_int64();
      } else if (v.is_uint64()) {
        n = hi;
      } else {
        double d = std::floor(v.get_double());
        if (d >= static_cast<double>(hi)) {
          n = hi;
        } else if (d <= static_cast<double>(lo)) {
          n = lo;
        } else {
          n = static_cast<std::int64_t>(d);
        }
      }
      v = std::clamp(n, lo, hi);
      return Status::Ok();
    }
    case ShapeType::kBoolean:
      if (v.is_bool()) return Status::Ok();
      if (v.is_number())
        return TypeError(std::string(kBigNumber) + " can not be converted to an Boolean");
      if (v.is_string()) {
        std::string s = CutValueText(std::string(v.get_string().subview(
            0, std::min<std::size_t>(v.get_string().size(), kMaxValueText + 4))));
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (s == "TRUE" || s == "FALSE") {
          v = (s == "TRUE");
          return Status::Ok();
        }
        return TypeError("'" + s + "' can not be converted to an Boolean");
      }
      return ContainerMismatch(v);
    case ShapeType::kBlob: {
      if (v.is_bool()) return TypeError("class java.lang.Boolean can not be converted to a Blob");
      if (v.is_number())
        return TypeError(std::string(kBigNumber) + " can not be converted to a Blob");
      if (!v.is_string()) return ContainerMismatch(v);
      // One buffer per thread for the decoded bytes (no allocation per record); a large
      // one is not kept.
      thread_local std::string decoded;
      std::string why;
      json::string& s = v.get_string();
      struct Shrink {
        ~Shrink() {
          if (decoded.capacity() > 64 * 1024) std::string().swap(decoded);
        }
      } shrink;
      if (!Base64Decode(s, decoded, why)) {
        return TypeError("'" +
                         CutValueText(std::string(
                             s.subview(0, std::min<std::size_t>(s.size(), kMaxValueText + 4)))) +
                         "' can not be converted to a Blob: " + why);
      }
      s.assign(decoded);
      return Status::Ok();
    }
    case ShapeType::kTimestamp: {
      if (v.is_string())
        return TypeError("class java.lang.String can not be converted to milliseconds since epoch");
      if (v.is_bool())
        return TypeError(
            "class java.lang.Boolean can not be converted to milliseconds since epoch");
      if (!v.is_number()) return ContainerMismatch(v);
      // Seconds (with a millisecond fraction) on the wire; integer milliseconds inside.
      double seconds = v.to_number<double>();
      double ms = std::floor(seconds * 1000.0 + 0.5);
      constexpr double kLimit = 9.2e18;
      v = static_cast<std::int64_t>(std::clamp(ms, -kLimit, kLimit));
      return Status::Ok();
    }
    case ShapeType::kList: {
      if (v.is_bool() || v.is_number() || v.is_string()) return TypeError("Expected list or null");
      if (!v.is_array()) return TypeError("Start of structure or map found where not expected.");
      for (auto& e : v.get_array()) {
        if (e.is_null()) continue;
        RETURN_IF_ERROR(CheckValue(*shape.member, e));
      }
      return Status::Ok();
    }
    case ShapeType::kMap: {
      if (v.is_bool() || v.is_number() || v.is_string()) return TypeError("Expected map or null");
      if (!v.is_object()) return TypeError("Start of list found where not expected");
      for (auto& kv : v.get_object()) {
        if (kv.value().is_null()) continue;
        RETURN_IF_ERROR(CheckValue(*shape.value, kv.value()));
      }
      return Status::Ok();
    }
    case ShapeType::kStructure:
      if (v.is_bool() || v.is_number() || v.is_string()) return TypeError("Expected null");
      if (!v.is_object()) return TypeError("Start of list found where not expected");
      return CheckStructure(shape, v.get_object());
  }
  return Status::Ok();
}

// ---- constraints ----------------------------------------------------------------------

// A member's path in validation messages ("records.3.member.data"), built only when an
// error is reported, so valid requests cost no string building.
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // member path name; empty for a list element
  std::size_t index = 0;  // 1-based list element index
  std::string str() const {
    std::string s = parent ? parent->str() : std::string();
    if (name.empty()) return s + "." + std::to_string(index) + ".member";
    if (!s.empty()) s += '.';
    s.append(name);
    return s;
  }
};

class Collector {
 public:
  bool full() const { return errors_.size() >= 10; }
  void Add(const std::string& value_text, bool is_null, const Path& path, const std::string& rule) {
    if (full()) return;
    std::string e = is_null ? "Value null" : "Value '" + value_text + "'";
    e += " at '" + path.str() + "' failed to satisfy constraint: " + rule;
    errors_.push_back(std::move(e));
  }
  Status ToStatus() const {
    if (errors_.empty()) return Status::Ok();
    return errors::ValidationErrors(errors_);
  }

 private:
  std::vector<std::string> errors_;
};

// Java's String.hashCode: s[0]*31^(n-1) + ... over the UTF-16 code units.
std::uint32_t JavaStringHash(std::string_view utf8) {
  std::uint32_t h = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len && i + static_cast<std::size_t>(k) < utf8.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + static_cast<std::size_t>(k)]) & 0x3F);
    i += static_cast<std::size_t>(len);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      h = 31 * h + (0xD800 + (cp >> 10));
      h = 31 * h + (0xDC00 + (cp & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return h;
}

std::uint32_t JavaLongHash(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  return static_cast<std::uint32_t>(u ^ (u >> 32));
}

// The hashCode() of the service's model object for `v` (after CheckTypes: blobs decoded,
// numbers clamped), as its generated classes compute it: a structure is
// Objects.hash(classNameHashCode, member values in model order) with classNameHashCode =
// Arrays.hashCode(new Object[]{"com.amazonaws.kinesis.v20131202.<Shape>"}) = 31 + the
// name's String.hashCode; a blob is a ByteBuffer (h = 1, then 31*h + each signed byte from
// the last to the first); strings, lists (List.hashCode), maps (the sum of key ^ value),
// Integer, Long, Boolean (1231/1237) and Date (the Long of the milliseconds) as in the JDK;
// null is 0. Derived from the example recorded against AWS: PutRecordsRequestEntry with
// PartitionKey "" and Data "" prints @c965e310 (issue 17; api_test checks it).
std::uint32_t JavaHash(const Shape& shape, const json::value& v) {
  if (v.is_null()) return 0;
  switch (shape.type) {
    case ShapeType::kString:
      return v.is_string() ? JavaStringHash(v.get_string()) : 0;
    case ShapeType::kBlob: {
      if (!v.is_string()) return 0;
      std::uint32_t h = 1;
      const auto& b = v.get_string();
      for (std::size_t i = b.size(); i-- > 0;)
        h = 31 * h +
            static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(b[i])));
      return h;
    }
    case ShapeType::kInteger:
      return v.is_number() ? static_cast<std::uint32_t>(v.to_number<std::int64_t>()) : 0;
    case ShapeType::kLong:
    case ShapeType::kTimestamp:
      return v.is_number() ? JavaLongHash(v.to_number<std::int64_t>()) : 0;
    case ShapeType::kBoolean:
      return v.is_bool() ? (v.get_bool() ? 1231U : 1237U) : 0;
    case ShapeType::kList: {
      if (!v.is_array()) return 0;
      std::uint32_t h = 1;
      for (const auto& e : v.get_array()) h = 31 * h + JavaHash(*shape.member, e);
      return h;
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return 0;
      std::uint32_t h = 0;
      for (const auto& kv : v.get_object())
        h += JavaStringHash(kv.key()) ^ JavaHash(*shape.value, kv.value());
      return h;
    }
    case ShapeType::kStructure: {
      const std::uint32_t class_hash =
          31 + JavaStringHash("com.amazonaws.kinesis.v20131202." + shape.name);
      std::uint32_t h = 31 + class_hash;
      const json::object* obj = v.if_object();
      for (const auto& m : shape.members) {
        const json::value* mv = obj ? obj->if_contains(m.name) : nullptr;
        h = 31 * h + (mv ? JavaHash(*m.shape, *mv) : 0);
      }
      return h;
    }
  }
  return 0;
}

// Java's default toString of the model object: class name @ hex hashCode().
std::string JavaObjectName(const Shape& s, const json::value& v) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint32_t h = JavaHash(s, v);
  std::string hex;
  for (int i = 7; i >= 0; --i) hex += kHex[(h >> (i * 4)) & 15];
  // Integer.toHexString: no leading zeros.
  hex.erase(0, std::min(hex.find_first_not_of('0'), hex.size() - 1));
  return "com.amazonaws.kinesis.v20131202." + s.name + "@" + hex;
}

// Appends the service's rendering of `v` to `out`, stopping once `out` is over the cap.
void AppendValueText(const Shape& shape, const json::value& v, std::string& out) {
  if (out.size() > kMaxValueText) return;
  switch (shape.type) {
    case ShapeType::kString: {
      auto str = v.get_string();
      out.append(str.data(), std::min<std::size_t>(str.size(), kMaxValueText + 1 - out.size()));
      return;
    }
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kTimestamp:
      out += std::to_string(v.to_number<std::int64_t>());
      return;
    case ShapeType::kBoolean:
      out += v.get_bool() ? "true" : "false";
      return;
    case ShapeType::kBlob: {
      auto n = std::to_string(v.get_string().size());
      out += "java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]";
      return;
    }
    case ShapeType::kList: {
      out += '[';
      std::size_t i = 0;
      for (const auto& e : v.get_array()) {
        if (out.size() > kMaxValueText) return;
        if (i) out += ", ";
        if (e.is_null())
          out += "null";
        else
          AppendValueText(*shape.member, e, out);
        ++i;
      }
      out += ']';
      return;
    }
    case ShapeType::kMap: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (out.size() > kMaxValueText) return;
        if (!first) out += ", ";
        first = false;
        out.append(kv.key().data(), kv.key().size());
        out += '=';
        if (kv.value().is_null())
          out += "null";
        else
          AppendValueText(*shape.value, kv.value(), out);
      }
      out += '}';
      return;
    }
    case ShapeType::kStructure:
      out += JavaObjectName(shape, v);
      return;
  }
}

std::string ValueText(const Shape& shape, const json::value& v) {
  std::string s;
  AppendValueText(shape, v, s);
  return CutValueText(std::move(s));
}

// The rules of a list element or map key/value, as AWS lists them inside "Member must
// satisfy constraint: [...]": lengths, or an enum's value set.
std::string LengthRules(const Shape& s) {
  std::string r;
  if (s.max) r += "Member must have length less than or equal to " + std::to_string(*s.max);
  if (s.min) {
    if (!r.empty()) r += ", ";
    r += "Member must have length greater than or equal to " + std::to_string(*s.min);
  }
  if (!s.enum_values.empty()) {
    std::string set;
    for (const auto& e : s.enum_values) set += (set.empty() ? "" : ", ") + e;
    if (!r.empty()) r += ", ";
    r += "Member must satisfy enum value set: [" + set + "]";
  }
  return r;
}

bool ScalarOk(const Shape& s, const json::value& v) {
  if (s.type == ShapeType::kString) {
    const auto& str = v.get_string();
    std::size_t len = JavaLength(str);
    if (s.min && static_cast<std::int64_t>(len) < *s.min) return false;
    if (s.max && static_cast<std::int64_t>(len) > *s.max) return false;
    // (Regression: a list of enum values, e.g. ShardLevelMetrics, took any string.)
    if (!s.enum_values.empty() &&
        std::find(s.enum_values.begin(), s.enum_values.end(), str) == s.enum_values.end()) {
      return false;
    }
  }
  return true;
}

void CheckMember(const Shape& shape, const json::value* v, bool required, const Path& path,
                 std::optional<std::int64_t> service_min, std::optional<std::int64_t> service_max,
                 Collector& out);

void CheckStructureConstraints(const Shape& shape, const json::object& obj, const Path* parent,
                               Collector& out) {
  for (const auto& m : shape.members) {
    if (out.full()) return;
    const Path path{parent, m.path_name};
    CheckMember(*m.shape, obj.if_contains(m.name), m.required, path, m.service_min, m.service_max,
                out);
  }
}

void CheckMember(const Shape& shape, const json::value* v, bool required, const Path& path,
                 std::optional<std::int64_t> service_min, std::optional<std::int64_t> service_max,
                 Collector& out) {
  if (v == nullptr || v->is_null()) {
    if (required) out.Add("", true, path, "Member must not be null");
    return;
  }
  auto text = [&] { return ValueText(shape, *v); };
  auto min = service_min ? service_min : shape.min;
  auto max = service_max ? service_max : shape.max;
  // `what` is "length" (strings, blobs, lists, maps) or "value" (numbers).
  auto range = [&](std::int64_t n, const char* what) {
    if (min && n < *min) {
      out.Add(text(), false, path,
              std::string("Member must have ") + what + " greater than or equal to " +
                  std::to_string(*min));
    }
    if (max && n > *max) {
      out.Add(text(), false, path,
              std::string("Member must have ") + what + " less than or equal to " +
                  std::to_string(*max));
    }
  };
  switch (shape.type) {
    case ShapeType::kString: {
      const auto& s = v->get_string();
      // Patterns are bounded by max length in the model; skip absurdly long input rather
      // than spend time on it (its length error is reported anyway).
      if (shape.pattern && s.size() <= 65536 && !shape.PatternMatches(s)) {
        out.Add(text(), false, path,
                "Member must satisfy regular expression pattern: " + *shape.pattern);
      }
      range(static_cast<std::int64_t>(JavaLength(s)), "length");
      if (!shape.enum_values.empty() &&
          std::find(shape.enum_values.begin(), shape.enum_values.end(), s) ==
              shape.enum_values.end()) {
        std::string set;
        for (const auto& e : shape.enum_values) set += (set.empty() ? "" : ", ") + e;
        out.Add(text(), false, path, "Member must satisfy enum value set: [" + set + "]");
      }
      return;
    }
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      range(v->to_number<std::int64_t>(), "value");
      return;
    }
    case ShapeType::kBlob: {
      range(static_cast<std::int64_t>(v->get_string().size()), "length");
      return;
    }
    case ShapeType::kList: {
      const auto& arr = v->get_array();
      auto len = static_cast<std::int64_t>(arr.size());
      range(len, "length");
      const Shape& el = *shape.member;
      if (el.type == ShapeType::kStructure) {
        std::size_t i = 0;
        for (const auto& e : arr) {
          ++i;
          if (out.full()) return;
          const Path element{&path, {}, i};
          if (e.is_object()) {
            CheckStructureConstraints(el, e.get_object(), &element, out);
          } else {
            // A null element: the service's deserializer keeps it and validation rejects it.
            out.Add("", true, element, "Member must not be null");
          }
        }
      } else {
        bool ok = true;
        for (const auto& e : arr) ok = ok && !e.is_null() && ScalarOk(el, e);
        if (!ok)
          out.Add(text(), false, path, "Member must satisfy constraint: [" + LengthRules(el) + "]");
      }
      return;
    }
    case ShapeType::kMap: {
      const auto& obj = v->get_object();
      auto len = static_cast<std::int64_t>(obj.size());
      range(len, "length");
      bool keys_ok = true, values_ok = true;
      for (const auto& kv : obj) {
        json::value key(kv.key());
        keys_ok = keys_ok && ScalarOk(*shape.key, key);
        values_ok = values_ok && !kv.value().is_null() && ScalarOk(*shape.value, kv.value());
      }
      if (!keys_ok)
        out.Add(text(), false, path,
                "Map keys must satisfy constraint: [" + LengthRules(*shape.key) + "]");
      if (!values_ok)
        out.Add(text(), false, path,
                "Map value must satisfy constraint: [" + LengthRules(*shape.value) + "]");
      return;
    }
    case ShapeType::kStructure:
      CheckStructureConstraints(shape, v->get_object(), &path, out);
      return;
    case ShapeType::kBoolean:
    case ShapeType::kTimestamp:
      return;
  }
}

}  // namespace

std::size_t JavaLength(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) n += (c >= 0xF0) ? 2 : 1;  // 4-byte sequences are surrogate pairs
  }
  return n;
}

Status CheckTypes(const Shape& input, boost::json::object& body) {
  return CheckStructure(input, body);
}

Status CheckConstraints(const Shape& input, const boost::json::object& body) {
  Collector out;
  CheckStructureConstraints(input, body, nullptr, out);
  return out.ToStatus();
}

}  // namespace cinesis::api
