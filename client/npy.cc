#include "client/npy.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace attnserve::client {
namespace {

constexpr absl::string_view kMagic("\x93NUMPY", 6);

// The value text after 'key': in the header dict, up to the next top-level
// comma or '}'.
absl::StatusOr<absl::string_view> DictValue(absl::string_view header,
                                            absl::string_view key,
                                            absl::string_view name) {
  const size_t at = header.find(absl::StrCat("'", key, "'"));
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": npy header has no '", key, "'"));
  }
  const size_t colon = header.find(':', at);
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": npy header is malformed"));
  }
  size_t end = colon + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  return absl::StripAsciiWhitespace(header.substr(colon + 1, end - colon - 1));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
  if (exponent == 0) {
    float f = std::ldexp(float(mantissa), -24);
    return sign ? -f : f;
  }
  bits = exponent == 0x1f ? (sign | 0x7f800000u | mantissa << 13)
                          : (sign | (exponent + 112) << 23 | mantissa << 13);
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes,
                                  absl::string_view name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not a .npy file"));
  }
  const uint8_t major = uint8_t(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8;
    offset = 10;
  } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
    header_len =
        uint32_t(uint8_t(bytes[8])) | uint32_t(uint8_t(bytes[9])) << 8 |
        uint32_t(uint8_t(bytes[10])) << 16 | uint32_t(uint8_t(bytes[11])) << 24;
    offset = 12;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": npy format version ", major, " is not supported"));
  }
  if (header_len > bytes.size() - offset) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": npy header is truncated"));
  }
  const absl::string_view header = bytes.substr(offset, header_len);
  const absl::string_view data = bytes.substr(offset + header_len);

  auto descr = DictValue(header, "descr", name);
  if (!descr.ok()) return descr.status();
  size_t item;
  if (*descr == "'<f4'") {
    item = 4;
  } else if (*descr == "'<f8'") {
    item = 8;
  } else if (*descr == "'<f2'") {
    item = 2;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": dtype ", *descr,
        " is not supported, expected float16, float32 or float64"));
  }
  auto fortran = DictValue(header, "fortran_order", name);
  if (!fortran.ok()) return fortran.status();
  if (*fortran != "False") {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": Fortran order, expected C order"));
  }
  auto shape_text = DictValue(header, "shape", name);
  if (!shape_text.ok()) return shape_text.status();
  absl::string_view dims = *shape_text;
  if (!absl::ConsumePrefix(&dims, "(") || !absl::ConsumeSuffix(&dims, ")")) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": npy shape ", *shape_text));
  }
  NpyArray array;
  uint64_t count = 1;
  for (absl::string_view d :
       absl::StrSplit(dims, ',', absl::SkipWhitespace())) {
    int64_t v;
    if (!absl::SimpleAtoi(d, &v) || v < 0 ||
        (v > 0 && count > std::numeric_limits<uint32_t>::max() / uint64_t(v))) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": npy shape ", *shape_text));
    }
    array.shape.push_back(v);
    count *= uint64_t(v);
  }
  if (data.size() != count * item) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " has ", data.size(), " data bytes, expected ", count * item));
  }
  array.values.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    const char* p = data.data() + i * item;
    if (item == 4) {
      std::memcpy(&array.values[i], p, 4);
    } else if (item == 8) {
      double d;
      std::memcpy(&d, p, 8);
      array.values[i] = float(d);
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      array.values[i] = HalfToFloat(h);
    }
  }
  return array;
}

std::string SerializeNpy(const NpyArray& array) {
  std::string shape = absl::StrJoin(array.shape, ", ");
  if (array.shape.size() == 1) shape += ",";
  std::string header = absl::StrCat(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad with spaces so the data starts on a 64-byte boundary; end with '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(array.values.data()),
             array.values.size() * sizeof(float));
  return out;
}

}  // namespace attnserve::client
