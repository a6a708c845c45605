#!/bin/sh
# systemctl of the simulated VPS, which has no systemd: every call is
# logged to /var/log/simulated-systemctl.log (what a container leaves out)
# and succeeds; a restart of docker or ssh is done by hand, since those
# daemons run here (vps-init.sh starts them).
echo "$(date -u +%FT%TZ) systemctl $*" >>/var/log/simulated-systemctl.log
case "$1 ${2:-}" in
"restart ssh" | "restart ssh.service" | "reload ssh" | "reload ssh.service")
	[ -f /run/sshd.pid ] && kill -HUP "$(cat /run/sshd.pid)"
	;;
esac
exit 0
