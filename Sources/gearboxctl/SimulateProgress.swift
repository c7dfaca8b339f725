import Foundation

/// Progress on stderr for runs that take more than two seconds of wall time.
final class SimulateProgress {
    private let start = ContinuousClock.now
    private let label: String
    private let delay: Duration
    private var shown = false
    private var lastPercent = -1

    init(label: String, after seconds: Double = 2) {
        self.label = label
        // The option is checked (0 to a day) before a run; clamp anyway, since Int64(Double) traps.
        self.delay = .milliseconds(Int64((seconds.isFinite ? min(max(0, seconds), 86_400) : 0) * 1000))
    }

    func update(_ fraction: Double) {
        guard ContinuousClock.now - start >= delay else { return }
        let percent = fraction.isFinite ? Int(min(max(fraction, 0), 1) * 100) : 0
        guard percent != lastPercent else { return }
        lastPercent = percent
        shown = true
        FileHandle.standardError.write(Data("\r\(label): \(percent) %".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\(label): done  \n".utf8)) }
    }
}
