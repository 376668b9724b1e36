#!/usr/bin/env bash
# Regenerates the sample images in samples/ (receipt.jpg, form.png, screenshot.png, article.png,
# typeset.png,
# korean.png, sign.jpg, line.png).
# Needs: chromium and imagemagick (ImageMagick 6 `convert`), plus the Debian font packages
# fonts-liberation2, fonts-open-sans, fonts-lato, fonts-dejavu-core, fonts-crosextra-carlito,
# fonts-nanum:
#   apt-get install -y chromium imagemagick fonts-liberation2 fonts-open-sans fonts-lato \
#       fonts-dejavu-core fonts-crosextra-carlito fonts-nanum
# Usage: bash samples/make/make_samples.sh   (from anywhere; writes into samples/)
# Output is deterministic up to the tool versions (random noise/plasma use fixed -seed values).
set -euo pipefail

MAKE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(dirname "$MAKE")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
NICE="nice -n 10"
export MAGICK_THREAD_LIMIT=1   # single-threaded ImageMagick: seeded noise/plasma then give identical bytes

# shot HTML WIDTH HEIGHT PNG: render a local HTML page with headless Chromium at 1 CSS px = 1 image px.
shot() {
  # chromium needs --no-sandbox when run as root
  $NICE chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d -p "$TMP")" --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$2,$3" --screenshot="$4" "file://$MAKE/$1" >/dev/null 2>&1
  test -s "$4"
}

# 1. receipt.jpg: Chromium render, then a scanned thermal-print look with ImageMagick:
#    faded ink, uneven grey paper, slight blur, noise, 0.6 degree skew on a dark scanner bed, JPEG.
shot receipt.html 480 750 "$TMP/receipt.png"
$NICE convert -seed 7 "$TMP/receipt.png" +level 10%,100% \
  \( -size 480x750 gradient:'#f4f1ea-#d6d1c5' \) -compose Multiply -composite \
  -blur 0x0.6 -attenuate 0.5 +noise Gaussian \
  -background '#7d7a74' -rotate 0.6 -gravity center -extent 500x770 \
  -strip -quality 80 "$OUT/receipt.jpg"

# 2. form.png: clean Chromium render.
shot form.html 900 660 "$TMP/form.png"
$NICE convert "$TMP/form.png" -strip "$OUT/form.png"

# 3. screenshot.png: clean Chromium render of an application-window mock-up.
shot screenshot.html 1000 590 "$TMP/screenshot.png"
$NICE convert "$TMP/screenshot.png" -strip "$OUT/screenshot.png"

# 3b. article.png: clean Chromium render of a book page, mixed-case running text in a serif
#     font (grey-scale PNG): the case test of the recognizer.
shot article.html 900 640 "$TMP/article.png"
$NICE convert "$TMP/article.png" -colorspace Gray -strip "$OUT/article.png"

# 3b'. typeset.png: clean Chromium render of book and paper print with typeset marks inside
#      the lines (’ “ ” ‘ ’ – —) in two serif faces (grey-scale PNG).
shot typeset.html 900 400 "$TMP/typeset.png"
$NICE convert "$TMP/typeset.png" -colorspace Gray -strip "$OUT/typeset.png"

# 3c. korean.png: clean Chromium render of a Korean shop notice (NanumGothic, NanumSquare,
#     NanumMyeongjo, all from fonts-nanum): a brown banner, a price box, a date,
#     a phone number, an address and a URL; Korean mixed with digits and Latin letters.
shot korean.html 760 600 "$TMP/korean.png"
$NICE convert "$TMP/korean.png" -strip "$OUT/korean.png"

# 4. sign.jpg: ImageMagick only. Stucco wall (plasma), painted sign panel with weathering texture,
#    perspective distortion, drop shadow, off-centre lighting falloff, blur, noise, JPEG.
BOLD=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
COND=/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf
$NICE convert -seed 11 -size 900x600 plasma:fractal -colorspace Gray -blur 0x1 \
  -attenuate 0.8 +noise Gaussian -colorspace Gray -auto-level +level-colors '#7a6450','#d8c6ab' \
  "$TMP/wall.png"
$NICE convert -size 680x340 xc:none -fill '#f2efe6' -draw 'roundrectangle 0,0 679,339 28,28' \
  -fill '#1e5b3a' -draw 'roundrectangle 10,10 669,329 22,22' \
  -fill '#f6f3ea' -font "$BOLD" -pointsize 74 -gravity north -annotate +0+40 'FRESH COFFEE' \
  -pointsize 56 -annotate +0+140 '& PASTRIES' \
  -font "$COND" -pointsize 36 -annotate +0+240 'Open daily 7:00–19:00' "$TMP/panel.png"
$NICE convert "$TMP/panel.png" \
  \( -seed 5 -size 680x340 plasma:fractal -colorspace Gray -auto-level -blur 0x1.2 \) \
  -compose SoftLight -composite "$TMP/panel.png" -compose CopyOpacity -composite \
  -virtual-pixel transparent -background none \
  -distort Perspective '0,0 30,18  679,0 640,52  679,339 632,300  0,339 22,330' "$TMP/panel2.png"
$NICE convert "$TMP/panel2.png" \( +clone -background black -shadow 55x7+10+12 \) +swap \
  -background none -layers merge +repage "$TMP/panel3.png"
$NICE convert -seed 13 "$TMP/wall.png" "$TMP/panel3.png" -geometry +110+120 -compose Over -composite \
  \( -size 900x600 radial-gradient:'#ffffff'-'#9a9a9a' -distort SRT '0.9 0 +80+40' \) \
  -compose Multiply -composite \
  -blur 0x0.8 -attenuate 0.4 +noise Gaussian -strip -quality 84 "$OUT/sign.jpg"

# 5. line.png: one text line (for `ocrtool read --no-detect`), ImageMagick label with Carlito.
$NICE convert -background '#fbfaf7' -fill '#202020' -font /usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf \
  -pointsize 30 label:'Invoice INV-2024-0042 due 15/03/2025: $1,299.00' \
  -bordercolor '#fbfaf7' -border 14x10 -depth 8 -strip "$OUT/line.png"

ls -l "$OUT"/receipt.jpg "$OUT"/form.png "$OUT"/screenshot.png "$OUT"/korean.png "$OUT"/sign.jpg \
  "$OUT"/line.png
