#!/bin/sh
# apt-sources.sh LIST SUITE [MIRROR [SECURITY_MIRROR]]
#
# Rewrites LIST (the base's sources.list, which debootstrap wrote) to SUITE,
# its updates and its security updates. MIRROR defaults to the mirror LIST
# already names, so the kit names no archive of its own; SECURITY_MIRROR
# defaults to MIRROR with "-security" appended, the layout of Debian's
# mirrors. An air-gapped site passes both (KIT_DEBIAN_MIRROR,
# KIT_DEBIAN_SECURITY_MIRROR).
set -eu
list=$1 suite=$2 mirror=${3:-} security=${4:-}
if [ -z "$mirror" ]; then
	# "deb [options] <mirror> <suite> <components>": the first such line.
	mirror=$(sed -nE "s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+$suite([[:space:]].*)?\$/\2/p" "$list" | head -n 1)
fi
if [ -z "$mirror" ]; then
	echo "apt-sources.sh: $list names no mirror of $suite; set KIT_DEBIAN_MIRROR" >&2
	exit 1
fi
[ -n "$security" ] || security="${mirror%/}-security"
printf 'deb %s %s main\n' \
	"$mirror" "$suite" \
	"$mirror" "$suite-updates" \
	"$security" "$suite-security" >"$list"
