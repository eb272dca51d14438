// lz4_block.cc: see lz4_block.h.

#include "lz4_block.h"

#include <algorithm>
#include <cstring>

namespace pagevault {

long Lz4DecompressBlock(const uint8_t* src, size_t src_size, uint8_t* dst, size_t dst_cap, const uint8_t* dict,
                        size_t dict_size) {
  const uint8_t* ip = src;
  const uint8_t* const iend = src + src_size;
  uint8_t* op = dst;
  uint8_t* const oend = dst + dst_cap;
  // A length is 4 bits, then extension bytes added while they are 255.
  auto extend = [&](size_t* length) {
    uint8_t b;
    do {
      if (ip >= iend) return false;
      b = *ip++;
      *length += b;
    } while (b == 255);
    return true;
  };
  while (ip < iend) {
    const uint8_t token = *ip++;
    size_t literals = token >> 4;
    if (literals == 15 && !extend(&literals)) return -1;
    if (static_cast<size_t>(iend - ip) < literals || static_cast<size_t>(oend - op) < literals) return -1;
    std::memcpy(op, ip, literals);
    op += literals;
    ip += literals;
    if (ip == iend) break;  // the last sequence has literals only
    if (iend - ip < 2) return -1;
    const size_t offset = static_cast<size_t>(ip[0]) | (static_cast<size_t>(ip[1]) << 8);
    ip += 2;
    size_t match = token & 15;
    if (match == 15 && !extend(&match)) return -1;
    match += 4;
    const size_t produced = static_cast<size_t>(op - dst);
    if (offset == 0 || offset > produced + dict_size || static_cast<size_t>(oend - op) < match) return -1;
    if (offset > produced) {
      // The match starts in the dictionary's tail and may run on into the output's start.
      const size_t back = offset - produced;
      const size_t take = std::min(match, back);
      std::memcpy(op, dict + dict_size - back, take);
      op += take;
      match -= take;
      const uint8_t* from = dst;
      while (match-- > 0) *op++ = *from++;
    } else {
      // Byte by byte: a match may overlap what it writes (a run).
      const uint8_t* from = op - offset;
      while (match-- > 0) *op++ = *from++;
    }
  }
  return static_cast<long>(op - dst);
}

bool LmdbJsDecompress(const uint8_t** data, size_t* size, const uint8_t* dict, size_t dict_size, size_t max_size,
                      std::vector<uint8_t>* out) {
  const uint8_t* p = *data;
  if (*size == 0 || p[0] < 250) return true;
  size_t plain = 0;
  size_t header = 0;
  if (p[0] == 254 && *size >= 4) {
    plain = (static_cast<size_t>(p[1]) << 16) | (static_cast<size_t>(p[2]) << 8) | p[3];
    header = 4;
  } else if (p[0] == 255 && *size >= 8) {
    plain = (static_cast<size_t>(p[4]) << 24) | (static_cast<size_t>(p[5]) << 16) | (static_cast<size_t>(p[6]) << 8) | p[7];
    header = 8;
  } else {
    return false;
  }
  if (plain > max_size) return false;
  out->resize(plain);
  const long written = Lz4DecompressBlock(p + header, *size - header, out->data(), plain, dict, dict_size);
  if (written < 0 || static_cast<size_t>(written) != plain) return false;
  *data = out->data();
  *size = plain;
  return true;
}

}  // namespace pagevault
