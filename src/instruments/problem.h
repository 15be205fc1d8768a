// A problem found while loading instrument data: which file, which item, which field, and what
// is wrong. Printed as "FILE: item ITEM: FIELD: MESSAGE" (ToString), the form
// `rapport instruments check` reports.
#pragma once

#include <string>

namespace rapport::instruments {

struct Problem {
  std::string file;
  std::string item;   // empty when not about one item
  std::string field;  // JSON path within the file
  std::string message;
  std::string ToString() const;
};

}  // namespace rapport::instruments
