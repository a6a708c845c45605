#!/bin/sh
# systemctl of the simulated VPS, which has no systemd: every call is
# logged to /var/log/simulated-systemctl.log (what a container leaves out);
# what the container can honour is done by hand:
#   - restart or reload of ssh: a HUP to sshd (vps-init.sh starts it);
#   - enable UNIT: the link into the .wants directory of each of its
#     WantedBy= units, as systemd makes it (vps-init.sh starts the units
#     docker.service wants before dockerd, as systemd would);
#   - start or restart UNIT, enable --now UNIT: a unit of
#     /etc/systemd/system with an ExecStart (the kit's oneshot units) runs
#     it, and fails as it fails.
# Everything else succeeds without doing anything.
echo "$(date -u +%FT%TZ) systemctl $*" >>/var/log/simulated-systemctl.log

unit_file() {
	case "$1" in
	*.service) f=/etc/systemd/system/$1 ;;
	*) f=/etc/systemd/system/$1.service ;;
	esac
	[ -f "$f" ] && echo "$f"
}

run_unit() {
	f=$(unit_file "$1") || return 0
	cmd=$(sed -n 's/^ExecStart=//p' "$f")
	[ -z "$cmd" ] && return 0
	echo "$(date -u +%FT%TZ)   runs $cmd" >>/var/log/simulated-systemctl.log
	sh -c "$cmd"
}

case "$1 ${2:-}" in
"restart ssh" | "restart ssh.service" | "reload ssh" | "reload ssh.service")
	[ -f /run/sshd.pid ] && kill -HUP "$(cat /run/sshd.pid)"
	exit 0
	;;
esac

case "$1" in
start | restart)
	run_unit "${2:-}"
	exit $?
	;;
enable)
	shift
	now=
	if [ "${1:-}" = --now ]; then
		now=1
		shift
	fi
	if f=$(unit_file "${1:-}"); then
		for w in $(sed -n 's/^WantedBy=//p' "$f"); do
			mkdir -p "/etc/systemd/system/$w.wants"
			ln -sf "$f" "/etc/systemd/system/$w.wants/"
		done
	fi
	if [ -n "$now" ]; then
		run_unit "${1:-}"
		exit $?
	fi
	;;
esac
exit 0
