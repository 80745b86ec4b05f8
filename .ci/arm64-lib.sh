# shellcheck shell=bash
# Shared by .ci/test-arm64 and .ci/eval-arm64: Debian arm64 root file systems under qemu-user that
# look like a Raspberry Pi to XNNPACK. Source it; it expects REPO, SHARED and CACHE to be set.
#
# XNNPACK picks its kernels from what its cpuinfo library finds: the features from the ELF
# hardware capabilities (qemu sets them for the CPU named in QEMU_CPU), the core from the "CPU
# part" of /proc/cpuinfo, and the processors from /sys/devices/system/cpu. qemu-user 7.2 shows the
# host's x86 /proc/cpuinfo, and without /sys cpuinfo fails ("failed to parse the list of present
# processors") and XNNPACK falls back to kernels no Pi runs: so sysfs is mounted and an ARM
# /proc/cpuinfo of the emulated core is bind-mounted over the host's.

# README's `apt install git make python3-venv python3-picamera2`. python3-picamera2 (and libcamera)
# exist only in Raspberry Pi OS's archive; python3-numpy stands in for it: it is the system
# package picamera2 pulls in that the venv (created with --system-site-packages) can see.
APT_PACKAGES=ca-certificates,git,make,python3-venv,python3-numpy

die() { echo "arm64: $*" >&2; exit 1; }

check_host() {
    [ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot and mounts): run it with sudo"
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt install mmdebstrap"
    command -v qemu-aarch64-static >/dev/null ||
        die "qemu-aarch64-static is missing: apt install qemu-user-static"
    [ -d "$SHARED/data" ] || die "$SHARED/data is absent: ../shared/data must be beside the repo"
}

# The kernel runs arm64 binaries through qemu once binfmt_misc knows the interpreter. Debian's
# qemu-user-static ships the rule; containers and fresh machines often have not loaded it.
ensure_binfmt() {
    local dir=/proc/sys/fs/binfmt_misc
    [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" ||
        die "cannot mount $dir (a container without privileges cannot run arm64 binaries)"
    [ -e "$dir/qemu-aarch64" ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$dir/register" ||
        die "cannot register qemu-aarch64 with binfmt_misc"
    grep -q enabled "$dir/qemu-aarch64" || echo 1 >"$dir/qemu-aarch64"
}

# A cached root file system per suite (a tarball), rebuilt when the package list changes.
rootfs_tarball() {
    local suite=$1 key tarball
    key=$(echo "$APT_PACKAGES" | sha256sum | cut -c1-12)
    tarball=$CACHE/$suite-arm64-$key.tar
    if [ ! -s "$tarball" ]; then
        echo "== $suite: building the arm64 root file system (slow once, cached in $CACHE)" >&2
        mkdir -p "$CACHE"
        # The name must end in .tar: mmdebstrap picks its output format from it.
        nice -n 10 mmdebstrap --quiet --arch=arm64 --variant=apt --include="$APT_PACKAGES" \
            "$suite" "${tarball%.tar}.part.tar" http://deb.debian.org/debian >&2
        mv "${tarball%.tar}.part.tar" "$tarball"
    fi
    echo "$tarball"
}

# QEMU_CPU name -> the /proc/cpuinfo of a Raspberry Pi with that core, one entry per processor
# the host's sysfs lists (what cpuinfo counts).
pi_cpuinfo() {
    local cpu=$1 n i features variant part revision model
    case $cpu in
    cortex-a72)
        features="fp asimd evtstrm crc32 cpuid" variant=0x0 part=0xd08 revision=3
        model="Raspberry Pi 4 Model B Rev 1.4" ;;
    cortex-a76)
        features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm"
        features="$features lrcpc dcpop asimddp" variant=0x4 part=0xd0b revision=1
        model="Raspberry Pi 5 Model B Rev 1.0" ;;
    *) die "no Raspberry Pi has the core $cpu (use cortex-a72 or cortex-a76)" ;;
    esac
    n=$(nproc)
    for ((i = 0; i < n; i++)); do
        printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\n' "$i" "$features"
        printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\n' "$variant"
        printf 'CPU part\t: %s\nCPU revision\t: %s\n\n' "$part" "$revision"
    done
    printf 'Revision\t: c03114\nModel\t\t: %s\n' "$model"
}

# Mount what a Pi's processes see into the root: proc, sysfs, dev, the ARM cpuinfo for the core
# $2, ../shared read-only at /opt/shared, and pip's cache.
mount_pi() {
    local root=$1 cpu=$2
    mkdir -p "$root/opt/shared" "$root/root/.cache/pip" "$CACHE/pip"
    mount --bind "$SHARED" "$root/opt/shared" && mount -o remount,bind,ro "$root/opt/shared"
    mount --bind "$CACHE/pip" "$root/root/.cache/pip"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /dev "$root/dev"
    pi_cpuinfo "$cpu" >"$root/etc/pi-cpuinfo"
    mount --bind "$root/etc/pi-cpuinfo" "$root/proc/cpuinfo"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    # This machine's CA bundle, so that pip trusts what the host trusts (a TLS-inspecting proxy).
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
}

# The working tree's tracked files (uncommitted edits included), as `git clone` would give.
copy_repo() {
    local root=$1
    mkdir -p "$root/opt/repcounter"
    (cd "$REPO" && git ls-files -z | tar --null -T - -c) | tar -x -C "$root/opt/repcounter"
}

# Run a bash script inside the root as the emulated core $2: run_inside ROOT CPU SCRIPT [ARGS].
run_inside() {
    local root=$1 cpu=$2 script=$3
    shift 3
    nice -n 10 chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 QEMU_CPU="$cpu" PIP_DISABLE_PIP_VERSION_CHECK=1 \
        /bin/bash -c "$script" inside "$@"
}

unmount_pi() {
    local root=$1
    umount -R "$root/proc" "$root/sys" "$root/dev" "$root/root/.cache/pip" "$root/opt/shared" \
        "$root/root/.cache/repcounter/poses" 2>/dev/null || true
}

# Delete a root, never through a mount that is still there.
remove_root() {
    local root=$1
    unmount_pi "$root"
    if ! grep -q " $root/" /proc/mounts; then rm -rf "$root"; fi
}
