#include "cinesis/aggregation.h"

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>

namespace cinesis::aggregation {
namespace {

constexpr unsigned char kMagic[4] = {0xF3, 0x89, 0x9A, 0xC2};

void Varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
std::size_t VarintSize(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
void Field(std::string& out, unsigned char key, std::string_view bytes) {
  out += static_cast<char>(key);
  Varint(out, bytes.size());
  out.append(bytes);
}
std::string Md5(std::string_view bytes) {
  unsigned char d[16];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), d, &n, EVP_md5(), nullptr);
  return {reinterpret_cast<const char*>(d), 16};
}

// Minimal protobuf reader for the three messages of the schema.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  bool Varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      auto b = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool Bytes(std::string_view& out) {
    std::uint64_t n = 0;
    if (!Varint(n) || n > in_.size()) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  // Skips a field of the given wire type.
  bool Skip(unsigned wire) {
    std::uint64_t v;
    std::string_view b;
    switch (wire) {
      case 0:
        return Varint(v);
      case 1:
        return Advance(8);
      case 2:
        return Bytes(b);
      case 5:
        return Advance(4);
      default:
        return false;
    }
  }

 private:
  bool Advance(std::size_t n) {
    if (in_.size() < n) return false;
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

}  // namespace

std::size_t EncodedRecordOverhead(std::size_t key_bytes, std::size_t explicit_key_bytes,
                                  std::size_t data_bytes) {
  // Table entries plus the Record message and its framing.
  std::size_t record = 1 + VarintSize(1u << 30) + 1 + VarintSize(data_bytes) + data_bytes;
  if (explicit_key_bytes) record += 1 + VarintSize(1u << 30);
  std::size_t total = 1 + VarintSize(record) + record;
  total += 1 + VarintSize(key_bytes) + key_bytes;
  if (explicit_key_bytes) total += 1 + VarintSize(explicit_key_bytes) + explicit_key_bytes;
  return total;
}

std::string Encode(const std::vector<UserRecord>& records) {
  std::string body;
  // One table entry per record (sharing entries is optional in the format).
  for (const auto& r : records) Field(body, 0x0A, r.partition_key);
  std::uint64_t ehk_index = 0;
  for (const auto& r : records) {
    if (r.explicit_hash_key) Field(body, 0x12, *r.explicit_hash_key);
  }
  std::uint64_t index = 0;
  for (const auto& r : records) {
    std::string rec;
    rec += '\x08';
    Varint(rec, index++);
    if (r.explicit_hash_key) {
      rec += '\x10';
      Varint(rec, ehk_index++);
    }
    Field(rec, 0x1A, r.data);
    Field(body, 0x1A, rec);
  }
  std::string out(reinterpret_cast<const char*>(kMagic), 4);
  out += body;
  out += Md5(body);
  return out;
}

std::optional<std::vector<UserRecord>> Decode(std::string_view data) {
  if (data.size() < 4 + 16 + 1 || std::memcmp(data.data(), kMagic, 4) != 0) return std::nullopt;
  std::string_view body = data.substr(4, data.size() - 20);
  if (Md5(body) != data.substr(data.size() - 16)) return std::nullopt;
  std::vector<std::string_view> keys, ehks;
  struct Raw {
    std::uint64_t key = 0;
    std::optional<std::uint64_t> ehk;
    std::string_view data;
    bool has_key = false, has_data = false;
  };
  std::vector<Raw> raws;
  Reader r(body);
  while (!r.done()) {
    std::uint64_t tag = 0;
    if (!r.Varint(tag)) return std::nullopt;
    const auto field = tag >> 3;
    const auto wire = static_cast<unsigned>(tag & 7);
    std::string_view bytes;
    if ((field == 1 || field == 2 || field == 3) && wire == 2) {
      if (!r.Bytes(bytes)) return std::nullopt;
      if (field == 1) {
        keys.push_back(bytes);
      } else if (field == 2) {
        ehks.push_back(bytes);
      } else {
        Raw raw;
        Reader rr(bytes);
        while (!rr.done()) {
          std::uint64_t t = 0;
          if (!rr.Varint(t)) return std::nullopt;
          const auto f = t >> 3;
          const auto w = static_cast<unsigned>(t & 7);
          if (f == 1 && w == 0) {
            if (!rr.Varint(raw.key)) return std::nullopt;
            raw.has_key = true;
          } else if (f == 2 && w == 0) {
            std::uint64_t e = 0;
            if (!rr.Varint(e)) return std::nullopt;
            raw.ehk = e;
          } else if (f == 3 && w == 2) {
            if (!rr.Bytes(raw.data)) return std::nullopt;
            raw.has_data = true;
          } else if (!rr.Skip(w)) {
            return std::nullopt;
          }
        }
        if (!raw.has_key || !raw.has_data) return std::nullopt;  // required fields
        raws.push_back(raw);
      }
    } else if (!r.Skip(wire)) {
      return std::nullopt;
    }
  }
  std::vector<UserRecord> out;
  out.reserve(raws.size());
  for (const auto& raw : raws) {
    if (raw.key >= keys.size() || (raw.ehk && *raw.ehk >= ehks.size())) return std::nullopt;
    UserRecord u{std::string(keys[raw.key]), std::nullopt, std::string(raw.data)};
    if (raw.ehk) u.explicit_hash_key = std::string(ehks[*raw.ehk]);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace cinesis::aggregation
