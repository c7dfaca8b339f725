/// Position of each CPU number in a list of CPU numbers: a table indexed by number, since
/// CPU numbers are small (at most `InputLimits.maximumCPU`), so that the per-CPU loops of the
/// latency model look CPUs up without hashing. Numbers out of the table's range (negative,
/// or from a caller that bypassed the input checks) fall back to a dictionary.
struct CPUIndex: Sendable {
    private var table: [Int32]
    private var others: [Int: Int] = [:]

    /// The first position of each number in `cpus`.
    init(_ cpus: [Int]) {
        let top = cpus.reduce(-1) { max($0, $1) }
        table = [Int32](repeating: -1, count: min(top, InputLimits.maximumCPU) + 1)
        for (i, cpu) in cpus.enumerated() {
            if cpu >= 0 && cpu < table.count && i <= Int(Int32.max) {
                if table[cpu] < 0 { table[cpu] = Int32(i) }
            } else if others[cpu] == nil {
                others[cpu] = i
            }
        }
    }

    subscript(cpu: Int) -> Int? {
        if cpu >= 0 && cpu < table.count {
            let i = table[cpu]
            return i >= 0 ? Int(i) : nil
        }
        return others[cpu]
    }
}
