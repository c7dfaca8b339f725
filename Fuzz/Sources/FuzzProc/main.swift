import FuzzSupport
import GearboxLinux

/// The /proc readers the agent runs every tick: /proc/stat, /proc/pressure/cpu and
/// /proc/schedstat. The input is two readings separated by the first NUL byte (a missing
/// NUL means both readings are the same text); each is parsed by all three parsers, and
/// where both readings parse, the rates between them are computed as the agent does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0)
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let first = UnsafeBufferPointer(rebasing: bytes[..<split])
    let second = split < bytes.count ? UnsafeBufferPointer(rebasing: bytes[(split + 1)...]) : first
    let earlierText = String(decoding: first, as: UTF8.self)
    let laterText = String(decoding: second, as: UTF8.self)

    let earlierStat = try? ProcStatSnapshot.parse(bytes: first)
    let laterStat = try? ProcStatSnapshot.parse(laterText)
    precondition((try? ProcStatSnapshot.parse(earlierText)) == earlierStat,
                 "/proc/stat parses differently from text and from bytes")
    if let earlierStat, let laterStat {
        for (cpu, fraction) in laterStat.busyFractions(since: earlierStat) {
            precondition(fraction >= 0 && fraction <= 1, "cpu\(cpu) busy fraction \(fraction) is outside [0, 1]")
        }
    }
    if let earlier = try? CPUPressure.parse(earlierText), let later = try? CPUPressure.parse(laterText) {
        if let fraction = later.stalledFraction(since: earlier, elapsedSeconds: 1) {
            precondition(fraction >= 0 && fraction <= 1, "stalled fraction \(fraction) is outside [0, 1]")
        }
    }
    if let earlier = try? SchedstatSnapshot.parse(earlierText), let later = try? SchedstatSnapshot.parse(laterText) {
        for (cpu, delay) in later.runQueueDelays(since: earlier) {
            precondition(delay >= 0, "cpu\(cpu) run-queue delay \(delay) is negative")
        }
    }
    return 0
}

runLibFuzzer(fuzz)
