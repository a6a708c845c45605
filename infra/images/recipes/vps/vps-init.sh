#!/bin/sh
# PID 1 of the simulated VPS: the boot of a cloud server, in the order
# systemd would run it, minus what a container cannot do.
#   1. cloud-init's local and network stages (users, SSH host key,
#      write_files, bootcmd) from the NoCloud seed;
#   2. sshd, as ssh.service starts after cloud-init.service;
#   3. cloud-init's config stage, then dockerd (on a VPS the docker.io
#      package starts it in the final stage), then the final stage
#      (packages, runcmd, the kit's marker);
# then it waits, stopping dockerd and sshd on SIGTERM.
set -u
log() { echo "vps-init: $*"; }
# Written at the end of every boot (a restart of the container is a reboot).
rm -f /run/simulated-vps.booted

# Mount propagation for containers started inside.
mount --make-rshared / 2>/dev/null || true

log "cloud-init init --local"
cloud-init init --local || log "cloud-init local stage failed"
log "cloud-init init"
cloud-init init || log "cloud-init network stage failed"

mkdir -p /run/sshd
if [ -f /etc/ssh/ssh_host_ed25519_key ]; then
	/usr/sbin/sshd -E /var/log/sshd.log && log "sshd started"
else
	log "no /etc/ssh/ssh_host_ed25519_key after cloud-init: sshd not started"
fi

log "cloud-init modules --mode=config"
cloud-init modules --mode=config || log "cloud-init config stage failed"

# The units docker.service wants (enabled with WantedBy=docker.service),
# started before it, as systemd orders the kit's (Before=docker.service).
for u in /etc/systemd/system/docker.service.wants/*.service; do
	[ -e "$u" ] || continue
	if systemctl start "${u##*/}"; then
		log "${u##*/} started (wanted by docker.service)"
	else
		log "${u##*/} failed"
	fi
done

dockerd >>/var/log/dockerd.log 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 60 ]; then
		log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
		break
	fi
	sleep 1
done
log "dockerd up"

log "cloud-init modules --mode=final"
cloud-init modules --mode=final || log "cloud-init final stage failed"
log "boot done: $(cloud-init status 2>&1 | tr '\n' ' ')"
touch /run/simulated-vps.booted

stop() {
	log "stopping"
	[ -f /run/sshd.pid ] && kill "$(cat /run/sshd.pid)" 2>/dev/null
	pkill dockerd 2>/dev/null
	i=0
	while pgrep -x dockerd >/dev/null && [ "$i" -lt 20 ]; do
		sleep 1
		i=$((i + 1))
	done
	exit 0
}
trap stop TERM INT
while :; do
	sleep 3600 &
	wait $!
done
