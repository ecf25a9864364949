#!/usr/bin/env bash
# Runs the README's two commands, verbatim, on a fresh Debian 12 (a debootstrap "minbase"
# chroot: no compiler, no CUDA, nothing of this machine's packages), from a clone of this
# repository's HEAD. The proof that the README works on a new machine; CI's machine keeps
# what was installed by hand, so only this catches a missing install step end to end.
#   scripts/fresh_machine_check.sh [WORK_DIR]   (root; network to Debian's archive; ~15 min)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/unet-fresh}
root="$work/bookworm"
[ "$(id -u)" -eq 0 ] || { echo "fresh_machine_check: run as root (debootstrap and chroot need it)"; exit 2; }
command -v debootstrap > /dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
if [ ! -x "$root/bin/bash" ]; then
  mkdir -p "$work"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The chroot reaches the network through this machine's, so pip there trusts what this machine
# trusts: a TLS-inspecting proxy brings its own CA, which no fresh system has (apt's archive is
# plain HTTP and needs none). Without a proxy this is Debian's own bundle.
pip_cert=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/host-ca-certificates.crt"
  pip_cert=(PIP_CERT=/etc/host-ca-certificates.crt)
fi
cleanup() { for m in dev/pts dev proc sys; do umount "$root/$m" 2> /dev/null || true; done; }
trap cleanup EXIT
mount --bind /dev "$root/dev" && mount --bind /dev/pts "$root/dev/pts"
mount -t proc proc "$root/proc" && mount -t sysfs sys "$root/sys"
rm -rf "$root/root/unet"
git clone -q "$repo" "$root/root/unet"
# The two commands, as the README shows them (the first ```bash block after each heading).
readme_command() { sed -n "/^\*\*$1\*\*/,/^\`\`\`\$/p" "$repo/README.md" | sed -n '/^```bash/,/^```$/p' | sed '1d;$d'; }
status=0
for which in "Tests" "Main job"; do
  cmd=$(readme_command "$which")
  echo "== fresh Debian 12: README '$which' command: $cmd"
  start=$(date +%s)
  if chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 "${pip_cert[@]}" bash -c "cd /root/unet && $cmd"; then
    echo "== '$which': passed in $(( $(date +%s) - start )) s"
  else
    echo "== '$which': FAILED after $(( $(date +%s) - start )) s"
    status=1
  fi
done
exit $status
