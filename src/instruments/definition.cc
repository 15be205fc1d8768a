#include "instruments/definition.h"

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

}  // namespace rapport::instruments
