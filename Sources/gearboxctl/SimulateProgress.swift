import Foundation

/// Progress on stderr for runs that take more than two seconds of wall time.
final class SimulateProgress {
    private let start = ContinuousClock.now
    private let label: String
    private var shown = false
    private var lastPercent = -1

    init(label: String) { self.label = label }

    func update(_ fraction: Double) {
        guard ContinuousClock.now - start > .seconds(2) else { return }
        let percent = Int(fraction * 100)
        guard percent != lastPercent else { return }
        lastPercent = percent
        shown = true
        FileHandle.standardError.write(Data("\r\(label): \(percent) %".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\(label): done  \n".utf8)) }
    }
}
