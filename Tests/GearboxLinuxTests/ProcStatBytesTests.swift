import Foundation
import GearboxCore
import GearboxTestSupport
@testable import GearboxLinux
import Logging
import Synchronization
import Testing

/// The per-tick /proc/stat path: the byte parser and the reused read buffer must give what
/// the line parser gives.
@Suite("/proc/stat from bytes")
struct ProcStatBytesTests {
    /// A /proc/stat of `cpus` CPUs with the other lines the kernel prints.
    static func stat(cpus: Int, seed: UInt64) -> String {
        var lines = ["cpu  123 4 56 7890 12 0 3 0 0 0"]
        var x = seed
        func next() -> UInt64 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return (x >> 33) % 10_000_000_000
        }
        for cpu in 0..<cpus {
            lines.append("cpu\(cpu) \(next()) \(next()) \(next()) \(next()) \(next()) \(next()) \(next()) \(next()) 0 0")
        }
        lines += ["intr 1234 5 6 7", "ctxt 99", "btime 1700000000", "processes 5", "procs_running 2", "procs_blocked 0",
                  "softirq 1 2 3 4 5 6 7 8 9 10 11"]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("agrees with the line parser on real and generated files, odd spacing and old kernels' short lines",
          arguments: [
              try! String(contentsOf: procFixtures.appendingPathComponent("stat.before"), encoding: .utf8),
              try! String(contentsOf: procFixtures.appendingPathComponent("stat.after"), encoding: .utf8),
              stat(cpus: 96, seed: 1),
              "cpu0\t1  2 3\t 4\ncpu1 5 6 7 8 9 10 11 12 13 14\n  cpu2 1 1 1 1",
              "cpu3 18446744073709551615 0 0 1\n\nintr 1\n",
              "cpu+1 1 2 3 4\n",
              "",
          ])
    func agrees(text: String) throws {
        #expect(try ProcStatSnapshot.parse(text) == ProcStatSnapshot.parseReportingErrors(text, file: "/proc/stat"))
        let bytes = Array(text.utf8)
        let fromBytes = try bytes.withUnsafeBufferPointer { try ProcStatSnapshot.parse(bytes: $0) }
        #expect(fromBytes == (try ProcStatSnapshot.parseReportingErrors(text, file: "/proc/stat")))
    }

    @Test("malformed lines from bytes: the same errors as from text")
    func errors() {
        for text in ["cpu  1 2 3 4\ncpu0 1 2 3 4 5\ncpu1 10 x 30 40\n", "cpu7 1 2 3\n", "cpux 1 2 3 4\n", "cpu1 1 2 3 4\ncpu1 1 2 3 4\n",
                     "cpu2 1 2 3 99999999999999999999\n"] {
            let bytes = Array(text.utf8)
            var fromText: ProcParseError?
            var fromBytes: ProcParseError?
            do { _ = try ProcStatSnapshot.parseReportingErrors(text, file: "f") } catch { fromText = error }
            do { _ = try bytes.withUnsafeBufferPointer { try ProcStatSnapshot.parse(bytes: $0, file: "f") } } catch { fromBytes = error as? ProcParseError }
            #expect(fromText != nil, "\(text)")
            #expect(fromBytes == fromText, "\(text)")
        }
    }

    @Test("sampleStat reads files longer than its buffer, and a shorter file after a longer one leaves nothing stale")
    func reusedBuffer() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sampler = KernelSampler(procRoot: directory.path)
        var buffer: [UInt8] = []
        for (cpus, seed) in [(300, UInt64(1)), (2, 2), (96, 3)] {
            let text = Self.stat(cpus: cpus, seed: seed)
            try text.write(toFile: directory.file("stat"), atomically: true, encoding: .utf8)
            let sampled = try sampler.sampleStat(buffer: &buffer)
            #expect(sampled == (try ProcStatSnapshot.parse(text)))
            #expect(sampled.cpus.count == cpus)
        }
        #expect(buffer.count >= Self.stat(cpus: 300, seed: 1).utf8.count)
        #expect(throws: KernelSampleError.self) {
            try KernelSampler(procRoot: directory.file("missing")).sampleStat(buffer: &buffer)
        }
    }

    @Test("through a kept-open descriptor: rewrites in place of other lengths are read whole, and the real /proc/stat counts on")
    func keptOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sampler = KernelSampler(procRoot: directory.path)
        let file = sampler.statFile()
        var buffer: [UInt8] = []
        #expect(throws: KernelSampleError.self) { try sampler.sampleStat(buffer: &buffer, keptOpen: file) }
        for (cpus, seed) in [(96, UInt64(4)), (300, 5), (2, 6), (96, 7)] {
            let text = Self.stat(cpus: cpus, seed: seed)
            // In place, as the kernel's file stays the same file (and the benchmark rewrites its fake one).
            try text.write(toFile: directory.file("stat"), atomically: false, encoding: .utf8)
            let sampled = try sampler.sampleStat(buffer: &buffer, keptOpen: file)
            #expect(sampled == (try ProcStatSnapshot.parse(text)))
        }
        let real = KernelSampler()
        let realFile = real.statFile()
        let first = try real.sampleStat(buffer: &buffer, keptOpen: realFile)
        let busy = first.cpus.keys.sorted()
        var later = first
        // The kernel's counters only grow; wait until one of them has (a tick is 10 ms).
        #expect(waitUntil(timeout: .seconds(10)) {
            later = (try? real.sampleStat(buffer: &buffer, keptOpen: realFile)) ?? first
            return later != first
        })
        #expect(later.cpus.keys.sorted() == busy)
        for cpu in busy { #expect(later.cpus[cpu]!.total >= first.cpus[cpu]!.total) }
    }
}

@Suite("Dry run")
struct DryRunWriterTests {
    @Test("the first store of each value to each CPU's file is logged at info, repeats only at debug")
    func repeatsAtDebug() throws {
        let log = CapturedLog()
        let writer = DryRunFrequencyWriter(logger: log.logger(level: .debug))
        for _ in 0..<3 {
            try writer.setSpeed(Kilohertz(1_200_000), cpu: 0)
            try writer.setSpeed(Kilohertz(2_300_000), cpu: 0)
        }
        try writer.setSpeed(Kilohertz(1_200_000), cpu: 1)
        try writer.setMinimum(Kilohertz(1_200_000), cpu: 1)
        try writer.setGovernor("userspace", cpu: 1)
        try writer.setGovernor("userspace", cpu: 1)
        let records = log.records.withLock { $0 }
        #expect(records.filter { $0.level == .info }.map(\.message) == [
            "dry run: would write 1200000 to cpu0/cpufreq/scaling_setspeed",
            "dry run: would write 2300000 to cpu0/cpufreq/scaling_setspeed",
            "dry run: would write 1200000 to cpu1/cpufreq/scaling_setspeed",
            "dry run: would write 1200000 to cpu1/cpufreq/scaling_min_freq",
            "dry run: would write userspace to cpu1/cpufreq/scaling_governor",
        ])
        #expect(records.filter { $0.level == .debug }.count == 5)
        // At the agent's default level the repeats cost no record at all.
        let quiet = CapturedLog()
        let infoWriter = DryRunFrequencyWriter(logger: quiet.logger(level: .info))
        for _ in 0..<100 { try infoWriter.setSpeed(Kilohertz(1_200_000), cpu: 0) }
        #expect(quiet.records.withLock { $0.count } == 1)
    }
}
