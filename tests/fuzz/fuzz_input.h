#ifndef ATTNSERVE_TESTS_FUZZ_FUZZ_INPUT_H_
#define ATTNSERVE_TESTS_FUZZ_FUZZ_INPUT_H_

// Helpers shared by the fuzz harnesses (tests/fuzz/*_fuzzer.cc).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/string_view.h"

namespace attnserve::fuzz {

// Reads fixed-size values from the front of a fuzz input; past the end it
// yields zeros, so every input is usable.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <class T>
  T Read() {
    T value{};
    size_t n = sizeof(T) < size_ ? sizeof(T) : size_;
    std::memcpy(&value, data_, n);
    data_ += n;
    size_ -= n;
    return value;
  }
  // A value in [0, bound) (bound >= 1).
  uint32_t ReadBelow(uint32_t bound) { return Read<uint8_t>() % bound; }
  bool ReadBool() { return Read<uint8_t>() & 1; }

  absl::string_view Rest() const {
    return absl::string_view(reinterpret_cast<const char*>(data_), size_);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// A broken invariant: print it and abort, which the fuzzer reports as a crash.
[[noreturn]] inline void InvariantBroken(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

#define FUZZ_CHECK(condition)                                         \
  do {                                                                \
    if (!(condition)) ::attnserve::fuzz::InvariantBroken(#condition); \
  } while (0)

}  // namespace attnserve::fuzz

#endif  // ATTNSERVE_TESTS_FUZZ_FUZZ_INPUT_H_
