#include "api/cbor.h"

#include <cbor.h>

#include <boost/json.hpp>
#include <cmath>
#include <memory>

#include "common/base64.h"

namespace cinesis::api {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 64;

struct ItemDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using Item = std::unique_ptr<cbor_item_t, ItemDeleter>;

std::string Bytes(const cbor_item_t* item, bool text) {
  const bool indefinite =
      text ? cbor_string_is_indefinite(item) : cbor_bytestring_is_indefinite(item);
  if (!indefinite) {
    const auto* p = text ? cbor_string_handle(item) : cbor_bytestring_handle(item);
    const std::size_t n = text ? cbor_string_length(item) : cbor_bytestring_length(item);
    return {reinterpret_cast<const char*>(p), n};
  }
  std::string out;
  const std::size_t chunks =
      text ? cbor_string_chunk_count(item) : cbor_bytestring_chunk_count(item);
  cbor_item_t** handle =
      text ? cbor_string_chunks_handle(item) : cbor_bytestring_chunks_handle(item);
  for (std::size_t i = 0; i < chunks; ++i) out += Bytes(handle[i], text);
  return out;
}

bool Convert(const cbor_item_t* item, json::value& out, int depth) {
  if (depth > kMaxDepth) return false;
  switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT: {
      std::uint64_t v = cbor_get_int(item);
      if (v > static_cast<std::uint64_t>(INT64_MAX)) {
        out = static_cast<double>(v);
      } else {
        out = static_cast<std::int64_t>(v);
      }
      return true;
    }
    case CBOR_TYPE_NEGINT: {
      std::uint64_t v = cbor_get_int(item);  // value is -1 - v
      if (v >= static_cast<std::uint64_t>(INT64_MAX)) {
        out = -1.0 - static_cast<double>(v);
      } else {
        out = -1 - static_cast<std::int64_t>(v);
      }
      return true;
    }
    case CBOR_TYPE_BYTESTRING:
      out = Base64Encode(Bytes(item, false));
      return true;
    case CBOR_TYPE_STRING:
      out = Bytes(item, true);
      return true;
    case CBOR_TYPE_ARRAY: {
      json::array arr;
      cbor_item_t** h = cbor_array_handle(item);
      for (std::size_t i = 0; i < cbor_array_size(item); ++i) {
        json::value v;
        if (!Convert(h[i], v, depth + 1)) return false;
        arr.push_back(std::move(v));
      }
      out = std::move(arr);
      return true;
    }
    case CBOR_TYPE_MAP: {
      json::object obj;
      cbor_pair* pairs = cbor_map_handle(item);
      for (std::size_t i = 0; i < cbor_map_size(item); ++i) {
        if (!cbor_isa_string(pairs[i].key)) return false;
        json::value v;
        if (!Convert(pairs[i].value, v, depth + 1)) return false;
        obj[Bytes(pairs[i].key, true)] = std::move(v);
      }
      out = std::move(obj);
      return true;
    }
    case CBOR_TYPE_TAG: {
      cbor_item_t* inner = cbor_tag_item(item);
      Item hold(inner);  // cbor_tag_item increments the reference count
      if (cbor_tag_value(item) == 1) {
        // Epoch milliseconds (as the Java SDKs send them) -> epoch seconds.
        json::value ms;
        if (!Convert(inner, ms, depth + 1) || !ms.is_number()) return false;
        out = ms.to_number<double>() / 1000.0;
        return true;
      }
      return Convert(inner, out, depth + 1);
    }
    case CBOR_TYPE_FLOAT_CTRL:
      if (cbor_float_ctrl_is_ctrl(item)) {
        if (cbor_is_bool(item)) {
          out = cbor_get_bool(item);
        } else {
          out = nullptr;  // null, undefined and other simple values
        }
      } else {
        double d = cbor_float_get_float(item);
        if (!std::isfinite(d)) return false;
        out = d;
      }
      return true;
  }
  return false;
}

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

Result<boost::json::value> CborToJson(std::string_view bytes) {
  cbor_load_result result{};
  Item item(cbor_load(reinterpret_cast<cbor_data>(bytes.data()), bytes.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE || result.read != bytes.size()) {
    return Status(Code::kSerialization, "");
  }
  json::value out;
  if (!Convert(item.get(), out, 0)) return Status(Code::kSerialization, "");
  return out;
}

std::string JsonToCbor(const boost::json::value& v, const Shape* shape) {
  std::string out;
  Encode(v, shape, out);
  return out;
}

}  // namespace cinesis::api
