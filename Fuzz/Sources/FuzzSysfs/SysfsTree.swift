#if canImport(Glibc)
import Glibc
#endif

/// A small sysfs-shaped tree on tmpfs whose value files the fuzzer rewrites for every input:
/// `cpu/` (two CPUs, cpu0 with topology and a cpufreq directory) and `powercap/intel-rapl:0`.
enum SysfsTree {
    /// The files the input's NUL-separated pieces are written to, in order. A file with no
    /// piece is removed, so the readers also meet missing files.
    static let valueFiles = [
        "cpu/present", "cpu/online", "cpu/cpu0/online", "cpu/cpu1/online", "cpu/cpu0/cpu_capacity",
        "cpu/cpu0/topology/physical_package_id", "cpu/cpu0/topology/core_id", "cpu/cpu0/topology/cluster_id",
        "cpu/cpu0/cpufreq/scaling_setspeed", "cpu/cpu0/cpufreq/energy_performance_preference",
        "cpu/cpu0/cpufreq/scaling_min_freq", "cpu/cpu0/cpufreq/scaling_max_freq", "cpu/cpu0/cpufreq/scaling_governor",
        "powercap/intel-rapl:0/energy_uj", "powercap/intel-rapl:0/max_energy_range_uj", "powercap/intel-rapl:0/name",
    ]

    static let directories = [
        "cpu", "cpu/cpu0", "cpu/cpu1", "cpu/cpu0/topology", "cpu/cpu0/cpufreq", "powercap", "powercap/intel-rapl:0",
    ]

    /// A fresh tree under /dev/shm (or /tmp), made once per process.
    static let root: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let root = "\(base)/gearbox-fuzz-sysfs.\(getpid())"
        for directory in [""] + directories where mkdir("\(root)/\(directory)", 0o755) != 0 && errno != EEXIST {
            fatalError("cannot make \(root)/\(directory): errno \(errno)")
        }
        atexit { SysfsTree.remove() }
        return root
    }()

    /// Removes the tree (libFuzzer leaves through `exit`, so this runs at the end of a run).
    static func remove() {
        for file in valueFiles { unlink("\(root)/\(file)") }
        for directory in directories.reversed() + [""] { rmdir("\(root)/\(directory)") }
    }

    /// Writes `pieces[i]` to `valueFiles[i]`, removing the files beyond the pieces.
    static func write(_ pieces: [UnsafeBufferPointer<UInt8>]) {
        for (i, file) in valueFiles.enumerated() {
            let path = "\(root)/\(file)"
            guard i < pieces.count else {
                unlink(path)
                continue
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { fatalError("cannot write \(path): errno \(errno)") }
            if pieces[i].count > 0 { _ = Glibc.write(fd, pieces[i].baseAddress, pieces[i].count) }
            close(fd)
        }
    }
}
