#!/bin/sh
# Run inside the namespaces of boot.sh (nsenter -m -p): installs systemd/gearboxd.service
# and gearboxd.socket unchanged, plus a drop-in that only (a) drops the boot-time
# dependencies this empty system does not have and (b) replaces ExecStart= with a script
# that tries what gearboxd does, then execs the Swift probe (sd_notify READY ... STOPPING)
# as the main process. Prints KEY=VALUE lines for the test.
#
#   check.sh UNIT_DIR PROBE
set -u
units="$1"
probe="$2"

# ProtectHome= and PrivateTmp= hide /home, /root, /tmp and /var/tmp from the service, where a
# checkout (a CI runner's home) or a Swift toolchain may lie: the probe, and any library it
# loads from there, run from a copy in this namespace's /run, which the unit lets it read.
staged=/run/gearbox-sandbox-bin
mkdir -p "$staged"
cp "$probe" "$staged/"
for library in $(ldd "$probe" | awk '{ for (i = 1; i <= NF; i++) if (substr($i, 1, 1) == "/") print $i }'); do
    case "$library" in
        /home/*|/root/*|/tmp/*|/var/tmp/*|/run/user/*) cp "$library" "$staged/" ;;
    esac
done
probe="$staged/$(basename "$probe")"

# A cpufreq fixture over /sys/devices/system/cpu, as in the agent's tests.
mount -t tmpfs cpufreq-fixture /sys/devices/system/cpu
mkdir -p /sys/devices/system/cpu/cpufreq/policy0
echo 1800000 > /sys/devices/system/cpu/cpufreq/policy0/scaling_setspeed

cp "$units/gearboxd.service" "$units/gearboxd.socket" /run/systemd/system/
mkdir -p /run/systemd/system/gearboxd.service.d /run/systemd/system/gearboxd.socket.d
printf "[Unit]\nDefaultDependencies=no\n" > /run/systemd/system/gearboxd.socket.d/test.conf
cat > /run/gearbox-sandbox-payload.sh <<PAYLOAD
#!/bin/sh
exec > /run/gearbox/report 2>&1
echo 408000 > /sys/devices/system/cpu/cpufreq/policy0/scaling_setspeed && echo cpufreq_write=ok || echo cpufreq_write=refused
echo 1 > /sys/kernel/mm/ksm/run 2>/dev/null && echo other_sys_write=ok || echo other_sys_write=refused
touch /etc/gearbox-sandbox-test 2>/dev/null && echo etc_write=ok || echo etc_write=refused
echo ok > /var/lib/gearbox/state && echo state_write=ok || echo state_write=refused
head -c 3 /proc/stat | grep -q cpu && echo proc_stat=ok || echo proc_stat=refused
echo uid=\$(id -u)
echo cap_eff=\$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)
echo cap_bnd=\$(sed -n "s/^CapBnd:[[:space:]]*//p" /proc/self/status)
echo no_new_privs=\$(sed -n "s/^NoNewPrivs:[[:space:]]*//p" /proc/self/status)
echo seccomp=\$(sed -n "s/^Seccomp:[[:space:]]*//p" /proc/self/status)
exec env LD_LIBRARY_PATH=$staged "$probe" notify 1
PAYLOAD
chmod 0755 /run/gearbox-sandbox-payload.sh
cat > /run/systemd/system/gearboxd.service.d/test.conf <<DROPIN
[Unit]
DefaultDependencies=no
[Service]
ExecStart=
ExecStart=/run/gearbox-sandbox-payload.sh
DROPIN

systemctl daemon-reload
systemctl start gearboxd.socket
echo socket_mode=$(stat -c %A /run/gearbox/control.sock)
systemctl start gearboxd.service
echo start_status=$?
# The probe exits after STOPPING=1; wait for the service to settle (up to 60 s, a loaded machine).
for _ in $(seq 300); do
    [ "$(systemctl show -P ActiveState gearboxd.service)" = inactive ] && break
    sleep 0.2
done
echo result=$(systemctl show -P Result gearboxd.service)
echo exec_main_status=$(systemctl show -P ExecMainStatus gearboxd.service)
echo status_text=$(systemctl show -P StatusText gearboxd.service)
echo socket_after_stop=$(test -S /run/gearbox/control.sock && echo present || echo gone)
echo fixture_now=$(cat /sys/devices/system/cpu/cpufreq/policy0/scaling_setspeed)
test -e /etc/gearbox-sandbox-test && echo etc_file=created && rm -f /etc/gearbox-sandbox-test
cat /run/gearbox/report
systemd-analyze security --no-pager gearboxd.service | sed -n "s/^.*Overall exposure level for gearboxd.service: \([0-9.]*\).*/online_exposure=\1/p"
