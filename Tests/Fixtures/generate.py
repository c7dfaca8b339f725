#!/usr/bin/env python3
"""Writes the sysfs fixture trees under Tests/Fixtures/<machine>/cpu/.

Each tree is what /sys/devices/system/cpu looks like on that kind of machine, following
Documentation/admin-guide/pm/cpufreq.rst, intel_pstate.rst and amd-pstate.rst: policies in
cpufreq/policyN, per-CPU links cpuN/cpufreq -> ../cpufreq/policyN, online/offline/present
lists, per-CPU online files (none for CPU 0), topology ids, cpu_capacity on arm64.
The values are ours, modelled on the real trees in ../shared/validation/sysfs (not copied).
Git keeps neither file modes nor empty directories: the tests give every file the mode the
kernel gives it when they copy a tree (FixtureTree.swift). Run from anywhere:
    python3 Tests/Fixtures/generate.py
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_GOVERNORS = "conservative ondemand userspace powersave performance schedutil"
EPP_CHOICES = "default performance balance_performance balance_power power"


def cpulist(cpus):
    cpus = sorted(cpus)
    parts, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        parts.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(parts)


class Tree:
    def __init__(self, machine, ncpus, root=None):
        """Writes Tests/Fixtures/<machine>/cpu, or the directory `root` (as /sys/devices/system/cpu)."""
        if root:
            self.root = root
            shutil.rmtree(root, ignore_errors=True)
        else:
            self.root = os.path.join(HERE, machine, "cpu")
            shutil.rmtree(os.path.join(HERE, machine), ignore_errors=True)
        os.makedirs(self.root)
        self.ncpus = ncpus

    def write(self, rel, value):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"{value}\n")

    def cpus(self, offline=(), capacities=None, siblings=None, cluster=None, package=None):
        online = [c for c in range(self.ncpus) if c not in offline]
        self.write("online", cpulist(online))
        self.write("offline", cpulist(offline))
        self.write("possible", cpulist(range(self.ncpus)))
        self.write("present", cpulist(range(self.ncpus)))
        self.write("kernel_max", 8191)
        for c in range(self.ncpus):
            if c != 0:
                self.write(f"cpu{c}/online", 0 if c in offline else 1)
            core = siblings(c) if siblings else c
            threads = [t for t in range(self.ncpus) if (siblings(t) if siblings else t) == core]
            pkg = package(c) if package else 0
            self.write(f"cpu{c}/topology/physical_package_id", pkg)
            self.write(f"cpu{c}/topology/core_id", core)
            self.write(f"cpu{c}/topology/thread_siblings_list", cpulist(threads))
            self.write(f"cpu{c}/topology/core_cpus_list", cpulist(threads))
            self.write(f"cpu{c}/topology/package_cpus_list",
                       cpulist([t for t in range(self.ncpus) if (package(t) if package else 0) == pkg]))
            if cluster:
                self.write(f"cpu{c}/topology/cluster_id", cluster(c))
            if capacities:
                self.write(f"cpu{c}/cpu_capacity", capacities(c))

    def policy(self, n, related, online, driver, governor, governors, cpuinfo, scaling,
               latency_ns, table=None, extra=None, stats=None, cur=None):
        p = f"cpufreq/policy{n}"
        live = [c for c in related if c in online]
        self.write(f"{p}/related_cpus", " ".join(map(str, related)))
        self.write(f"{p}/affected_cpus", " ".join(map(str, live)))
        self.write(f"{p}/scaling_driver", driver)
        self.write(f"{p}/scaling_governor", governor)
        self.write(f"{p}/scaling_available_governors", governors + " ")
        self.write(f"{p}/cpuinfo_min_freq", cpuinfo[0])
        self.write(f"{p}/cpuinfo_max_freq", cpuinfo[1])
        self.write(f"{p}/cpuinfo_transition_latency", latency_ns)
        self.write(f"{p}/scaling_min_freq", scaling[0])
        self.write(f"{p}/scaling_max_freq", scaling[1])
        self.write(f"{p}/scaling_cur_freq", cur or scaling[1])
        self.write(f"{p}/scaling_setspeed", "<unsupported>")
        if table:
            self.write(f"{p}/scaling_available_frequencies", " ".join(map(str, table)) + " ")
        if stats:
            self.write(f"{p}/stats/time_in_state", "\n".join(f"{f} {t}" for f, t in stats))
            self.write(f"{p}/stats/total_trans", sum(t for _, t in stats) // 7)
        for name, value in (extra or {}).items():
            self.write(f"{p}/{name}", value)
        for c in related:
            link = os.path.join(self.root, f"cpu{c}", "cpufreq")
            os.symlink(f"../cpufreq/policy{n}", link)


def acpi_cpufreq_8cpu():
    """Xeon-like server: acpi-cpufreq, one policy per CPU, a P-state table with the
    turbo bin (fmax + 1 MHz), userspace governor available, 10 us transition latency."""
    t = Tree("acpi-cpufreq-8cpu", 8)
    t.cpus(siblings=lambda c: c % 4)
    table = [2601000, 2600000, 2400000, 2200000, 2000000, 1800000, 1600000, 1400000, 1200000]
    t.write("cpufreq/boost", 1)
    for c in range(8):
        t.policy(c, [c], range(8), "acpi-cpufreq", "schedutil", ALL_GOVERNORS,
                 (1200000, 2601000), (1200000, 2601000), 10000, table=table,
                 stats=[(f, 100 * (i + 1) + c) for i, f in enumerate(table)], cur=1600000,
                 extra={"cpuinfo_cur_freq": 1600000, "bios_limit": 2601000})


def epyc_96cpu(root):
    """The host scripts/bench-agent measures on, written to `root` when it runs (not kept
    here): a two-socket server of 24 two-thread cores per socket like an EPYC 7451 (CPU c and
    c + 48 share a core; CPUs 0-23 and 48-71 are package 0), acpi-cpufreq with a policy per
    CPU, three P-states (1.2, 1.8, 2.3 GHz), transition latency 0 (unknown), performance
    governor, core boost on."""
    t = Tree("epyc-96cpu", 96, root=root)
    t.cpus(siblings=lambda c: c % 48, package=lambda c: (c % 48) // 24)
    table = [2300000, 1800000, 1200000]
    t.write("cpufreq/boost", 1)
    for c in range(96):
        t.policy(c, [c], range(96), "acpi-cpufreq", "performance", ALL_GOVERNORS,
                 (1200000, 2300000), (1200000, 2300000), 0, table=table,
                 stats=[(2300000, 67000000 + c), (1800000, 9000 + c), (1200000, 420000 + c)], cur=2300000,
                 extra={"cpuinfo_cur_freq": 2300000, "bios_limit": 2300000, "cpb": 1,
                        "freqdomain_cpus": f"{c % 48} {c % 48 + 48}"})


def intel_pstate_hybrid():
    """Hybrid laptop: intel_pstate active (HWP), P-cores 0-3 (two cores, SMT) up to 4.7 GHz
    and E-cores 4-7 up to 3.5 GHz, no frequency table, EPP, transition latency 0."""
    t = Tree("intel-pstate-hybrid", 8)
    t.cpus(siblings=lambda c: c // 2 if c < 4 else c)
    for name, value in {"status": "active", "no_turbo": 0, "max_perf_pct": 100,
                        "min_perf_pct": 9, "hwp_dynamic_boost": 0, "num_pstates": 44,
                        "turbo_pct": 53}.items():
        t.write(f"intel_pstate/{name}", value)
    for c in range(8):
        top, base = (4700000, 2100000) if c < 4 else (3500000, 1600000)
        t.policy(c, [c], range(8), "intel_pstate", "powersave", "performance powersave",
                 (400000, top), (400000, top), 0, cur=1203512,
                 extra={"base_frequency": base, "energy_performance_preference": "balance_performance",
                        "energy_performance_available_preferences": EPP_CHOICES + " "})


def amd_pstate_epp():
    """Ryzen laptop: amd-pstate-epp (active), preferred cores 0-3 reach 5.137 GHz, the rest
    4.95 GHz, no table, EPP, scaling_min at the lowest non-linear frequency, 20 us."""
    t = Tree("amd-pstate-epp", 8)
    t.cpus(siblings=lambda c: c // 2)
    t.write("amd_pstate/status", "active")
    t.write("amd_pstate/prefcore", "enabled")
    for c in range(8):
        top, perf = (5137000, 196) if c < 4 else (4950000, 189)
        t.policy(c, [c], range(8), "amd-pstate-epp", "powersave", "performance powersave",
                 (400000, top), (1600000, top), 20000, cur=1600000,
                 extra={"energy_performance_preference": "balance_performance",
                        "energy_performance_available_preferences": EPP_CHOICES,
                        "amd_pstate_highest_perf": perf, "amd_pstate_max_freq": top,
                        "amd_pstate_lowest_nonlinear_freq": 1600000,
                        "amd_pstate_hw_prefcore": "enabled",
                        "amd_pstate_prefcore_ranking": 236 - 4 * c, "boost": 1})


def arm_big_little():
    """RK3399-like board: cpufreq-dt, LITTLE cluster CPUs 0-3 (capacity 485) and big
    cluster CPUs 4-5 (1024), one policy each, OPP tables, 40 us, time-in-state stats."""
    t = Tree("arm-big-little", 6)
    t.cpus(capacities=lambda c: 485 if c < 4 else 1024, cluster=lambda c: 0 if c < 4 else 1)
    little = [408000, 600000, 816000, 1008000, 1200000, 1416000]
    big = [408000, 600000, 816000, 1008000, 1200000, 1416000, 1608000, 1800000]
    t.policy(0, [0, 1, 2, 3], range(6), "cpufreq-dt", "schedutil", ALL_GOVERNORS,
             (408000, 1416000), (408000, 1416000), 40000, table=little, cur=816000,
             stats=[(f, 5000 - 600 * i) for i, f in enumerate(little)],
             extra={"cpuinfo_cur_freq": 816000})
    t.policy(4, [4, 5], range(6), "cpufreq-dt", "schedutil", ALL_GOVERNORS,
             (408000, 1800000), (408000, 1800000), 40000, table=big, cur=1008000,
             stats=[(f, 3000 - 300 * i) for i, f in enumerate(big)],
             extra={"cpuinfo_cur_freq": 1008000})


def arm_cppc_server():
    """Arm server: cppc_cpufreq, one policy per CPU, 1.0-3.0 GHz from CPPC with no table,
    userspace available, cpu_capacity 1024, transition latency CPUFREQ_ETERNAL (unknown)."""
    t = Tree("arm-cppc-server", 8)
    t.cpus(capacities=lambda c: 1024, cluster=lambda c: c // 2)
    for c in range(8):
        t.policy(c, [c], range(8), "cppc_cpufreq", "schedutil", ALL_GOVERNORS,
                 (1000000, 3000000), (1000000, 3000000), 4294967295, cur=3000000,
                 extra={"freqdomain_cpus": c, "cpuinfo_cur_freq": 2990000})


def offline_cpus():
    """Board with CPUs taken offline after boot: cpufreq-dt, policy0 = CPUs 0-3 of which 2-3
    are offline, policy4 = CPUs 4-7 all offline (an inactive policy); the links stay, as
    the kernel keeps them when a CPU goes offline."""
    t = Tree("offline-cpus", 8)
    offline = [2, 3, 4, 5, 6, 7]
    online = [0, 1]
    t.cpus(offline=offline, capacities=lambda c: 446 if c < 4 else 1024, cluster=lambda c: c // 4)
    table0 = [500000, 667000, 1000000, 1200000, 1398000]
    table4 = [500000, 667000, 1000000, 1200000, 1398000, 1512000, 1608000, 1704000, 1800000]
    t.policy(0, [0, 1, 2, 3], online, "cpufreq-dt", "ondemand", ALL_GOVERNORS,
             (500000, 1398000), (500000, 1398000), 300000, table=table0, cur=1000000)
    t.policy(4, [4, 5, 6, 7], online, "cpufreq-dt", "ondemand", ALL_GOVERNORS,
             (500000, 1800000), (500000, 1800000), 300000, table=table4)


def powercap():
    """RAPL zones as intel_rapl registers them: package-0 with core and uncore subzones."""
    root = os.path.join(HERE, "powercap-rapl", "powercap")
    shutil.rmtree(os.path.join(HERE, "powercap-rapl"), ignore_errors=True)
    zones = {"intel-rapl:0": ("package-0", 82_113_450_331),
             "intel-rapl:0:0": ("core", 41_007_112_905),
             "intel-rapl:0:1": ("uncore", 1_209_554_020)}
    for zone, (name, energy) in zones.items():
        os.makedirs(os.path.join(root, zone))
        for f, v in {"name": name, "energy_uj": energy, "max_energy_range_uj": 262143328850,
                     "enabled": 1}.items():
            with open(os.path.join(root, zone, f), "w") as out:
                out.write(f"{v}\n")
    os.makedirs(os.path.join(root, "intel-rapl"))
    with open(os.path.join(root, "intel-rapl", "enabled"), "w") as out:
        out.write("1\n")


def procfs_tree():
    """A /proc with the three files the kernel sampler reads, in the layouts of
    Documentation/filesystems/proc.rst (stat), scheduler/sched-stats.rst (schedstat version 15:
    9 counters per cpu line, then its domain lines) and accounting/psi.rst (pressure/cpu).
    4 CPUs; the values are ours (simple formulas of the CPU number, which the tests restate)."""
    root = os.path.join(HERE, "procfs-tree", "proc")
    shutil.rmtree(os.path.join(HERE, "procfs-tree"), ignore_errors=True)
    os.makedirs(os.path.join(root, "pressure"))
    # user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ
    cpus = [[5210 + 100 * c, 17 + c, 2310 + 10 * c, 90_500 + 1000 * c, 220 + c, 3, 410 + c, 0, 0, 0]
            for c in range(4)]
    total = [sum(column) for column in zip(*cpus)]
    lines = ["cpu  " + " ".join(map(str, total))]
    lines += [f"cpu{c} " + " ".join(map(str, times)) for c, times in enumerate(cpus)]
    lines += ["intr 1234567 0 9 0 0", "ctxt 9876543", "btime 1767225600", "processes 40213",
              "procs_running 2", "procs_blocked 0", "softirq 345678 0 1 2 3 4 5 6 7 8 9"]
    with open(os.path.join(root, "stat"), "w") as out:
        out.write("\n".join(lines) + "\n")
    # cpuN: yld_count(0) 0 sched_count sched_goidle ttwu_count ttwu_local run_ns wait_ns timeslices
    sched = ["version 15", "timestamp 4295123456"]
    for c in range(4):
        sched.append(f"cpu{c} 0 0 {81_000 + c} {30_000 + c} {52_000 + c} {20_000 + c} "
                     f"{7_000_000_000 + c} {900_000_000 + c} {1_500_000 + 1000 * c}")
        sched.append(f"domain0 0000000f " + " ".join(str(i + c) for i in range(45)))
    with open(os.path.join(root, "schedstat"), "w") as out:
        out.write("\n".join(sched) + "\n")
    with open(os.path.join(root, "pressure", "cpu"), "w") as out:
        out.write("some avg10=1.25 avg60=0.80 avg300=0.33 total=4180021\n"
                  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")


def laptop_power_supply():
    """/sys/class/power_supply of a laptop on AC (Documentation/ABI/testing/sysfs-class-power):
    the adapter AC (type Mains, online 1), the system battery BAT0 (type Battery, scope System
    unless said otherwise, 80 % and charging) and a wireless mouse's battery (scope Device, 5 %),
    which must not count as the system's."""
    root = os.path.join(HERE, "laptop-power-supply", "power_supply")
    shutil.rmtree(os.path.join(HERE, "laptop-power-supply"), ignore_errors=True)
    supplies = {
        "AC": {"type": "Mains", "online": 1},
        "BAT0": {"type": "Battery", "present": 1, "capacity": 80, "status": "Charging",
                 "technology": "Li-ion", "energy_full": 57_000_000, "energy_now": 45_600_000},
        "hidpp_battery_0": {"type": "Battery", "scope": "Device", "present": 1, "capacity": 5,
                            "status": "Discharging"},
    }
    for name, attributes in supplies.items():
        os.makedirs(os.path.join(root, name))
        for f, v in attributes.items():
            with open(os.path.join(root, name, f), "w") as out:
                out.write(f"{v}\n")


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--bench-host":
        epyc_96cpu(os.path.abspath(sys.argv[2]))
        sys.exit(0)
    for make in (laptop_power_supply, acpi_cpufreq_8cpu, intel_pstate_hybrid, amd_pstate_epp, arm_big_little,
                 arm_cppc_server, offline_cpus, powercap, procfs_tree):
        make()
