// text.h: small string helpers shared by the native sources.

#ifndef PAGEVAULT_NATIVE_TEXT_H_
#define PAGEVAULT_NATIVE_TEXT_H_

#include <string>

namespace pagevault {

// StringPrintf: printf into a std::string (messages are short; output is cut at 511 bytes).
std::string StringPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_TEXT_H_
