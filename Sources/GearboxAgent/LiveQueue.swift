import GearboxConfig
import GearboxCore

/// A queue whose rate and work are measured from an application's counters each tick
/// (issue 6): counter deltas with resets handled, smoothed, with burst detection, and marked
/// stale when its source stops answering or answers junk.
public struct LiveQueue: Sendable {
    public let configured: AgentQueue
    public private(set) var arrivalRate: SmoothedRate
    public private(set) var work: SmoothedRate
    /// Mean response time measured over the last window (from the histogram), if any.
    public private(set) var measuredLatency: Double?
    /// Why the queue is stale, or nil while its source answers.
    public private(set) var staleReason: String?
    private var previous: Counters?
    /// Consecutive windows whose measured latency exceeded the target.
    public private(set) var windowsOverTarget = 0
    /// The histogram since `LatencyFeedback` last used it.
    public private(set) var feedbackWindow = HistogramWindow()
    /// How over-dispersed the arrivals are: the per-tick arrival counts of the last ticks the
    /// source answered (a tick after a counter reset left out).
    public private(set) var dispersion = ArrivalDispersion()

    struct Counters: Sendable {
        var arrivals: Double
        var completions: Double?
        var busySeconds: Double?
        var histogramSum: Double?
        var histogramCount: Double?
        /// Cumulative `_bucket` counts by upper bound, summed over the selected series.
        var histogramBuckets: [Double: Double] = [:]
    }

    /// What an update found.
    public struct Update: Sendable, Equatable {
        public var burst = false
        /// The queue just became stale (log once) or just recovered.
        public var becameStale = false
        public var recovered = false
    }

    public init(_ configured: AgentQueue, halfLife: Double) {
        self.configured = configured
        arrivalRate = SmoothedRate(halfLife: halfLife)
        work = SmoothedRate(halfLife: halfLife, initial: configured.queue.meanWork)
    }

    /// The queue with its current estimates; nil while stale or before two reads.
    public var estimate: WorkQueue? {
        guard staleReason == nil, let rate = arrivalRate.value, rate > 0, let w = work.value, w > 0 else { return nil }
        var queue = configured.queue
        queue.arrivalRate = rate
        queue.meanWork = w
        return queue
    }

    /// Folds in one scrape taken `interval` seconds after the previous one. `speed` is the mean
    /// speed of the queue's CPUs over the interval, to turn busy seconds back into ref-s;
    /// `ticks` is the interval in control ticks (more than 1 after a missed tick).
    public mutating func update(samples: [PrometheusText.Sample], interval: Double, speed: Double, ticks: Double = 1) -> Update {
        guard let source = configured.source else { return Update() }
        guard let counters = read(source, from: samples) else {
            return markStale("the source has no series \(source.arrivals)")
        }
        var update = Update()
        if staleReason != nil {
            staleReason = nil
            update.recovered = true
            previous = nil
        }
        defer { previous = counters }
        guard let last = previous, interval > 0 else { return update }
        let arrivals = counterIncrease(from: last.arrivals, to: counters.arrivals)
        // A counter that went down was restarted: its new value undercounts the interval (the
        // arrivals before the restart are lost), so it is neither a burst nor a dispersion sample.
        let reset = counters.arrivals < last.arrivals
        if !reset, arrivalRate.isBurst(count: arrivals, over: interval) {
            arrivalRate.jump(toCount: arrivals, over: interval)
            update.burst = true
        } else {
            arrivalRate.add(arrivals / interval, over: interval)
        }
        let completed = counters.completions.flatMap { c in last.completions.map { counterIncrease(from: $0, to: c) } } ?? arrivals
        if let busy = counters.busySeconds, let lastBusy = last.busySeconds, completed > 0 {
            // Busy wall-seconds per completion, times the speed it ran at, is work in ref-s.
            work.add(counterIncrease(from: lastBusy, to: busy) / completed * speed, over: interval)
        }
        if let sum = counters.histogramSum, let count = counters.histogramCount,
           let lastSum = last.histogramSum, let lastCount = last.histogramCount {
            let n = counterIncrease(from: lastCount, to: count)
            let total = counterIncrease(from: lastSum, to: sum)
            measuredLatency = n > 0 ? total / n : nil
            var increases: [Double: Double] = [:]
            for (bound, value) in counters.histogramBuckets {
                guard let before = last.histogramBuckets[bound] else { continue }
                increases[bound] = counterIncrease(from: before, to: value)
            }
            feedbackWindow.add(seconds: interval, count: n, sum: total, buckets: increases)
            // The histogram gives the mean; a mean above the target misses any kind of target
            // (a percentile is at least the mean for these latency distributions).
            if let measured = measuredLatency {
                windowsOverTarget = measured > configured.queue.target.seconds ? windowsOverTarget + 1 : 0
            }
        }
        if let refusal = outOfRange() { return markStale(refusal) }
        if !reset { dispersion.add(count: arrivals, ticks: ticks) }
        return update
    }

    /// Why the estimates from the source are not sane (a counter reset mistaken for a jump, a
    /// source counting something else), or nil: such a queue goes stale rather than be planned.
    private func outOfRange() -> String? {
        if let rate = arrivalRate.value, let why = InputLimits.arrivalRate.refusal(rate), rate != 0 {
            return "its arrival rate \(why)"
        }
        if let work = work.value, work > 0, let why = InputLimits.workMilliseconds.refusal(work * 1000) {
            return "its work per request \(why)"
        }
        return nil
    }

    /// Starts a new feedback window (after `LatencyFeedback` used this one).
    public mutating func closeFeedbackWindow() { feedbackWindow = HistogramWindow() }

    /// Forgets the run of windows over target (after the agent reacted to it).
    public mutating func acknowledgeMisses() { windowsOverTarget = 0 }

    /// The source failed (no answer, junk); returns whether this is news worth one log line.
    public mutating func markStale(_ reason: String) -> Update {
        let news = staleReason == nil
        staleReason = reason
        measuredLatency = nil
        return Update(becameStale: news)
    }

    private func read(_ source: QueueSource, from samples: [PrometheusText.Sample]) -> Counters? {
        func value(_ name: String?) -> Double? {
            name.flatMap { PrometheusText.value(of: $0, labels: source.labels, in: samples) }
        }
        guard let arrivals = value(source.arrivals), arrivals.isFinite else { return nil }
        var buckets: [Double: Double] = [:]
        if let histogram = source.histogram {
            let name = histogram + "_bucket"
            for s in samples where s.name == name && s.value.isFinite
                && source.labels.allSatisfy({ s.labels[$0.key] == $0.value }) {
                guard let le = s.labels["le"], let bound = le == "+Inf" ? Double.infinity : Double(le), !bound.isNaN else { continue }
                buckets[bound, default: 0] += s.value
                if buckets.count > HistogramWindow.maximumBuckets { buckets = [:]; break }
            }
        }
        return Counters(
            arrivals: arrivals, completions: value(source.completions), busySeconds: value(source.busySeconds),
            histogramSum: value(source.histogram.map { $0 + "_sum" }),
            histogramCount: value(source.histogram.map { $0 + "_count" }), histogramBuckets: buckets)
    }
}
