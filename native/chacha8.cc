// chacha8.cc: see chacha8.h.

#include "chacha8.h"

#include <cstring>

namespace pagevault {
namespace {

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

inline uint32_t Rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void QuarterRound(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  a += b; d = Rotl(d ^ a, 16);
  c += d; b = Rotl(b ^ c, 12);
  a += b; d = Rotl(d ^ a, 8);
  c += d; b = Rotl(b ^ c, 7);
}

// Block: the 64 keystream bytes of block `counter`.
void Block(const uint32_t input[16], uint64_t counter, uint8_t out[64]) {
  uint32_t j[16];
  std::memcpy(j, input, sizeof(j));
  j[12] = static_cast<uint32_t>(counter);
  j[13] = static_cast<uint32_t>(counter >> 32);
  uint32_t x[16];
  std::memcpy(x, j, sizeof(x));
  for (int round = 0; round < 8; round += 2) {
    QuarterRound(x[0], x[4], x[8], x[12]);
    QuarterRound(x[1], x[5], x[9], x[13]);
    QuarterRound(x[2], x[6], x[10], x[14]);
    QuarterRound(x[3], x[7], x[11], x[15]);
    QuarterRound(x[0], x[5], x[10], x[15]);
    QuarterRound(x[1], x[6], x[11], x[12]);
    QuarterRound(x[2], x[7], x[8], x[13]);
    QuarterRound(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) {
    const uint32_t v = x[i] + j[i];
    out[i * 4 + 0] = static_cast<uint8_t>(v);
    out[i * 4 + 1] = static_cast<uint8_t>(v >> 8);
    out[i * 4 + 2] = static_cast<uint8_t>(v >> 16);
    out[i * 4 + 3] = static_cast<uint8_t>(v >> 24);
  }
}

}  // namespace

void ChaCha8Xor(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize], uint64_t stream_offset,
                uint8_t* data, size_t length) {
  static const uint8_t kSigma[16] = {'e', 'x', 'p', 'a', 'n', 'd', ' ', '3', '2', '-', 'b', 'y', 't', 'e', ' ', 'k'};
  uint32_t input[16];
  for (int i = 0; i < 4; ++i) input[i] = Load32(kSigma + i * 4);
  for (int i = 0; i < 8; ++i) input[4 + i] = Load32(key + i * 4);
  input[12] = 0;
  input[13] = 0;
  input[14] = Load32(nonce);
  input[15] = Load32(nonce + 4);
  uint64_t counter = stream_offset / 64;
  size_t skip = static_cast<size_t>(stream_offset % 64);
  uint8_t stream[64];
  while (length > 0) {
    Block(input, counter++, stream);
    const size_t take = length < 64 - skip ? length : 64 - skip;
    for (size_t i = 0; i < take; ++i) data[i] ^= stream[skip + i];
    data += take;
    length -= take;
    skip = 0;
  }
}

}  // namespace pagevault
