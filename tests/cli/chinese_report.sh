#!/usr/bin/env bash
# The Chinese report: a run trained with --lang zh writes report.html in Chinese (titles,
# table heads, chart labels), while the
# files for programs stay English (metrics.csv); headless Chromium renders it, and renders
# CJK text with real glyphs (a CJK font such as fonts-noto-cjk is installed), not tofu.
# Usage: chinese_report.sh UNET_BINARY WORK_DIR
source "$(dirname "$0")/lib.sh" "$1" "$2"
cd "$work"
unset LANGUAGE LC_ALL LC_MESSAGES
export LANG=C.UTF-8
command -v chromium > /dev/null || fail "chromium is not installed (scripts/install_deps.sh installs it)"
has() { grep -qF -- "$1" "$2" || fail "'$1' not in $2"; }

"$unet" synth --out data --patients 4 --seed 3 > synth.log
"$unet" --lang zh train --data data --out run --epochs 2 --size 32 --base 4 --batch 4 --max-steps-per-epoch 3 \
  --device cpu > train.log
has "第 2 轮：训练损失" train.log
html=run/report.html
has '<html lang="zh-CN">' "$html"
for text in "unet-engine 训练：run" "曲线" "各轮结果" "配置" "<th>训练损失</th>" "<th>最佳逐体数据验证 DSC</th>" \
  "<th>验证 DSC/体数据</th>" "逐体数据 DSC（" "验证切片（图像 | 金标准 | 预测）" ">轮次</text>" ">验证损失</text>"; do
  has "$text" "$html"
done
# English left in the page's own words would be a missed message (the config JSON, patient ids
# and file names are data, not words of the page).
for english in ">Curves<" ">Epochs<" ">train loss<" ">epoch<" "Validation slices" ">Configuration<"; do
  ! grep -qF -- "$english" "$html" || fail "English '$english' in the Chinese report"
done
# With a CJK font installed the PNG charts show Chinese too, so the page has no note that
# they fall back to English (test_cjk_text checks the PNG glyphs themselves).
! grep -qF 'id="png-note"' "$html" || fail "the report says the PNG charts are English, yet a CJK font is installed"
# For programs: the CSV header stays English and numbers keep their '.'.
head -1 run/metrics.csv | grep -q "^epoch,train_loss,train_dice,val_loss" || fail "metrics.csv header: $(head -1 run/metrics.csv)"
sed -n 2p run/metrics.csv | grep -Eq "^1,[0-9]+\.[0-9]+," || fail "metrics.csv numbers: $(sed -n 2p run/metrics.csv)"

chrome() { chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" "$@" 2>> chromium.log; }
chrome --dump-dom "file://$work/$html" > dom.html || fail "chromium could not render the Chinese report"
has "各轮结果" dom.html
chrome --screenshot="$work/report.png" --window-size=1200,1600 "file://$work/$html" > /dev/null || fail "chromium screenshot"

# CJK glyphs, not tofu: two pages with different Chinese words in the report's font list.
# A font with CJK glyphs draws them differently; without one every character is the same
# missing-glyph box, so the two screenshots would be the same picture. (800x200: headless
# Chromium leaves much smaller windows blank.)
page() {
  printf '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body style="margin:0;background:#fff">'
  printf '<p style="font-family:sans-serif,%s;font-size:64px;margin:8px">%s</p></body></html>' \
    "'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC'" "$1"
}
page "曲线配置验证" > a.html
page "训练损失病例" > b.html
chrome --screenshot="$work/a.png" --window-size=800,200 "file://$work/a.html" > /dev/null || fail "chromium screenshot a"
chrome --screenshot="$work/b.png" --window-size=800,200 "file://$work/b.html" > /dev/null || fail "chromium screenshot b"
/usr/bin/python3 - report.png a.png b.png <<'PY' || fail "CJK rendering (see above)"
import sys
from PIL import Image, ImageChops

report, a, b = (Image.open(p).convert("L") for p in sys.argv[1:4])
ink = lambda im: sum(1 for v in im.getdata() if v < 128)
# The report: a page of text, tables and charts (about 20000 dark pixels at 1200x1600), not a
# blank page or an error page (a few hundred).
assert report.size == (1200, 1600), report.size
assert ink(report) > 5000, f"the report screenshot is nearly empty ({ink(report)} dark pixels)"
# Both test pages carry text, and it differs between the words: real glyphs.
assert ink(a) > 2000 and ink(b) > 2000, f"no text drawn ({ink(a)}, {ink(b)} dark pixels)"
diff = ImageChops.difference(a, b)
changed = sum(1 for v in diff.getdata() if v > 64)
print(f"CJK check: {ink(a)} and {ink(b)} dark pixels, {changed} pixels differ between two Chinese words")
assert changed > 1000, "two different Chinese words render alike: tofu boxes, no CJK font (install fonts-noto-cjk)"
PY
echo "the Chinese report renders in Chromium with CJK glyphs"
