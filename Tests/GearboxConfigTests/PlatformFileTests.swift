import GearboxCore
import Testing
@testable import GearboxConfig

@Suite struct PlatformFileTests {
    static let twoDomains = """
        [[domain]]
        name = "little"
        cpus = "0-3"
        capacity = 381
        idle_watts = 0.005
        opp = [ { khz = 408000, watts = 0.028 }, { khz = 1416000, watts = 0.179 } ]

        [[domain]]
        cpus = "4-5"
        idle_watts = 0.015
        frequencies_khz = [600000, 1800000, 1200000]
        power = { static_watts = 0.1, dynamic_watts = 1.0 }
        transition_latency_us = 0
        """

    @Test func readsTablesAndParametricPower() throws {
        let platform = try PlatformFile.parse(Self.twoDomains, file: "p.toml")
        #expect(platform.domains.map(\.name) == ["little", "policy4"])
        #expect(platform.cpus == [0, 1, 2, 3, 4, 5])
        let big = platform.domains[1]
        // No capacity given: 1024 x its top frequency / the platform's top frequency.
        #expect(big.capacity == 1024)
        #expect(big.operatingPoints.map(\.frequency.value) == [600000, 1200000, 1800000])
        // P = 0.1 + 1.0 x (f/fmax)^3, computed independently here.
        let ratio = 1_200_000.0 / 1_800_000.0
        let expected = 0.1 + 1.0 * ratio * ratio * ratio
        #expect(abs(big.operatingPoints[1].busyPower.value - expected) < 1e-12)
        #expect(big.transitionLatencyMicroseconds == nil)
        #expect(platform.domains[0].operatingPoints[1].busyPower == Watts(0.179))
        #expect(abs(platform.domains[0].speed(at: Kilohertz(1416000)) - 381.0 / 1024) < 1e-12)
    }

    @Test func capacityDefaultsToRelativeTopFrequency() throws {
        let text = """
            [[domain]]
            cpus = "0"
            frequencies_khz = [1000000]
            power = { dynamic_watts = 1 }
            [[domain]]
            cpus = "1"
            frequencies_khz = [500000, 2000000]
            power = { dynamic_watts = 1 }
            """
        let platform = try PlatformFile.parse(text, file: "p.toml")
        #expect(platform.domains.map(\.capacity) == [512, 1024])
    }

    @Test(arguments: [
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = 1, watts = 1 }]\ncolour = 3", 4, "domain[1].colour", "unknown field"),
        ("[[domain]]\ncpus = 3.5\nopp = [{ khz = 1, watts = 1 }]", 2, "domain[1].cpus", "expected a string"),
        ("[[domain]]\ncpus = \"0-\"\nopp = [{ khz = 1, watts = 1 }]", 2, "domain[1].cpus", "not a cpulist"),
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = 1, watts = 1 }]\n[[domain]]\ncpus = \"0-1\"\nopp = [{ khz = 1, watts = 1 }]", 5, "domain[2].cpus", "CPU 0 is already in domain domain[1]"),
        ("[[domain]]\ncpus = \"0\"\ncapacity = 2000\nopp = [{ khz = 1, watts = 1 }]", 3, "domain[1].capacity", "(0, 1024]"),
        ("[[domain]]\ncpus = \"0\"\nidle_watts = -1\nopp = [{ khz = 1, watts = 1 }]", 3, "domain[1].idle_watts", "≥ 0"),
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = -5, watts = 1 }]", 3, "domain[1].opp[1].khz", "> 0"),
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = 5, watt = 1 }]", 3, "domain[1].opp[1]", "missing required field \"watts\""),
        ("[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1, 2]", 1, "domain[1]", "power"),
        ("[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1, 2]\npower = { dynamic_watts = 1, exponent = \"3\" }", 4, "domain[1].power.exponent", "expected a number"),
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = 1, watts = 1 }, { khz = 1, watts = 2 }]", 3, "domain[1].opp", "appears twice"),
        ("[[domain]]\ncpus = \"0\"", 1, "domain[1]", "missing required field \"opp\""),
        ("[[queue]]\nname = \"x\"", 1, "queue", "unknown field"),
    ])
    func refusesEachKindOfMistakeNamingLineAndField(text: String, line: Int, field: String, message: String) {
        #expect {
            try PlatformFile.parse(text, file: "bad.toml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.file == "bad.toml" && error.line == line && error.field == field && error.message.contains(message)
        }
    }

    @Test func errorsPrintAsOneLine() {
        let error = ConfigError(file: "a.toml", line: 3, field: "domain[1].cpus", message: "bad")
        #expect(error.description == "a.toml:3: domain[1].cpus: bad")
        #expect(!error.description.contains("\n"))
    }

    @Test func cpuListsRoundTrip() throws {
        #expect(try CPUList.parse("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUList.format([11, 10, 8, 3, 2, 1, 0]) == "0-3,8,10-11")
        #expect(try CPUList.parse(" 5 ") == [5])
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse("3-1") }
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse("1,1") }
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse("a") }
    }
}
