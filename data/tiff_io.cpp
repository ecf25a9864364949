#include "data/tiff_io.hpp"

#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace {

// libtiff reports through callbacks; each open handle gets its own sink, so worker threads
// decoding different files never mix their messages.
struct ErrorSink {
  std::string message;
};

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* sink = static_cast<ErrorSink*>(user);
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (!sink->message.empty()) sink->message += "; ";
  sink->message += (module != nullptr && *module ? std::string(module) + ": " : std::string()) + buf;
  return 1;  // handled: libtiff does not print it
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // unknown tags etc.

struct OptionsDeleter {
  void operator()(TIFFOpenOptions* o) const { TIFFOpenOptionsFree(o); }
};

std::unique_ptr<TIFFOpenOptions, OptionsDeleter> make_options(ErrorSink& sink) {
  std::unique_ptr<TIFFOpenOptions, OptionsDeleter> opts(TIFFOpenOptionsAlloc());
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, &sink);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, nullptr);
  // A corrupt header must not make libtiff allocate gigabytes.
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), tmsize_t{256} << 20);
  return opts;
}

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

[[noreturn]] void fail(const std::string& name, const std::string& what, const ErrorSink& sink) {
  UNET_THROW(name, sink.message.empty() ? what : trf("{} (libtiff: {})", what, sink.message));
}

constexpr uint32_t kMaxSide = 16384;  // far above any MRI slice; guards against corrupt sizes

Image decode(TIFF* tif, const std::string& name, const ErrorSink& sink) {
  uint32_t w = 0, h = 0;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
    fail(name, tr("TIFF without image width or height"), sink);
  if (w == 0 || h == 0 || w > kMaxSide || h > kMaxSide)
    fail(name, trf("unsupported image size {}x{}", std::to_string(w), std::to_string(h)), sink);
  uint16_t spp = 1, bps = 1, planar = PLANARCONFIG_CONTIG, sample_format = SAMPLEFORMAT_UINT, photometric = 0;
  uint16_t compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &sample_format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric))
    photometric = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;

  if (bps != 8 && bps != 16)
    fail(name, trf("{}-bit samples are not supported (8- or 16-bit only)", std::to_string(bps)), sink);
  if (sample_format != SAMPLEFORMAT_UINT)
    fail(name, trf("sample format {} is not supported (unsigned integers only)", std::to_string(sample_format)), sink);
  const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
  if (!((gray && spp == 1) || (photometric == PHOTOMETRIC_RGB && (spp == 3 || spp == 4))))
    fail(name,
         trf("photometric interpretation {} with {} samples per pixel is not supported (grayscale or RGB only)",
             std::to_string(photometric), std::to_string(spp)),
         sink);
  if (!TIFFIsCODECConfigured(compression))
    fail(name, trf("compression scheme {} is not available in this libtiff", std::to_string(compression)), sink);

  Image img;
  img.height = h;
  img.width = w;
  img.channels = spp == 4 ? 3 : spp;  // an alpha channel is dropped
  img.bits = bps;
  img.pixels.assign(static_cast<size_t>(h) * w * static_cast<size_t>(img.channels), 0);
  const bool separate = planar == PLANARCONFIG_SEPARATE && spp > 1;
  const uint16_t planes = separate ? spp : 1;
  const uint32_t chunk_spp = separate ? 1 : spp;
  const size_t bytes = bps / 8;
  auto sample = [&](const unsigned char* p) -> uint16_t {
    if (bytes == 1) return *p;
    uint16_t v;
    std::memcpy(&v, p, 2);  // libtiff has already swapped to host order
    return v;
  };
  // Copies a decoded chunk (tile or strip) covering rows [y0, y0+ch) and columns
  // [x0, x0+cw) of plane `plane` into the image.
  auto place = [&](const unsigned char* buf, uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch, uint16_t plane) {
    for (uint32_t r = 0; r < ch && y0 + r < h; ++r)
      for (uint32_t c = 0; c < cw && x0 + c < w; ++c)
        for (uint32_t s = 0; s < chunk_spp; ++s) {
          const int64_t channel = separate ? plane : s;
          if (channel >= img.channels) continue;
          const unsigned char* src = buf + ((static_cast<size_t>(r) * cw + c) * chunk_spp + s) * bytes;
          img.pixels[(static_cast<size_t>(y0 + r) * w + (x0 + c)) * static_cast<size_t>(img.channels) +
                     static_cast<size_t>(channel)] = sample(src);
        }
  };

  if (TIFFIsTiled(tif)) {
    uint32_t tw = 0, th = 0;
    if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &th) || tw == 0 || th == 0 ||
        tw > kMaxSide || th > kMaxSide)
      fail(name, tr("tiled TIFF with invalid tile size"), sink);
    const tmsize_t tile_bytes = TIFFTileSize(tif);
    const size_t need = static_cast<size_t>(tw) * th * chunk_spp * bytes;
    if (tile_bytes <= 0 || static_cast<size_t>(tile_bytes) < need) fail(name, tr("inconsistent tile size"), sink);
    std::vector<unsigned char> buf(static_cast<size_t>(tile_bytes));
    for (uint16_t p = 0; p < planes; ++p)
      for (uint32_t y = 0; y < h; y += th)
        for (uint32_t x = 0; x < w; x += tw) {
          const uint32_t tile = TIFFComputeTile(tif, x, y, 0, p);
          if (TIFFReadEncodedTile(tif, tile, buf.data(), tile_bytes) < static_cast<tmsize_t>(need))
            fail(name, trf("cannot decode tile {} (truncated or corrupt file)", std::to_string(tile)), sink);
          place(buf.data(), x, y, tw, th, p);
        }
  } else {
    uint32_t rows_per_strip = h;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    if (rows_per_strip == 0 || rows_per_strip > h) rows_per_strip = h;
    const tmsize_t strip_bytes = TIFFStripSize(tif);
    if (strip_bytes <= 0) fail(name, tr("invalid strip size"), sink);
    std::vector<unsigned char> buf(static_cast<size_t>(strip_bytes));
    for (uint16_t p = 0; p < planes; ++p)
      for (uint32_t y = 0; y < h; y += rows_per_strip) {
        const uint32_t rows = std::min(rows_per_strip, h - y);
        const size_t need = static_cast<size_t>(rows) * w * chunk_spp * bytes;
        if (need > buf.size()) fail(name, tr("inconsistent strip size"), sink);
        const uint32_t strip = TIFFComputeStrip(tif, y, p);
        if (TIFFReadEncodedStrip(tif, strip, buf.data(), static_cast<tmsize_t>(need)) < static_cast<tmsize_t>(need))
          fail(name, trf("cannot decode strip {} (truncated or corrupt file)", std::to_string(strip)), sink);
        place(buf.data(), 0, y, w, rows, p);
      }
  }
  if (photometric == PHOTOMETRIC_MINISWHITE) {
    const uint16_t max = bps == 8 ? 255 : 65535;
    for (auto& v : img.pixels) v = static_cast<uint16_t>(max - v);
  }
  return img;
}

// In-memory reading for TIFFClientOpen.
struct MemoryFile {
  const std::string* bytes;
  toff_t pos = 0;
};
tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* f = static_cast<MemoryFile*>(h);
  const toff_t size = f->bytes->size();
  if (f->pos >= size || n <= 0) return 0;
  const tmsize_t take = static_cast<tmsize_t>(std::min<toff_t>(static_cast<toff_t>(n), size - f->pos));
  std::memcpy(buf, f->bytes->data() + f->pos, static_cast<size_t>(take));
  f->pos += static_cast<toff_t>(take);
  return take;
}
tmsize_t mem_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* f = static_cast<MemoryFile*>(h);
  const toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->bytes->size();
  f->pos = base + off;
  return f->pos;
}
int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemoryFile*>(h)->bytes->size(); }
int mem_map(thandle_t, void**, toff_t*) { return 0; }
void mem_unmap(thandle_t, void*, toff_t) {}

}  // namespace

Image read_tiff(const std::string& path) {
  std::error_code ec;
  UNET_CHECK(std::filesystem::is_regular_file(path, ec), path, tr("no such file (or not a regular file)"));
  ErrorSink sink;
  auto opts = make_options(sink);
  TiffHandle tif(TIFFOpenExt(path.c_str(), "rm", opts.get()));  // "m": no memory mapping, plain reads
  if (!tif) fail(path, tr("cannot open as TIFF"), sink);
  return decode(tif.get(), path, sink);
}

Image read_tiff_memory(const std::string& bytes, const std::string& name) {
  ErrorSink sink;
  auto opts = make_options(sink);
  MemoryFile file{&bytes};
  TiffHandle tif(TIFFClientOpenExt(name.c_str(), "rm", &file, mem_read, mem_write, mem_seek, mem_close, mem_size,
                                   mem_map, mem_unmap, opts.get()));
  if (!tif) fail(name, tr("cannot open as TIFF"), sink);
  return decode(tif.get(), name, sink);
}

TiffCompression parse_tiff_compression(const std::string& name) {
  if (name == "none") return TiffCompression::None;
  if (name == "lzw") return TiffCompression::Lzw;
  if (name == "deflate") return TiffCompression::Deflate;
  if (name == "packbits") return TiffCompression::PackBits;
  UNET_THROW("compression", trf("'{}' is not a TIFF compression; use none, lzw, deflate or packbits", name));
}

void write_tiff(const std::string& path, const Image8& image, TiffCompression compression) {
  UNET_CHECK(image.channels == 1 || image.channels == 3, path, tr("only 1- or 3-channel images are written"));
  UNET_CHECK(image.height > 0 && image.width > 0 &&
                 image.pixels.size() == static_cast<size_t>(image.height * image.width * image.channels),
             path, tr("image buffer does not match its size"));
  const std::string tmp = path + ".tmp";
  ErrorSink sink;
  auto opts = make_options(sink);
  {
    TiffHandle tif(TIFFOpenExt(tmp.c_str(), "w", opts.get()));
    if (!tif) fail(path, trf("cannot create {}", tmp), sink);
    TIFF* t = tif.get();
    const uint16_t codec = compression == TiffCompression::Lzw        ? COMPRESSION_LZW
                           : compression == TiffCompression::Deflate  ? COMPRESSION_ADOBE_DEFLATE
                           : compression == TiffCompression::PackBits ? COMPRESSION_PACKBITS
                                                                      : COMPRESSION_NONE;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(image.width));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(image.height));
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(image.channels));
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(8));
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, image.channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    TIFFSetField(t, TIFFTAG_COMPRESSION, codec);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
    const size_t row_bytes = static_cast<size_t>(image.width * image.channels);
    std::vector<uint8_t> row(row_bytes);
    for (int64_t y = 0; y < image.height; ++y) {
      std::memcpy(row.data(), image.pixels.data() + static_cast<size_t>(y) * row_bytes, row_bytes);
      if (TIFFWriteScanline(t, row.data(), static_cast<uint32_t>(y), 0) < 0) {
        tif.reset();
        std::remove(tmp.c_str());
        fail(path, tr("write failed (disk full?)"), sink);
      }
    }
    if (!TIFFFlush(t)) {
      tif.reset();
      std::remove(tmp.c_str());
      fail(path, tr("write failed (disk full?)"), sink);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  UNET_CHECK(!ec, path, trf("rename from {} failed: {}", tmp, ec.message()));
}

std::vector<uint8_t> mask_to_binary(const Image& mask, const std::string& path) {
  const size_t n = static_cast<size_t>(mask.height * mask.width);
  std::vector<uint8_t> out(n);
  const uint16_t full = mask.bits == 8 ? 255 : 65535;
  bool any_full = false, any_one = false;
  for (size_t i = 0; i < n; ++i) {
    const uint16_t v = mask.pixels[i * static_cast<size_t>(mask.channels)];
    for (int64_t c = 1; c < mask.channels; ++c)
      UNET_CHECK(mask.pixels[i * static_cast<size_t>(mask.channels) + static_cast<size_t>(c)] == v, path,
                 trf("mask has {} channels that differ; expected one channel", std::to_string(mask.channels)));
    UNET_CHECK(v == 0 || v == 1 || v == full, path,
               trf("mask has value {}; expected only 0/{} or 0/1", std::to_string(v), std::to_string(full)));
    any_full |= v == full;
    any_one |= v == 1;
    out[i] = v != 0 ? 1 : 0;
  }
  UNET_CHECK(!(any_full && any_one), path,
             trf("mask mixes the values 1 and {}; expected 0/{} or 0/1", std::to_string(full), std::to_string(full)));
  return out;
}

}  // namespace unet::data
