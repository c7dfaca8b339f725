import GearboxCore
import Testing

/// cpulists from a file, a flag or the control socket: the work is bounded by the CPUs the
/// text could name, never by the ranges it writes (issue 17: `0-65535` written 8,000 times
/// in a 64 KB request made the agent allocate 10 GB).
@Suite struct CPUListBoundsTests {
    static func hostile(_ item: String) -> String {
        var text = ""
        while text.utf8.count + item.utf8.count + 1 <= 65_536 { text += item + "," }
        return String(text.dropLast())
    }

    /// Refused, quickly, with a short message. The time bound is loose (the expansion took
    /// 36 s); what it guards against is work in proportion to the ranges written.
    @Test(arguments: ["0-65535", "0-8191", "0", "8191-8191", "1-4000"])
    func a64KBListOfRepeatedRangesIsRefusedCheaply(item: String) {
        let text = Self.hostile(item)
        let clock = ContinuousClock()
        var error: CPUList.ParseError?
        let elapsed = clock.measure {
            do throws(CPUList.ParseError) { _ = try CPUList.parse(text) } catch let e { error = e }
        }
        #expect(error != nil, "\(item) × \(text.count / item.count) accepted")
        #expect(elapsed < .seconds(2), "\(elapsed)")
        #expect((error?.description.count ?? 0) < 200, "the message repeats the whole list")
    }

    @Test func everyCPUUpToTheLinuxMaximumIsAccepted() throws {
        // NR_CPUS is at most 8192 on Linux: CPUs 0 to 8191.
        let all = try CPUList.parse("0-8191")
        #expect(all.count == 8192 && all.first == 0 && all.last == 8191)
        let listed = try CPUList.parse((0...8191).map(String.init).joined(separator: ","))
        #expect(listed == all)
    }

    @Test(arguments: ["8192", "0-8192", "4-99999999999", "99999999999999999999999"])
    func aCPUBeyondTheLinuxMaximumIsRefused(text: String) {
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse(text) }
    }

    @Test func aCallerMayLowerTheHighestCPU() throws {
        #expect(try CPUList.parse("0-7", maxCPU: 7).count == 8)
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse("0-8", maxCPU: 7) }
    }

    @Test(arguments: ["0-3,2-5", "0-3,3", "5,0-7", "0,1,2,1", "0-8191,0"])
    func overlappingRangesAreRefused(text: String) {
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse(text) }
    }

    @Test func rangesInAnyOrderComeBackAscending() throws {
        #expect(try CPUList.parse("8-9,0-2, 5") == [0, 1, 2, 5, 8, 9])
    }

    @Test(arguments: ["1-2-3", "-1", "+1", "1-", "-", ",", "0,,1", "a-b", "0x3"])
    func malformedItemsAreRefused(text: String) {
        #expect(throws: CPUList.ParseError.self) { try CPUList.parse(text) }
    }

    @Test func oneEnormousItemIsRefusedWithAShortMessage() {
        let text = String(repeating: "-", count: 65_536)
        do {
            _ = try CPUList.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.description.count < 200)
        }
    }
}
