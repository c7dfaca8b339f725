#!/bin/sh
# Boots systemd as PID 1 of fresh cgroup, mount and PID namespaces, with nothing to start
# but an empty target, so that a test can load gearboxd's real unit files into a real
# service manager and watch the sandbox at work (SystemdUnitSandboxTests).
#
#   boot.sh CGROUP_DIR
#
# CGROUP_DIR: a new directory in a cgroup2 hierarchy; this shell moves itself into it,
# so the namespace's cgroup root is that directory and nothing is created elsewhere.
# The host's /run, /proc and /sys/fs/cgroup are replaced inside the namespace only
# (private propagation). Stop it by killing systemd (CGROUP_DIR/init.scope/cgroup.procs).
set -eu
cgroup="$1"
mkdir "$cgroup"
echo $$ > "$cgroup/cgroup.procs"
exec unshare --cgroup --mount --pid --fork --propagation private /bin/sh -c '
set -eu
mount -t tmpfs tmpfs /run
mount -t proc proc /proc
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /run/systemd/system
printf "[Unit]\nDescription=gearbox sandbox test\nDefaultDependencies=no\n" > /run/systemd/system/gearbox-test.target
exec env container=gearbox-test /lib/systemd/systemd --unit=gearbox-test.target
'
