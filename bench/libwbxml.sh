#!/bin/sh
# Time libwbxml's xml2wbxml and wbxml2xml over the XML files of the SyncML
# message corpus, for comparison with the Go benchmarks in bench/wbxml_test.go
# and wbxml/bench_test.go. Usage: bench/libwbxml.sh [ROUNDS] (default 20).
# The corpus is $VIRMO_CORPUS, or ../shared/corpus beside the repository.
# Files that xml2wbxml rejects are left out and named. MB/s counts WBXML
# bytes (written by xml2wbxml, read by wbxml2xml), as the Go benchmarks do.
# Every call is a new process, so the times include process start-up; the
# script also times `xml2wbxml` with no arguments to show that cost.
set -eu

rounds=${1:-20}
case $rounds in
'' | *[!0-9]*)
	echo "libwbxml.sh: ROUNDS must be a positive integer, got '$rounds'" >&2
	exit 2
	;;
esac

for tool in xml2wbxml wbxml2xml; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "libwbxml.sh: $tool not found; skipping (scripts/install-wbxml-tools.sh installs it)"
		exit 0
	fi
done

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${VIRMO_CORPUS:-$repo/../shared/corpus}
if [ ! -d "$corpus/messages" ]; then
	echo "libwbxml.sh: corpus not found at $corpus/messages (set VIRMO_CORPUS); skipping"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Convert each file once, keeping those libwbxml accepts.
files=""
wbxml_bytes=0
for xml in "$corpus"/messages/*.xml; do
	name=$(basename "$xml" .xml)
	if xml2wbxml -k -v 1.2 -o "$work/$name.wbxml" "$xml" >/dev/null 2>&1 &&
		wbxml2xml -m 0 -k -o "$work/$name.out.xml" "$work/$name.wbxml" >/dev/null 2>&1; then
		files="$files $name"
		size=$(wc -c <"$work/$name.wbxml")
		wbxml_bytes=$((wbxml_bytes + size))
	else
		echo "left out (rejected by libwbxml): $name.xml"
	fi
done
count=$(echo $files | wc -w)
echo "files: $count, WBXML bytes per round: $wbxml_bytes, rounds: $rounds"

now_ns() { date +%s%N; }

# report LABEL START_NS END_NS CALLS prints the time per call and MB/s.
report() {
	elapsed=$(($3 - $2))
	awk -v label="$1" -v ns="$elapsed" -v calls="$4" -v bytes="$((wbxml_bytes * rounds))" 'BEGIN {
		printf "%-22s %8.3f ms/call %8.3f MB/s\n", label, ns / calls / 1e6, bytes / (ns / 1e9) / 1e6
	}'
}

start=$(now_ns)
i=0
while [ "$i" -lt "$rounds" ]; do
	for name in $files; do
		xml2wbxml -k -v 1.2 -o "$work/$name.wbxml" "$corpus/messages/$name.xml" >/dev/null 2>&1
	done
	i=$((i + 1))
done
report "xml2wbxml (encode)" "$start" "$(now_ns)" $((count * rounds))

start=$(now_ns)
i=0
while [ "$i" -lt "$rounds" ]; do
	for name in $files; do
		wbxml2xml -m 0 -k -o "$work/$name.out.xml" "$work/$name.wbxml" >/dev/null 2>&1
	done
	i=$((i + 1))
done
report "wbxml2xml (decode)" "$start" "$(now_ns)" $((count * rounds))

start=$(now_ns)
i=0
while [ "$i" -lt "$rounds" ]; do
	for name in $files; do
		xml2wbxml >/dev/null 2>&1 || true
	done
	i=$((i + 1))
done
elapsed=$(($(now_ns) - start))
awk -v ns="$elapsed" -v calls="$((count * rounds))" 'BEGIN {
	printf "%-22s %8.3f ms/call (process start-up, no conversion)\n", "xml2wbxml (no args)", ns / calls / 1e6
}'
echo "files used:$files"
