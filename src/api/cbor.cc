#include "api/cbor.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <memory>

#include "common/base64.h"

namespace cinesis::api {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 64;

// A bounded decoder (libcbor's cbor_load allocates whatever count a header claims before
// reading the items: five bytes claiming 2^27 elements cost a gigabyte). Every length is
// checked against the bytes left before anything is allocated (an element takes at least
// one byte, a map entry two), and the decoded document is charged as it grows: at most
// kMemoryFactor times the body plus kMemorySlack (docs/security.md). The charge follows
// boost::json's representation (a value per item, a key/value pair per map entry, the text
// of strings, base64 for byte strings); cbor_test measures it against real allocations.
class Decoder {
 public:
  Decoder(std::string_view bytes, json::storage_ptr sp)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())),
        end_(p_ + bytes.size()),
        sp_(std::move(sp)),
        budget_(bytes.size() * kCborMemoryFactor + kCborMemorySlack) {}

  bool Document(json::value& out) { return Item(out, 0) && p_ == end_; }

  // A growing container (indefinite length) reallocates; from a monotonic resource the
  // blocks it leaves behind stay allocated: up to 4.5 times its size in all.
  // (boost::json grows by half: the blocks sum to 3x the capacity, which is up to 1.5x
  // the size just after growing.)
  static constexpr std::uint64_t kGrowth = 5;

 private:
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

  bool Charge(std::uint64_t n) {
    if (n > budget_) return false;
    budget_ -= n;
    return true;
  }

  // Reads an initial byte and its argument; additional info 31 (indefinite length) has none.
  bool Head(unsigned& major, unsigned& info, std::uint64_t& arg) {
    if (p_ == end_) return false;
    const unsigned char b = *p_++;
    major = b >> 5;
    info = b & 31;
    if (info < 24) {
      arg = info;
      return true;
    }
    if (info == 31) {
      arg = 0;
      return true;
    }
    if (info > 27) return false;
    const std::size_t n = std::size_t{1} << (info - 24);
    if (left() < n) return false;
    arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | *p_++;
    return true;
  }

  // A definite or indefinite byte/text string of major type `major`, appended to `out`.
  bool String(unsigned major, std::uint64_t len, bool indefinite, std::string& out) {
    if (!indefinite) {
      if (len > left()) return false;  // claims more than the body holds
      out.append(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(len));
      p_ += len;
      return true;
    }
    for (;;) {
      if (p_ == end_) return false;
      if (*p_ == 0xff) {
        ++p_;
        return true;
      }
      unsigned m = 0, info = 0;
      std::uint64_t n = 0;
      if (!Head(m, info, n) || m != major || info == 31) return false;
      if (!String(major, n, false, out)) return false;
    }
  }

  // Text strings must be well-formed UTF-8 (RFC 8949 3.1; RFC 3629: no overlong forms,
  // no surrogates, nothing above U+10FFFF), as libcbor checked.
  static bool ValidUtf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        continue;
      }
      std::size_t n = 0;
      std::uint32_t cp = 0, min = 0;
      if ((c & 0xE0) == 0xC0) {
        n = 1, cp = c & 0x1F, min = 0x80;
      } else if ((c & 0xF0) == 0xE0) {
        n = 2, cp = c & 0x0F, min = 0x800;
      } else if ((c & 0xF8) == 0xF0) {
        n = 3, cp = c & 0x07, min = 0x10000;
      } else {
        return false;
      }
      if (i + n >= s.size()) return false;  // truncated sequence
      for (std::size_t k = 1; k <= n; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (d & 0x3F);
      }
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += n + 1;
    }
    return true;
  }

  bool AtBreak() {
    if (p_ != end_ && *p_ == 0xff) {
      ++p_;
      return true;
    }
    return false;
  }

  bool Item(json::value& out, int depth) {
    if (depth > kMaxDepth) return false;
    unsigned major = 0, info = 0;
    std::uint64_t arg = 0;
    if (!Head(major, info, arg)) return false;
    const bool indefinite = info == 31;
    switch (major) {
      case 0:
        if (indefinite) return false;
        if (arg > static_cast<std::uint64_t>(INT64_MAX)) {
          out = static_cast<double>(arg);
        } else {
          out = static_cast<std::int64_t>(arg);
        }
        return true;
      case 1:  // -1 - arg
        if (indefinite) return false;
        if (arg >= static_cast<std::uint64_t>(INT64_MAX)) {
          out = -1.0 - static_cast<double>(arg);
        } else {
          out = -1 - static_cast<std::int64_t>(arg);
        }
        return true;
      case 2: {
        std::string bytes;
        if (!String(2, arg, indefinite, bytes)) return false;
        if (!Charge((bytes.size() + 2) / 3 * 4)) return false;
        out = json::string(Base64Encode(bytes), sp_);
        return true;
      }
      case 3: {
        if (!indefinite) {
          if (arg > left() || !Charge(arg)) return false;
          const std::string_view text(reinterpret_cast<const char*>(p_), arg);
          if (!ValidUtf8(text)) return false;
          out = json::string(text, sp_);
          p_ += arg;
          return true;
        }
        std::string text;
        if (!String(3, arg, true, text) || !ValidUtf8(text) || !Charge(text.size())) return false;
        out = json::string(text, sp_);
        return true;
      }
      case 4: {
        json::array arr(sp_);
        if (!indefinite) {
          if (arg > left()) return false;  // every element takes at least a byte
          if (!Charge(arg * sizeof(json::value))) return false;
          arr.reserve(static_cast<std::size_t>(arg));
          for (std::uint64_t i = 0; i < arg; ++i) {
            if (!Item(arr.emplace_back(nullptr), depth + 1)) return false;
          }
        } else {
          while (!AtBreak()) {
            if (!Charge(kGrowth * sizeof(json::value))) return false;
            if (!Item(arr.emplace_back(nullptr), depth + 1)) return false;
          }
        }
        out = std::move(arr);
        return true;
      }
      case 5: {
        json::object obj(sp_);
        // An entry takes at least two bytes, a key and a value. Its cost: the key/value pair
        // and the object's hash index, with growth when the length is not known up front.
        constexpr std::uint64_t kEntry = sizeof(json::key_value_pair) + 8;
        if (!indefinite) {
          if (arg > left() / 2 || !Charge(arg * kEntry)) return false;
          obj.reserve(static_cast<std::size_t>(arg));
        }
        for (std::uint64_t i = 0; indefinite ? !AtBreak() : i < arg; ++i) {
          unsigned m = 0, kinfo = 0;
          std::uint64_t klen = 0;
          std::string key;
          if (!Head(m, kinfo, klen) || m != 3 || !String(3, klen, kinfo == 31, key) ||
              !ValidUtf8(key)) {
            return false;
          }
          if (!Charge((indefinite ? kGrowth * kEntry : 0) + key.size())) return false;
          json::value v(sp_);
          if (!Item(v, depth + 1)) return false;
          obj[key] = std::move(v);
        }
        out = std::move(obj);
        return true;
      }
      case 6: {
        if (indefinite) return false;
        if (arg == 1) {
          // Epoch milliseconds (as the Java SDKs send them) -> epoch seconds.
          json::value ms(sp_);
          if (!Item(ms, depth + 1) || !ms.is_number()) return false;
          out = ms.to_number<double>() / 1000.0;
          return true;
        }
        return Item(out, depth + 1);
      }
      default:  // 7: simple values and floats
        return Simple(info, arg, out);
    }
  }

  static bool Simple(unsigned info, std::uint64_t arg, json::value& out) {
    double d = 0;
    switch (info) {
      case 20:
        out = false;
        return true;
      case 21:
        out = true;
        return true;
      case 25: {  // half precision
        const unsigned exp = (arg >> 10) & 0x1f;
        const unsigned mant = arg & 0x3ff;
        if (exp == 0) {
          d = std::ldexp(mant, -24);
        } else if (exp == 31) {
          return false;  // infinity or NaN
        } else {
          d = std::ldexp(mant + 1024, static_cast<int>(exp) - 25);
        }
        if (arg & 0x8000) d = -d;
        break;
      }
      case 26: {
        float f;
        const auto bits = static_cast<std::uint32_t>(arg);
        std::memcpy(&f, &bits, 4);
        d = f;
        break;
      }
      case 27:
        std::memcpy(&d, &arg, 8);
        break;
      case 31:
        return false;  // a break outside an indefinite item
      default:
        if (info == 24 && arg < 32) return false;  // RFC 8949 3.3: not well-formed
        out = nullptr;                             // null, undefined and other simple values
        return true;
    }
    if (!std::isfinite(d)) return false;
    out = d;
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
  json::storage_ptr sp_;
  std::uint64_t budget_;
};

void Encode(const json::value& v, const Shape* shape, std::string& out);

void Head(std::string& out, unsigned major, std::uint64_t n) {
  const auto m = static_cast<unsigned char>(major << 5);
  if (n < 24) {
    out += static_cast<char>(m | n);
  } else if (n <= 0xFF) {
    out += static_cast<char>(m | 24);
    out += static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(m | 25);
    for (int i = 1; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  } else if (n <= 0xFFFFFFFFULL) {
    out += static_cast<char>(m | 26);
    for (int i = 3; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  } else {
    out += static_cast<char>(m | 27);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  }
}

void Int(std::string& out, std::int64_t v) {
  if (v >= 0) {
    Head(out, 0, static_cast<std::uint64_t>(v));
  } else {
    Head(out, 1, static_cast<std::uint64_t>(-(v + 1)));
  }
}

void Text(std::string& out, std::string_view s) {
  Head(out, 3, s.size());
  out += s;
}

void Encode(const json::value& v, const Shape* shape, std::string& out) {
  const ShapeType type = shape ? shape->type : ShapeType::kString;
  if (v.is_null()) {
    out += '\xf6';
    return;
  }
  if (type == ShapeType::kBlob && v.is_string()) {
    std::string bytes, why;
    if (!Base64Decode(v.get_string(), bytes, why)) bytes = std::string(v.get_string());
    Head(out, 2, bytes.size());
    out += bytes;
    return;
  }
  if (type == ShapeType::kTimestamp && v.is_number()) {
    Head(out, 6, 1);
    Int(out, static_cast<std::int64_t>(std::llround(v.to_number<double>() * 1000.0)));
    return;
  }
  switch (v.kind()) {
    case json::kind::bool_:
      out += v.get_bool() ? '\xf5' : '\xf4';
      return;
    case json::kind::int64:
      Int(out, v.get_int64());
      return;
    case json::kind::uint64:
      Head(out, 0, v.get_uint64());
      return;
    case json::kind::double_: {
      double d = v.get_double();
      out += '\xfb';
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
      return;
    }
    case json::kind::string:
      Text(out, v.get_string());
      return;
    case json::kind::array: {
      const auto& a = v.get_array();
      Head(out, 4, a.size());
      const Shape* el = shape && shape->type == ShapeType::kList ? shape->member : nullptr;
      for (const auto& e : a) Encode(e, el, out);
      return;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      Head(out, 5, o.size());
      for (const auto& kv : o) {
        Text(out, kv.key());
        const Shape* member = nullptr;
        if (shape && shape->type == ShapeType::kStructure) {
          if (const Member* m = shape->FindMember(kv.key())) member = m->shape;
        } else if (shape && shape->type == ShapeType::kMap) {
          member = shape->value;
        }
        Encode(kv.value(), member, out);
      }
      return;
    }
    case json::kind::null:
      out += '\xf6';
      return;
  }
}

}  // namespace

Result<boost::json::value> CborToJson(std::string_view bytes, boost::json::storage_ptr sp) {
  json::value out(sp);
  Decoder decoder(bytes, sp);
  if (!decoder.Document(out)) return Status(Code::kSerialization, "");
  return out;
}

std::string JsonToCbor(const boost::json::value& v, const Shape* shape) {
  std::string out;
  Encode(v, shape, out);
  return out;
}

}  // namespace cinesis::api
