#!/bin/sh
# Renders the PNG icons of the web app manifest from ../icon.svg with Debian's Chromium:
#   sh web_ui/static/icons/make-icons.sh   (the PNGs are committed; run again after editing the SVG)
# "any" icons keep the SVG's rounded corners on a transparent background; the maskable and
# Apple icons fill the square in the icon's blue (the phone cuts its own shape), with the letter
# inside the central 80 % safe zone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/../icon.svg" "$work/icon.svg"
render() { # name size scale background
    cat > "$work/$1.html" <<HTML
<!doctype html><style>html,body{margin:0;height:100%;overflow:hidden;background:$4;
display:grid;place-items:center}img{width:$3%;height:$3%}</style><img src="icon.svg" alt="">
HTML
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --default-background-color=00000000 --window-size="$2,$2" \
        --screenshot="$here/$1.png" "file://$work/$1.html" 2>/dev/null
}
render icon-192 192 100 transparent
render icon-512 512 100 transparent
render maskable-512 512 80 "#0b5cad"
render apple-touch-icon 180 100 "#0b5cad"
render favicon-32 32 100 transparent
