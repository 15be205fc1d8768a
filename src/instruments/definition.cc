#include "instruments/definition.h"

#include "instruments/problem.h"

#include <algorithm>

namespace rapport::instruments {

const Item* Definition::FindItem(const std::string& item_id) const {
  for (const Item& item : items) {
    if (item.id == item_id) return &item;
  }
  return nullptr;
}

bool Definition::HasWording() const {
  if (title.empty()) return false;
  return std::all_of(items.begin(), items.end(), [](const Item& item) {
    if (item.text.empty()) return false;
    return std::all_of(item.options.begin(), item.options.end(),
                       [](const Option& option) { return !option.display.empty(); });
  });
}

double Definition::TotalMin() const {
  double sum = 0;
  for (const Item& item : items) sum += item.min;
  if (total_method == Aggregation::kMean && !items.empty())
    return sum / static_cast<double>(items.size());
  return sum;
}

double Definition::TotalMax() const {
  double sum = 0;
  for (const Item& item : items) sum += item.max;
  if (total_method == Aggregation::kMean && !items.empty())
    return sum / static_cast<double>(items.size());
  return sum;
}

std::string Problem::ToString() const {
  std::string out = file;
  out += ": ";
  if (!item.empty()) out += "item " + item + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

bool IsLanguageTag(std::string_view tag) {
  const auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  const auto is_alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  size_t pos = 0;
  while (pos < tag.size() && is_lower(tag[pos])) ++pos;
  if (pos < 2 || pos > 3) return false;
  while (pos < tag.size()) {
    if (tag[pos] != '-') return false;
    const size_t start = ++pos;
    while (pos < tag.size() && is_alnum(tag[pos])) ++pos;
    if (pos - start < 2 || pos - start > 8) return false;
  }
  return true;
}

}  // namespace rapport::instruments
