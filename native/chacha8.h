// chacha8.h: the ChaCha stream cipher with 8 rounds (D. J. Bernstein's original construction: a 64-bit block
// counter in state words 12-13 and a 64-bit nonce in words 14-15), as lmdb-js uses it to encrypt the pages of an
// environment opened with `encryptionKey` (LMDB-INTERNALS.md §1.4): key = the 32 key bytes, nonce = the page's first
// 8 bytes (its page number, which stays in clear), block counter from 0 at byte 16 of the page; the 16-byte page
// prefix (page number and txnid) is not encrypted. An overflow run is one stream over all its pages. There is no
// authentication tag, so a wrong key only shows as garbage.
//
// Written from the ChaCha specification; encryption and decryption are the same XOR. No allocation, no I/O.

#ifndef PAGEVAULT_NATIVE_CHACHA8_H_
#define PAGEVAULT_NATIVE_CHACHA8_H_

#include <cstddef>
#include <cstdint>

namespace pagevault {

constexpr size_t kChaChaKeySize = 32;
constexpr size_t kChaChaNonceSize = 8;

// ChaCha8Xor: XORs `length` bytes at `data` in place with the keystream of (`key`, `nonce`) starting at byte offset
// `stream_offset` of the stream (any offset; a partial first block is handled).
void ChaCha8Xor(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize], uint64_t stream_offset,
                uint8_t* data, size_t length);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_CHACHA8_H_
