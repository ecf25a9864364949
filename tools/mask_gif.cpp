#include "tools/mask_gif.hpp"

#include <gif_lib.h>

#include <memory>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"

namespace unet::tools {

namespace {

int append_bytes(GifFileType* gif, const GifByteType* bytes, int n) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
  return n;
}

void check_gif(int status, GifFileType* gif, const std::string& path, const char* call) {
  UNET_CHECK(status != GIF_ERROR, path,
             trf("{} failed: {}", std::string(call),
                 (GifErrorString(gif->Error) ? std::string(GifErrorString(gif->Error)) : tr("unknown"))));
}

}  // namespace

std::vector<uint8_t> grey_of_rgb(const std::vector<uint8_t>& rgb) {
  std::vector<uint8_t> g(rgb.size() / 3);
  for (size_t i = 0; i < g.size(); ++i)
    g[i] = static_cast<uint8_t>((rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3);
  return g;
}

void write_mask_gif(const std::string& path, int h, int w, const std::vector<std::vector<uint8_t>>& grey,
                    const std::vector<std::vector<uint8_t>>& mask, int delay_centiseconds) {
  UNET_CHECK(!grey.empty() && grey.size() == mask.size(), path,
             tr("a GIF needs as many masks as images, at least one"));
  UNET_CHECK(h > 0 && w > 0 && h <= 65535 && w <= 65535, path, tr("GIF frames are 1..65535 pixels a side"));
  std::string bytes;
  int error = 0;
  GifFileType* gif = EGifOpen(&bytes, append_bytes, &error);
  UNET_CHECK(gif != nullptr, path, trf("EGifOpen failed: {}", GifErrorString(error)));
  // Closed by the owner when a step fails (its error is the one reported), explicitly at the end.
  auto close_quietly = [](GifFileType* g) {
    int e = 0;
    EGifCloseFile(g, &e);
  };
  std::unique_ptr<GifFileType, decltype(close_quietly)> owner(gif, close_quietly);
  std::vector<GifColorType> palette(256);
  for (int i = 0; i < 128; ++i) {
    const auto v = static_cast<GifByteType>(2 * i + 1);
    palette[static_cast<size_t>(i)] = {v, v, v};
    palette[static_cast<size_t>(128 + i)] = {static_cast<GifByteType>(128 + i), static_cast<GifByteType>(v / 3),
                                             static_cast<GifByteType>(v / 3)};  // red over the grey
  }
  std::unique_ptr<ColorMapObject, decltype(&GifFreeMapObject)> map(GifMakeMapObject(256, palette.data()),
                                                                    GifFreeMapObject);
  UNET_CHECK(map != nullptr, path, tr("GifMakeMapObject failed"));
  EGifSetGifVersion(gif, true);  // GIF89a: needed for the delay and the loop
  check_gif(EGifPutScreenDesc(gif, w, h, 8, 0, map.get()), gif, path, "EGifPutScreenDesc");
  // NETSCAPE2.0 application extension: loop for ever.
  const GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const GifByteType loop[] = {1, 0, 0};
  check_gif(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), gif, path, "EGifPutExtensionLeader");
  check_gif(EGifPutExtensionBlock(gif, sizeof app, app), gif, path, "EGifPutExtensionBlock");
  check_gif(EGifPutExtensionBlock(gif, sizeof loop, loop), gif, path, "EGifPutExtensionBlock");
  check_gif(EGifPutExtensionTrailer(gif), gif, path, "EGifPutExtensionTrailer");
  GraphicsControlBlock gcb{};
  gcb.DisposalMode = DISPOSE_DO_NOT;
  gcb.DelayTime = delay_centiseconds;
  gcb.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType gcb_bytes[4];
  const size_t gcb_len = EGifGCBToExtension(&gcb, gcb_bytes);
  std::vector<GifPixelType> line(static_cast<size_t>(w));
  for (size_t k = 0; k < grey.size(); ++k) {
    UNET_CHECK(grey[k].size() == static_cast<size_t>(h) * static_cast<size_t>(w) && mask[k].size() == grey[k].size(),
               path, trf("frame {} is not {} x {}", std::to_string(k + 1), std::to_string(w), std::to_string(h)));
    check_gif(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(gcb_len), gcb_bytes), gif, path,
              "EGifPutExtension");
    check_gif(EGifPutImageDesc(gif, 0, 0, w, h, false, nullptr), gif, path, "EGifPutImageDesc");
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const size_t i = static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x);
        line[static_cast<size_t>(x)] = static_cast<GifPixelType>((grey[k][i] >> 1) + (mask[k][i] ? kGifTumourIndex : 0));
      }
      check_gif(EGifPutLine(gif, line.data(), w), gif, path, "EGifPutLine");
    }
  }
  // EGifCloseFile writes the trailer into `bytes` and frees the handle, whatever it returns.
  UNET_CHECK(EGifCloseFile(owner.release(), &error) != GIF_ERROR, path,
             trf("EGifCloseFile failed: {}", GifErrorString(error)));
  write_file_atomic(path, bytes);
}

}  // namespace unet::tools
