// Segment recovery over arbitrary bytes: the input, cut at each "CUT!", becomes the files of
// one log directory (in order: segment 0, its index, segment 100, its checkpoint, the
// DESCRIPTOR; a section present but empty is an empty file, a missing one no file), under a
// fresh data directory on /dev/shm (else $TMPDIR). The durable storage opens it (recovery),
// then every log must read back in offset order and take one more record that reads back,
// and a second open must read the same records (plus that one when the first read was whole). The
// frame and index decoders also run on each section.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "check.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace {

namespace fs = std::filesystem;
namespace st = cinesis::storage;

const std::string& Root() {
  static const std::string root = [] {
    const std::string base = fs::is_directory("/dev/shm") ? "/dev/shm"
                             : std::getenv("TMPDIR")      ? std::getenv("TMPDIR")
                                                          : "/tmp";
    return base + "/cinesis-fuzz-recovery-" + std::to_string(::getpid());
  }();
  return root;
}

struct Seen {
  std::uint64_t offset;
  std::string key, explicit_key, data;
  bool operator==(const Seen&) const = default;
};

// Every record of every log, checking that offsets increase within [StartOffset,
// EndOffset). Not dense: recovery may leave a gap (offsets set aside with damaged bytes are
// never reused; docs/storage-format.md), which reads skip.
std::vector<Seen> ReadAll(st::Storage& storage, bool& complete) {
  std::vector<Seen> all;
  for (const auto id : storage.ListLogs()) {
    auto log = storage.FindLog(id);
    FUZZ_CHECK(log != nullptr);
    const std::uint64_t start = log->StartOffset().value;
    const std::uint64_t end = log->EndOffset().value;
    FUZZ_CHECK(start <= end);
    std::uint64_t next = start;
    auto r = log->Read(log->StartOffset(), SIZE_MAX, [&](const st::RecordView& v) {
      FUZZ_CHECK(v.offset.value >= next && v.offset.value < end);
      next = v.offset.value + 1;
      all.push_back(
          {v.offset.value, std::string(v.key), std::string(v.explicit_key), std::string(v.data)});
      return true;
    });
    if (r.ok()) {
      FUZZ_CHECK(r.value().next.value <= end);
    } else {
      complete = false;
    }
  }
  return all;
}

cinesis::Result<std::unique_ptr<st::Storage>> Open() {
  st::DiskOptions o;
  o.dir = Root();
  o.fsync = false;
  o.flush_threads = 1;
  o.max_open_files = 16;
  o.events = [](st::Severity, const std::string&) {};
  std::vector<std::string> report;
  return st::OpenDiskStorage(o, &report);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> sections;
  for (std::size_t pos = 0;;) {
    const auto cut = in.find("CUT!", pos);
    sections.push_back(
        in.substr(pos, cut == std::string_view::npos ? std::string_view::npos : cut - pos));
    if (cut == std::string_view::npos) break;
    pos = cut + 4;
  }
  static const char* const kNames[] = {"00000000000000000000.log", "00000000000000000000.idx",
                                       "00000000000000000100.log", "00000000000000000100.cpt",
                                       "DESCRIPTOR"};
  for (auto s : sections) {
    st::format::DecodedFrame frame;
    (void)st::format::DecodeFrame(s, frame);
    (void)st::format::DecodeIndex(s);
    (void)st::format::ParseSegmentHeader(s);
    (void)st::format::FindIntactFrames(s, 0);
  }

  std::error_code ec;
  fs::remove_all(Root(), ec);
  const std::string log_dir = Root() + "/logs/" + st::format::LogDirName(st::LogId{0x100000000});
  fs::create_directories(log_dir);
  for (std::size_t i = 0; i < sections.size() && i < std::size(kNames); ++i) {
    std::ofstream(log_dir + "/" + kNames[i], std::ios::binary)
        .write(sections[i].data(), static_cast<std::streamsize>(sections[i].size()));
  }

  std::vector<Seen> before;
  bool complete = true;  // every log read to its end without an error
  {
    auto storage = Open();
    if (!storage.ok()) {
      fs::remove_all(Root(), ec);
      return 0;
    }
    before = ReadAll(*storage.value(), complete);
    for (const auto id : storage.value()->ListLogs()) {
      auto log = storage.value()->FindLog(id);
      const st::AppendRecord rec{"key", "", "after recovery"};
      auto appended = log->Append({&rec, 1}, 1700000000000);
      if (!appended.ok()) continue;
      if (!log->WaitDurable(appended.value()).ok()) continue;
      // The new record reads back where it was put. (A whole read from the start may stop
      // before it: a sealed segment trusted through its index can still hold a record that
      // fails its checksum, and reads stop there by design.)
      const Seen want{appended.value().first.value, "key", "", "after recovery"};
      std::vector<Seen> got;
      auto r = log->Read(appended.value().first, 1, [&](const st::RecordView& v) {
        got.push_back(
            {v.offset.value, std::string(v.key), std::string(v.explicit_key), std::string(v.data)});
        return true;
      });
      FUZZ_CHECK(r.ok() && got.size() == 1 && got[0] == want);
      if (complete) before.push_back(want);
    }
  }
  {
    auto storage = Open();
    FUZZ_CHECK(storage.ok());  // what one open recovered, the next one opens
    bool complete_again = true;
    const auto after = ReadAll(*storage.value(), complete_again);
    FUZZ_CHECK(complete_again == complete);
    FUZZ_CHECK(after == before);
  }
  fs::remove_all(Root(), ec);
  return 0;
}
