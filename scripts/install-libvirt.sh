#!/bin/sh
# Install libvirtd with the QEMU driver and the virsh client on Debian 12
# (bookworm), for the libvirt hypervisor driver and its integration test.
# Run as root. Running it again changes nothing that is already in place.
#
# Debian's libvirtd 9.0.0 runs QEMU as the user libvirt-qemu, a default
# built into the binary because this package set ships no qemu.conf. The
# user, the kvm group and /var/log/libvirt come from libvirt-daemon-system,
# which is left out here because it pulls in systemd units, so this script
# creates them itself. No qemu.conf setting was needed for diskless TCG
# domains.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-libvirt.sh: must run as root" >&2
	exit 1
fi

packages="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86"

missing=""
for package_name in $packages; do
	status=$(dpkg-query -W -f='${Status}' "$package_name" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing="$missing $package_name"
	fi
done

if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086 # the list is split into package names on purpose
	apt-get install -y --no-install-recommends $missing
fi

if ! getent group kvm >/dev/null; then
	groupadd --system kvm
fi
if ! getent group libvirt-qemu >/dev/null; then
	groupadd --system libvirt-qemu
fi
if ! getent passwd libvirt-qemu >/dev/null; then
	useradd --system --gid kvm --groups libvirt-qemu --home-dir /var/lib/libvirt \
		--no-create-home --shell /usr/sbin/nologin libvirt-qemu
fi

install -d -m 0700 /var/log/libvirt
install -d -m 0755 /var/log/libvirt/qemu

echo "install-libvirt.sh: libvirt and QEMU are installed"
