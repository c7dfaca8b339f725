# Shared by scripts/package-deb and scripts/install: the version, the static build, and the
# installed layout. Sourced, not run; expects to be in the repository's root.

# The version in Sources/GearboxCore/Version.swift, the one place it is written.
gearbox_version() {
    sed -n 's/.*static let string = "\([^"]*\)".*/\1/p' Sources/GearboxCore/Version.swift
}

# Release builds of gearboxd and gearboxctl with the Swift standard library and Foundation
# linked statically, in scratch directory $1. Prints the directory holding them.
build_static_binaries() {
    local scratch="$1" product
    for product in gearboxd gearboxctl; do
        swift build -c release --static-swift-stdlib --disable-local-rpath --scratch-path "$scratch" --product "$product" >&2
    done
    swift build -c release --static-swift-stdlib --disable-local-rpath --scratch-path "$scratch" --show-bin-path
}

# Fails when a binary would load anything from the Swift toolchain: a RUNPATH or RPATH, or
# a Swift or Foundation shared library among its needs.
check_no_toolchain_dependency() {
    local binary
    for binary in "$@"; do
        if readelf -d "$binary" | grep -E 'RUNPATH|RPATH'; then
            echo "$binary: has a run path into the toolchain" >&2
            return 1
        fi
        if readelf -d "$binary" | grep -E 'NEEDED.*(swift|Foundation|dispatch|BlocksRuntime|icu)'; then
            echo "$binary: needs a shared library of the Swift toolchain" >&2
            return 1
        fi
    done
}

# The Debian packages providing the shared libraries the binaries need directly (their
# NEEDED entries, not what those libraries load in turn), for Depends: libc6 at the newest
# glibc symbol version the binaries use, the others unversioned.
runtime_depends() {
    local binary soname path packages="" glibc
    for binary in "$@"; do
        for soname in $(readelf -d "$binary" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
            path="$(ldd "$binary" | awk -v name="$soname" '$1 == name && $3 ~ /^\// { print $3 }')"
            [ -n "$path" ] || continue
            packages="$packages $( (dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path") | head -1 | cut -d: -f1)"
        done
    done
    glibc="$(objdump -T "$@" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)"
    printf 'libc6 (>= %s)' "$glibc"
    for p in $(echo "$packages" | tr ' ' '\n' | sort -u | grep -v -x -e '' -e libc6); do printf ', %s' "$p"; done
    echo
}

# Installs the binaries from $3 under root $1 and prefix $2, the units into $1$4 with
# ExecStart= under the prefix, the sysusers.d file, man pages and completions. Version $5
# goes on the man pages.
install_layout() {
    local root="$1" prefix="$2" bin="$3" unitdir="$4" version="$5" tool zshdir
    umask 022
    install -d "$root$prefix/bin"
    for tool in gearboxd gearboxctl; do
        install -m 0755 "$bin/$tool" "$root$prefix/bin/$tool"
        strip --strip-unneeded "$root$prefix/bin/$tool"
    done
    install -d "$root$unitdir"
    sed "s|^ExecStart=.*|ExecStart=$prefix/bin/gearboxd|" systemd/gearboxd.service > "$root$unitdir/gearboxd.service"
    install -m 0644 systemd/gearboxd.socket "$root$unitdir/gearboxd.socket"
    chmod 0644 "$root$unitdir/gearboxd.service"
    install -D -m 0644 packaging/gearbox.sysusers "$root$prefix/lib/sysusers.d/gearbox.conf"

    # The power-profiles D-Bus API (docs/laptops.md): the bus policy where dbus-daemon reads
    # it (/usr/share for the package, /etc for a source install), the activation files under
    # the prefix (dbus-daemon also reads /usr/local/share), the polkit actions where polkit
    # reads them.
    local buspolicy="$root/usr/share/dbus-1/system.d"
    [ "$prefix" = /usr ] || buspolicy="$root/etc/dbus-1/system.d"
    install -D -m 0644 packaging/dbus/gearbox-power-profiles.conf "$buspolicy/gearbox-power-profiles.conf"
    install -d "$root$prefix/share/dbus-1/system-services"
    install -m 0644 packaging/dbus/org.freedesktop.UPower.PowerProfiles.service packaging/dbus/net.hadess.PowerProfiles.service \
        "$root$prefix/share/dbus-1/system-services/"
    install -D -m 0644 packaging/polkit/gearbox-power-profiles.policy "$root/usr/share/polkit-1/actions/gearbox-power-profiles.policy"

    install -d "$root$prefix/share/man/man1" "$root$prefix/share/man/man8"
    python3 scripts/lib/manpage.py "$bin/gearboxctl" 1 "$version" | gzip -9n > "$root$prefix/share/man/man1/gearboxctl.1.gz"
    python3 scripts/lib/manpage.py "$bin/gearboxd" 8 "$version" | gzip -9n > "$root$prefix/share/man/man8/gearboxd.8.gz"

    # zsh looks in vendor-completions for Debian's packages, in site-functions under /usr/local.
    zshdir="$prefix/share/zsh/site-functions"
    [ "$prefix" = /usr ] && zshdir=/usr/share/zsh/vendor-completions
    install -d "$root$prefix/share/bash-completion/completions" "$root$zshdir" "$root$prefix/share/fish/vendor_completions.d"
    for tool in gearboxd gearboxctl; do
        "$bin/$tool" --generate-completion-script bash > "$root$prefix/share/bash-completion/completions/$tool"
        "$bin/$tool" --generate-completion-script zsh > "$root$zshdir/_$tool"
        "$bin/$tool" --generate-completion-script fish > "$root$prefix/share/fish/vendor_completions.d/$tool.fish"
    done
}
