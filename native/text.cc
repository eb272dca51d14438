// text.cc: see text.h.

#include "text.h"

#include <cstdarg>
#include <cstdio>

namespace pagevault {

std::string StringPrintf(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return buffer;
}

}  // namespace pagevault
