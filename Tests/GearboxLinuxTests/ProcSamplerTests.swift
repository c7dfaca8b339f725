import Foundation
import GearboxLinux
import Testing

let procFixtures = FixtureTree.fixturesRoot.appendingPathComponent("proc")

@Suite("Kernel sampling: /proc/stat, /proc/schedstat, /proc/pressure/cpu")
struct ProcSamplerTests {
    @Test("busy fractions from a recorded pair of /proc/stat snapshots match the hand computation")
    func recordedBusyFractions() throws {
        let before = try ProcStatSnapshot.parse(String(contentsOf: procFixtures.appendingPathComponent("stat.before"), encoding: .utf8))
        let after = try ProcStatSnapshot.parse(String(contentsOf: procFixtures.appendingPathComponent("stat.after"), encoding: .utf8))
        let busy = after.busyFractions(since: before)
        // cpu0: user 40876→40924 (+48), nice +0, system 6894→6898 (+4), idle 76606→76748 (+142),
        //       iowait +0, irq +0, softirq +0, steal 2839→2857 (+18).
        //       busy = 48 + 4 = 52; total = 52 + 142 + 18 = 212; 52/212.
        // cpu1: user 43463→43602 (+139), system 8148→8150 (+2), idle 68782→68828 (+46),
        //       steal 3189→3204 (+15). busy = 141; total = 141 + 46 + 15 = 202; 141/202.
        #expect(busy.keys.sorted() == [0, 1])
        #expect(abs(busy[0]! - 52.0 / 212.0) < 1e-12)
        #expect(abs(busy[1]! - 141.0 / 202.0) < 1e-12)
    }

    @Test("a cpu line with a word where a counter should be: error names file, line and field")
    func malformedStat() throws {
        let text = "cpu  1 2 3 4\ncpu0 1 2 3 4 5\ncpu1 10 x 30 40\n"
        #expect(throws: ProcParseError(file: "/proc/stat", line: 3, message: "cpu1 field 2 \"x\" is not a number")) {
            try ProcStatSnapshot.parse(text)
        }
        #expect(throws: ProcParseError(file: "stat", line: 1, message: "cpu7 has 3 counters, expected at least 4 (user nice system idle)")) {
            try ProcStatSnapshot.parse("cpu7 1 2 3\n", file: "stat")
        }
    }

    @Test("counters that go backwards (CPU re-onlined) or do not move give no fraction")
    func unusableDeltas() throws {
        let a = try ProcStatSnapshot.parse("cpu0 100 0 0 100\ncpu1 5 0 0 5\ncpu2 1 0 0 1\n")
        let b = try ProcStatSnapshot.parse("cpu0 10 0 0 10\ncpu1 5 0 0 5\ncpu3 1 0 0 1\n")
        #expect(b.busyFractions(since: a).isEmpty)
    }

    @Test("schedstat: run-queue delay per timeslice from two readings")
    func schedstat() throws {
        let first = """
            version 15
            timestamp 4294892345
            cpu0 0 0 100 50 80 40 5000000000 2000000000 400
            domain0 00000003 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36
            cpu1 0 0 100 50 80 40 5000000000 1000000000 100
            """
        let second = first.replacingOccurrences(of: "2000000000 400", with: "2600000000 700")
            .replacingOccurrences(of: "1000000000 100", with: "1000000000 100")
        let a = try SchedstatSnapshot.parse(first)
        let b = try SchedstatSnapshot.parse(second)
        #expect(a.version == 15)
        // cpu0: 0.6 s more waiting over 300 more timeslices = 2 ms each; cpu1 ran no new slices.
        #expect(b.runQueueDelays(since: a) == [0: 0.002])
        #expect(throws: ProcParseError(file: "/proc/schedstat", line: 2, message: "cpu0 has 7 counters, expected 9")) {
            try SchedstatSnapshot.parse("version 15\ncpu0 1 2 3 4 5 6 7\n")
        }
        #expect(throws: ProcParseError(file: "/proc/schedstat", line: 1, message: "schedstat version 14 is not supported (15 to 17 are)")) {
            try SchedstatSnapshot.parse("version 14\n")
        }
    }

    @Test("CPU pressure: some and full lines, stalled fraction between readings")
    func pressure() throws {
        let text = try String(contentsOf: procFixtures.appendingPathComponent("pressure-cpu"), encoding: .utf8)
        let reading = try CPUPressure.parse(text)
        #expect(reading.full != nil)
        let a = try CPUPressure.parse("some avg10=1.50 avg60=2.00 avg300=3.00 total=1000000\n")
        let b = try CPUPressure.parse("some avg10=1.50 avg60=2.00 avg300=3.00 total=1250000\n")
        #expect(a.some.average10 == 1.5 && a.full == nil)
        #expect(b.stalledFraction(since: a, elapsedSeconds: 2) == 0.125)
        #expect(throws: ProcParseError(file: "/proc/pressure/cpu", line: 2, message: "full avg60 is missing or not a number")) {
            try CPUPressure.parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=x avg300=0.00 total=0\n")
        }
    }

    static let procfsTree = FixtureTree.fixturesRoot.appendingPathComponent("procfs-tree/proc")

    @Test("the sampler reads /proc/stat, schedstat and pressure/cpu from a fixture tree")
    func samplerOnFixtureTree() throws {
        let sample = try KernelSampler(procRoot: Self.procfsTree.path).sample()
        #expect(sample.stat.cpus.keys.sorted() == [0, 1, 2, 3])
        // generate.py writes cpuN as user 5210 + 100N, nice 17 + N, system 2310 + 10N,
        // idle 90500 + 1000N, iowait 220 + N, irq 3, softirq 410 + N, steal 0.
        #expect(sample.stat.cpus[2] == CPUTimes(user: 5410, nice: 19, system: 2330, idle: 92_500, iowait: 222, irq: 3,
                                                softirq: 412))
        // schedstat cpuN: wait 900,000,000 + N ns, timeslices 1,500,000 + 1000N.
        #expect(sample.schedstat?.version == 15)
        #expect(sample.schedstat?.cpus.keys.sorted() == [0, 1, 2, 3])
        #expect(sample.schedstat?.cpus[1]?.timeslices == 1_501_000)
        #expect(sample.schedstat?.cpus[3]?.waitNanoseconds == 900_000_003)
        #expect(sample.pressure?.some.totalMicroseconds == 4_180_021)
        #expect(sample.pressure?.full?.totalMicroseconds == 0)
    }

    @Test("without schedstat and pressure (no CONFIG_SCHEDSTATS, no PSI) the sampler reads /proc/stat alone")
    func samplerWithoutOptionalFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.copyItem(atPath: Self.procfsTree.appendingPathComponent("stat").path, toPath: directory.file("stat"))
        let sample = try KernelSampler(procRoot: directory.path).sample()
        #expect(sample.stat.cpus.count == 4)
        #expect(sample.schedstat == nil && sample.pressure == nil)
        // And this machine's own /proc, whichever optional files it has.
        #expect(try !KernelSampler().sample().stat.cpus.isEmpty)
    }
}
