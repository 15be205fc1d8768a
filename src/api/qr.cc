#include "api/qr.h"

#include <qrencode.h>

#include <memory>
#include <string>

#include "api/http.h"

namespace rapport::api {

Result<std::string> QrSvg(std::string_view text, std::string_view title) {
  const std::string input(text);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (code == nullptr) return InvalidArgument("text is too long for a QR code");
  const int width = code->width;
  constexpr int kQuiet = 4;
  const int size = width + 2 * kQuiet;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ";
  svg.append(std::to_string(size)).append(" ").append(std::to_string(size));
  svg.append("\" shape-rendering=\"crispEdges\" role=\"img\"><title>");
  svg.append(HtmlEscape(title));
  svg.append(
      "</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"");
  // One horizontal run of dark modules per path segment.
  for (int y = 0; y < width; ++y) {
    int x = 0;
    while (x < width) {
      if ((code->data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < width && (code->data[y * width + x] & 1) != 0) ++x;
      svg.append("M").append(std::to_string(start + kQuiet)).append(" ");
      svg.append(std::to_string(y + kQuiet)).append("h").append(std::to_string(x - start));
      svg.append("v1h-").append(std::to_string(x - start)).append("z");
    }
  }
  svg.append("\"/></svg>");
  return svg;
}

}  // namespace rapport::api
