// json_out.cc: ByteSink growth and the JSON primitives (contracts in json_out.h).

#include "json_out.h"

#include <charconv>
#include <cstdio>

namespace pagevault {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

// NeedsCare: true when any of the 8 bytes of `v` is below 0x20, '"', '\\' or non-ASCII (the SWAR "has byte less than"
// and "has zero byte" tests; exact as yes/no answers, which is all the caller needs).
inline bool NeedsCare(uint64_t v) {
  const uint64_t below = (v - 0x20 * kOnes) & ~v;
  const uint64_t quote = (v ^ (0x22 * kOnes));
  const uint64_t slash = (v ^ (0x5c * kOnes));
  return (((below | ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash)) | v) & kHighBits) != 0;
}

// Utf8Length: the length of the valid UTF-8 sequence starting with the non-ASCII byte at `p` (`avail` bytes left),
// or 0 when it is invalid: a stray continuation byte, an overlong form, a surrogate, above U+10FFFF, or truncated.
inline size_t Utf8Length(const uint8_t* p, size_t avail) {
  const uint8_t c = p[0];
  if (c < 0xc2) return 0;
  if (c < 0xe0) return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && p[1] < 0xa0) return 0;   // overlong
    if (c == 0xed && p[1] >= 0xa0) return 0;  // U+D800..DFFF: msgpackr would decode a lone surrogate
    return 3;
  }
  if (c < 0xf5) {
    if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
    if (c == 0xf0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xf4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

const char kHex[] = "0123456789abcdef";
const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

void ByteSink::Grow(size_t extra) {
  size_t want = cap_ < 4096 ? 4096 : cap_;
  while (want - size_ < extra) {
    if (want > (SIZE_MAX >> 1)) {
      want = size_ + extra;
      break;
    }
    want <<= 1;
  }
  uint8_t* grown = static_cast<uint8_t*>(std::realloc(data_, want));
  if (grown == nullptr) {
    // See json_out.h: out of memory is fatal here, as it is for V8.
    std::fprintf(stderr, "pagevault: out of memory growing an export batch to %zu bytes\n", want);
    std::abort();
  }
  data_ = grown;
  cap_ = want;
}

bool IsValidUtf8(const uint8_t* bytes, size_t size) {
  size_t i = 0;
  while (i < size) {
    if (i + 8 <= size) {
      uint64_t v;
      std::memcpy(&v, bytes + i, 8);
      if ((v & kHighBits) == 0) {
        i += 8;
        continue;
      }
    }
    if (bytes[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t length = Utf8Length(bytes + i, size - i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool AppendJsonString(const uint8_t* bytes, size_t size, ByteSink* out) {
  // Worst case: every byte a control character written as \u00xx (6 bytes), plus the quotes.
  out->Reserve(size * 6 + 2);
  uint8_t* const start = out->tail();
  uint8_t* d = start;
  *d++ = '"';
  size_t i = 0;
  while (i < size) {
    // Clean runs of 8 bytes are copied as they are; a chunk with anything special is handled one unit at a time.
    while (i + 8 <= size) {
      uint64_t v;
      std::memcpy(&v, bytes + i, 8);
      if (NeedsCare(v)) break;
      std::memcpy(d, &v, 8);
      d += 8;
      i += 8;
    }
    if (i >= size) break;
    const uint8_t c = bytes[i];
    if (c >= 0x80) {
      const size_t length = Utf8Length(bytes + i, size - i);
      if (length == 0) return false;
      std::memcpy(d, bytes + i, length);
      d += length;
      i += length;
      continue;
    }
    ++i;
    if (c >= 0x20 && c != '"' && c != '\\') {
      *d++ = c;
      continue;
    }
    *d++ = '\\';
    switch (c) {
      case '"': *d++ = '"'; break;
      case '\\': *d++ = '\\'; break;
      case '\b': *d++ = 'b'; break;
      case '\f': *d++ = 'f'; break;
      case '\n': *d++ = 'n'; break;
      case '\r': *d++ = 'r'; break;
      case '\t': *d++ = 't'; break;
      default:
        *d++ = 'u';
        *d++ = '0';
        *d++ = '0';
        *d++ = static_cast<uint8_t>(kHex[c >> 4]);
        *d++ = static_cast<uint8_t>(kHex[c & 15]);
    }
  }
  *d++ = '"';
  out->Advance(static_cast<size_t>(d - start));
  return true;
}

void AppendBase64(const uint8_t* bytes, size_t size, ByteSink* out) {
  out->Reserve((size + 2) / 3 * 4);
  uint8_t* d = out->tail();
  uint8_t* const start = d;
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (static_cast<uint32_t>(bytes[i]) << 16) | (static_cast<uint32_t>(bytes[i + 1]) << 8) | bytes[i + 2];
    d[0] = static_cast<uint8_t>(kBase64[v >> 18]);
    d[1] = static_cast<uint8_t>(kBase64[(v >> 12) & 63]);
    d[2] = static_cast<uint8_t>(kBase64[(v >> 6) & 63]);
    d[3] = static_cast<uint8_t>(kBase64[v & 63]);
    d += 4;
  }
  if (i < size) {
    uint32_t v = static_cast<uint32_t>(bytes[i]) << 16;
    if (i + 1 < size) v |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    d[0] = static_cast<uint8_t>(kBase64[v >> 18]);
    d[1] = static_cast<uint8_t>(kBase64[(v >> 12) & 63]);
    d[2] = i + 1 < size ? static_cast<uint8_t>(kBase64[(v >> 6) & 63]) : '=';
    d[3] = '=';
    d += 4;
  }
  out->Advance(static_cast<size_t>(d - start));
}

void AppendDouble(double value, ByteSink* out) {
  out->Reserve(32);
  char* d = reinterpret_cast<char*>(out->tail());
  const std::to_chars_result result = std::to_chars(d, d + 32, value);
  out->Advance(static_cast<size_t>(result.ptr - d));
}

void AppendInt(int64_t value, ByteSink* out) {
  out->Reserve(24);
  char* d = reinterpret_cast<char*>(out->tail());
  const std::to_chars_result result = std::to_chars(d, d + 24, value);
  out->Advance(static_cast<size_t>(result.ptr - d));
}

void AppendUint(uint64_t value, ByteSink* out) {
  out->Reserve(24);
  char* d = reinterpret_cast<char*>(out->tail());
  const std::to_chars_result result = std::to_chars(d, d + 24, value);
  out->Advance(static_cast<size_t>(result.ptr - d));
}

}  // namespace pagevault
