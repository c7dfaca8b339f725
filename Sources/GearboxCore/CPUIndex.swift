/// The position of each CPU number in a list of CPU numbers (where a number appears twice,
/// its last position). A table indexed by number, since Linux CPU numbers are small (at most
/// `InputLimits.maximumCPU`): the planning and latency models look CPUs up for every CPU of
/// every queue, several times per plan, and a dictionary's hashing showed in their cost.
/// Numbers outside that range (not a Linux host) fall back to a dictionary.
struct CPUIndex: Sendable {
    private var table: [Int32]
    private var others: [Int: Int] = [:]

    init(numbers: [Int]) {
        let top = numbers.reduce(-1) { max($0, $1) }
        table = [Int32](repeating: -1, count: min(top, InputLimits.maximumCPU) + 1)
        for (i, cpu) in numbers.enumerated() {
            if cpu >= 0 && cpu < table.count && i <= Int(Int32.max) {
                table[cpu] = Int32(i)
            } else {
                others[cpu] = i
            }
        }
    }

    func callAsFunction(_ cpu: Int) -> Int? {
        if cpu >= 0 && cpu < table.count {
            let i = table[cpu]
            return i >= 0 ? Int(i) : nil
        }
        return others[cpu]
    }

    /// The positions of those of `cpus` the list has, ascending.
    func indices(of cpus: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cpus.count)
        for cpu in cpus {
            if let i = self(cpu) { out.append(i) }
        }
        // Lists of CPUs mostly come ascending already.
        for k in out.indices.dropFirst() where out[k - 1] > out[k] { return out.sorted() }
        return out
    }
}
