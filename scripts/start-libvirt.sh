#!/bin/sh
# Start virtlogd and libvirtd in the background on a machine without
# systemd (check with `ps 1`), then wait until libvirtd responds on
# qemu:///system. Run as root, after install-libvirt.sh. If libvirtd
# already responds, the script only sets the /dev/kvm permissions.
#
# Logs: /var/log/libvirt/libvirtd.log and /var/log/libvirt/virtlogd.log.
# On a minimal machine libvirtd 9.0.0 logs errors at startup about a
# missing dnsmasq, D-Bus system bus and /dev/mem (dmidecode). They concern
# networks and host details that the VirMO driver does not use, and QEMU
# domains still start.
# Set START_LIBVIRT_WAIT to the maximum wait in seconds (default 30).
set -eu

log_dir=/var/log/libvirt
uri=qemu:///system
max_wait=${START_LIBVIRT_WAIT:-30}

if [ "$(id -u)" -ne 0 ]; then
	echo "start-libvirt.sh: must run as root" >&2
	exit 1
fi

# Without udev, /dev/kvm stays root:root 0600. libvirtd 9.0.0 then finds
# KVM in the QEMU capabilities it probes, but not usable by the QEMU user.
# So it discards its capabilities cache and probes QEMU again on every
# domain definition: one `virsh define` took 51 s on a loaded 2-core VM.
# Debian's udev rules give /dev/kvm to the kvm group with mode 0660, and
# this does the same. VirMO's domains still use TCG (type qemu).
if [ -c /dev/kvm ]; then
	chgrp kvm /dev/kvm
	chmod 0660 /dev/kvm
fi

if virsh -c "$uri" version >/dev/null 2>&1; then
	echo "start-libvirt.sh: libvirtd already responds on $uri"
	exit 0
fi

install -d -m 0700 "$log_dir"
install -d -m 0755 /run/libvirt

# setsid detaches the daemons from this shell's session, so they keep
# running after the script exits.
if ! pgrep -x virtlogd >/dev/null; then
	setsid virtlogd >>"$log_dir/virtlogd.log" 2>&1 </dev/null &
fi
if ! pgrep -x libvirtd >/dev/null; then
	setsid libvirtd >>"$log_dir/libvirtd.log" 2>&1 </dev/null &
fi

waited=0
until virsh -c "$uri" version >/dev/null 2>&1; do
	if [ "$waited" -ge "$max_wait" ]; then
		echo "start-libvirt.sh: libvirtd did not respond on $uri within ${max_wait}s;" \
			"see $log_dir/libvirtd.log and $log_dir/virtlogd.log" >&2
		exit 1
	fi
	sleep 1
	waited=$((waited + 1))
done

echo "start-libvirt.sh: libvirtd responds on $uri"
