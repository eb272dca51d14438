// file_lock.h: exclusive, non-blocking advisory file locks for "one backup of a database at a time".
//
// flock(2) locks belong to an open file description: the kernel drops them when the holder closes the descriptor
// or dies, so a lock left by a crashed or SIGKILLed process is free again at once (no stale-lock heuristics), and
// two opens in one process exclude each other too. Never used on LMDB's own lock.mdb.

#ifndef PAGEVAULT_NATIVE_FILE_LOCK_H_
#define PAGEVAULT_NATIVE_FILE_LOCK_H_

#include <napi.h>

namespace pagevault {

// JS: tryLockFile(path: string): number | null. Opens (creating, mode 0644) and locks `path`; returns the descriptor,
// or null when someone else holds the lock. Throws an Error with `errno`/`syscall`/`path` when the file can't be
// opened. Synchronous: open + flock with LOCK_NB never wait.
Napi::Value JsTryLockFile(const Napi::CallbackInfo& info);

// JS: unlockFile(fd: number): void. Releases the lock and closes the descriptor.
Napi::Value JsUnlockFile(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_FILE_LOCK_H_
