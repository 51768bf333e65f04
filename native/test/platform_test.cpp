// The platform layer (core/): CPU feature probe, file mapping (regular files only, truncation
// under the mapping survived and reported), thread pinning. Prints the features found
// ("cpu features: ...", which the arm64 emulation test checks per emulated CPU), one line per
// failure, and "N passed, N failed"; exits non-zero on any failure.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/cpu_features.h"
#include "core/mapped_file.h"
#include "core/mapping_guard.h"
#include "core/thread_affinity.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

using namespace wenxin;

namespace {

int passed = 0, failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAIL %s\n", what.c_str());
  }
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::string scratch_dir() {
#if defined(_WIN32)
  const char* tmp = std::getenv("TEMP");
  return std::string(tmp ? tmp : ".") + "\\wenxin_platform_test_" + std::to_string(GetCurrentProcessId());
#else
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/wenxin_platform_test_" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  return dir;
#endif
}

void write_file(const std::string& path, size_t bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::vector<uint8_t> data(bytes);
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  std::fwrite(data.data(), 1, bytes, f);
  std::fclose(f);
}

void test_cpu_features() {
  const CpuFeatures& f = cpu_features();
  std::printf("cpu features: %s\n", describe(f).c_str());
#if defined(__aarch64__) || defined(_M_ARM64)
  check(f.neon, "AArch64 always has Advanced SIMD");
  check(!f.i8mm || f.dotprod, "every CPU with i8mm also has dotprod");
#endif
#if (defined(__x86_64__) && defined(__GNUC__))
  // GCC's own probe (which also checks the OS's XCR0) must agree with ours.
  __builtin_cpu_init();
  check(f.avx2 == static_cast<bool>(__builtin_cpu_supports("avx2")), "avx2 agrees with __builtin_cpu_supports");
  check(f.fma == static_cast<bool>(__builtin_cpu_supports("fma")), "fma agrees with __builtin_cpu_supports");
  check(f.avx512f == static_cast<bool>(__builtin_cpu_supports("avx512f")),
        "avx512f agrees with __builtin_cpu_supports");
  check(f.avx512bw == static_cast<bool>(__builtin_cpu_supports("avx512bw")), "avx512bw agrees");
  check(f.avx512vl == static_cast<bool>(__builtin_cpu_supports("avx512vl")), "avx512vl agrees");
  check(f.avx512vnni == static_cast<bool>(__builtin_cpu_supports("avx512vnni")), "avx512vnni agrees");
  check(!f.neon && !f.dotprod, "no ARM features on x86");
#endif
}

void test_mapping(const std::string& dir) {
  const std::string path = dir + "/mapped.bin";
  const size_t page = page_size();
  write_file(path, 16 * page + 100);
  {
    MappedFile m;
    const Status st = m.open(path);
    check(st.is_ok(), "maps a regular file: " + st.message());
    check(m.size() == 16 * page + 100 && m.data()[5] == static_cast<uint8_t>(5 * 7 + 1), "mapped bytes are the file's");
    check(m.check_intact().is_ok(), "an untouched file is intact");
  }
  {
    MappedFile m;
    const Status st = m.open(dir + "/missing.bin");
    check(st.code() == ErrorCode::kFileNotFound, "a missing file is ERR_WENXIN_FILE_NOT_FOUND");
  }
  {
    write_file(dir + "/empty.bin", 0);
    MappedFile m;
    const Status st = m.open(dir + "/empty.bin");
    check(st.code() == ErrorCode::kInvalidFile && contains(st.message(), "empty"), "an empty file is refused");
  }
  {
    MappedFile m;
    const Status st = m.open(dir);
    check(st.code() == ErrorCode::kInvalidFile, "a directory is refused: " + st.message());
  }
#if !defined(_WIN32)
  {
    // No writer ever opens this FIFO: open() must refuse it at once instead of waiting for one.
    const std::string fifo = dir + "/pipe";
    check(mkfifo(fifo.c_str(), 0600) == 0, "mkfifo");
    MappedFile m;
    const Status st = m.open(fifo);
    check(
        st.code() == ErrorCode::kInvalidFile && contains(st.message(), "FIFO") && contains(st.message(), fifo.c_str()),
        "a FIFO is refused with a message naming it: " + st.message());
    unlink(fifo.c_str());
  }
  {
    // Truncated under the mapping: a read past the new end returns zeros instead of SIGBUS, and
    // the mapping reports it.
    MappedFile m;
    check(m.open(path).is_ok(), "maps the file again");
    const uint64_t faults = mapping_guard::fault_count();
    check(truncate(path.c_str(), static_cast<off_t>(page)) == 0, "truncate");
    const Status changed = m.check_intact();
    check(changed.code() == ErrorCode::kInvalidFile && contains(changed.message(), "changed size"),
          "a size change is seen before any read: " + changed.message());
    volatile const uint8_t* p = m.data();
    check(p[10] == static_cast<uint8_t>(10 * 7 + 1), "bytes before the new end still read");
    const uint8_t past = p[8 * page + 3];  // SIGBUS without the guard
    check(past == 0, "a read past the new end returns zero");
    check(p[16 * page + 50] == 0, "later pages read zero too");
    check(mapping_guard::fault_count() == faults + 1, "one fault absorbed for the whole tail");
    const Status st = m.check_intact();
    check(st.code() == ErrorCode::kInvalidFile && contains(st.message(), "truncated") &&
              contains(st.message(), path.c_str()),
          "the mapping reports the truncation: " + st.message());
  }
  {
    MappedFile m;  // a fresh mapping of the shortened file is intact again
    check(m.open(path).is_ok() && m.check_intact().is_ok() && m.size() == page, "remaps the truncated file");
  }
  unlink(path.c_str());
  unlink((dir + "/empty.bin").c_str());
  rmdir(dir.c_str());
#endif
}

void test_pinning() {
  bool pinned = false;
  std::thread t([&] { pinned = pin_current_thread(1); });
  t.join();
#if defined(__linux__)
  cpu_set_t allowed;
  sched_getaffinity(0, sizeof(allowed), &allowed);
  check(pinned == (CPU_COUNT(&allowed) > 1), "pins a thread on Linux whenever more than one CPU is allowed");
  if (CPU_COUNT(&allowed) > 1) {
    std::thread u([&] {
      pin_current_thread(0);
      cpu_set_t now;
      sched_getaffinity(0, sizeof(now), &now);
      check(CPU_COUNT(&now) == 1, "a pinned thread may run on one CPU");
    });
    u.join();
  }
#else
  check(true, "pinning returns");
#endif
  cpu_relax();
}

}  // namespace

int main() {
  test_cpu_features();
  test_mapping(scratch_dir());
  test_pinning();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
