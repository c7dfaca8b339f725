import GearboxCore

/// An independent FCFS single-server simulation by Lindley's recursion
/// `W_{n+1} = max(0, W_n + S_n - A_{n+1})`, for checking the latency model.
struct LindleySimulation {
    struct Stream {
        var rate: Double
        /// Mean service time in seconds (exponential).
        var meanService: Double
    }

    var streams: [Stream]
    var seed: UInt64

    /// p-quantiles of each stream's response time, estimated from `count` arrivals
    /// in `batches` independent-ish batches (for a batch-means spread).
    func responseQuantile(_ p: Double, stream target: Int, count: Int, batches: Int) -> (estimate: Double, spread: Double) {
        var random = SeededGenerator(seed: seed)
        let total = streams.reduce(0) { $0 + $1.rate }
        let binWidth = 1e-6
        let binCount = 200_000
        var estimates: [Double] = []
        var wait = 0.0
        for _ in 0..<batches {
            var histogram = [Int](repeating: 0, count: binCount)
            var seen = 0
            for _ in 0..<(count / batches) {
                // Which stream arrives: proportional to rates.
                var pick = random.unit() * total
                var index = 0
                while index < streams.count - 1 && pick > streams[index].rate {
                    pick -= streams[index].rate
                    index += 1
                }
                let service = random.exponential(mean: streams[index].meanService)
                if index == target {
                    let bin = min(binCount - 1, Int((wait + service) / binWidth))
                    histogram[bin] += 1
                    seen += 1
                }
                let gap = random.exponential(mean: 1 / total)
                wait = max(0, wait + service - gap)
            }
            let needed = Int((Double(seen) * p).rounded(.up))
            var cumulative = 0
            for (bin, n) in histogram.enumerated() {
                cumulative += n
                if cumulative >= needed {
                    estimates.append((Double(bin) + 0.5) * binWidth)
                    break
                }
            }
        }
        let mean = estimates.reduce(0, +) / Double(estimates.count)
        let variance = estimates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(estimates.count - 1)
        return (mean, (variance / Double(estimates.count)).squareRoot())
    }
}
