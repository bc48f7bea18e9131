#!/bin/sh
# Install libwbxml's command-line converters (wbxml2xml, xml2wbxml) from
# Debian's libwbxml2-utils package, for the wbxml interoperability test.
# Run as root. Running it again changes nothing that is already in place,
# and the package index is refreshed only when the package is missing.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-wbxml-tools.sh: must run as root" >&2
	exit 1
fi

package_name=libwbxml2-utils
status=$(dpkg-query -W -f='${Status}' "$package_name" 2>/dev/null || true)
if [ "$status" != "install ok installed" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "$package_name"
fi

for tool in wbxml2xml xml2wbxml; do
	if ! command -v "$tool" >/dev/null; then
		echo "install-wbxml-tools.sh: $tool is missing after installing $package_name" >&2
		exit 1
	fi
done
