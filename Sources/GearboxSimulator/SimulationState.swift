import GearboxCore

/// A domain's operating points as the engine uses them, with its CPUs (engine indices).
struct DomainModel {
    let name: String
    let kilohertz: [Double]
    /// f / fmax of each operating point.
    let fraction: [Double]
    let busyPower: [Double]
    let idlePower: Double
    /// capacity / 1024: the speed of the domain's CPUs at fmax.
    let capacityScale: Double
    /// Seconds between asking for a frequency and getting it.
    let transitionLatency: Double
    let cpus: [Int]

    func speed(_ op: Int) -> Double { capacityScale * fraction[op] }

    /// The lowest operating point at or above `khz` (the top when none is).
    func atOrAbove(_ khz: Double) -> Int {
        kilohertz.firstIndex { $0 >= khz * (1 - 1e-12) } ?? kilohertz.count - 1
    }

    /// The highest operating point at or below `khz` (the bottom when none is).
    func atOrBelow(_ khz: Double) -> Int {
        kilohertz.lastIndex { $0 <= khz * (1 + 1e-12) } ?? 0
    }

    /// The operating point of exactly `khz`, else the lowest above it.
    func index(of khz: Kilohertz) -> Int { atOrAbove(Double(khz.value)) }
}

/// How a domain currently chooses its speed.
enum DomainMode: Equatable {
    /// One operating point for the whole domain.
    case fixed(Int)
    /// Each job picks `high` with probability `p`, else `low`, on its own CPU.
    case perRequest(low: Int, high: Int, p: Double)
    /// The domain runs `high` for θ of every `period`, `low` for the rest.
    case timeShare(low: Int, high: Int, theta: Double, period: Double)
}

/// A domain's changing state.
struct DomainState {
    var mode: DomainMode
    /// The operating point the domain's CPUs run at (domain-level modes).
    var op: Int
    /// An operating point asked for and not yet in effect.
    var pendingOp: Int?
    /// True while a `.stall` transition holds the CPUs.
    var stalled = false
    /// Time-share: whether the current phase is the high one.
    var ditherHigh = false
    /// Time-share: the exact schedule's instant of the next switch (the timer may fire off it
    /// by `SimulationConfiguration.ditherEdgeJitter`).
    var ditherEdge = 0.0
    var switches = 0
    /// Energy the switches cost (`ActuationCost`), in joules.
    var actuationJoules = 0.0
    /// conservative's requested frequency in kHz (it moves in steps, apart from the table).
    var requestedKilohertz: Double
}

/// A CPU's changing state. Energy and busy time are integrated lazily: every change of
/// state first accounts for the time since `last` (see `SimulationEngine.account`).
struct CPUState {
    let domain: Int
    /// Where the domain's operating points start in the engine's flat tables.
    let pointBase: Int
    var busy = false
    var job = Job(work: 0, arrival: 0, queue: 0, request: -1)
    /// Work left of the job in service, in ref-s, as of `last`.
    var remaining = 0.0
    var op: Int
    /// f / fmax and f in kHz of `op`, kept here so accounting reads no table.
    var fraction = 1.0
    var kilohertz = 0.0
    /// Ref-s of work per second now (0 while stalled).
    var speed: Double
    /// Watts drawn now.
    var power: Double
    var last = 0.0
    var energy = 0.0
    var busyTime = 0.0
    /// ∫ busy · f/fmax dt: the frequency-invariant busy time PELT tracks.
    var invariantBusyTime = 0.0
    /// ∫ busy · f dt, for the mean busy frequency.
    var busyKilohertzTime = 0.0
    /// Governor bookkeeping: the integrals at the last sample, and schedutil's PELT average.
    var sampledBusyTime = 0.0
    var sampledInvariantBusyTime = 0.0
    var pelt = 0.0

    init(domain: Int, pointBase: Int, op: Int, power: Double) {
        self.domain = domain
        self.pointBase = pointBase
        self.op = op
        self.speed = 0
        self.power = power
    }
}

/// Where a queue's requests go: route (`needed == 0`, `weights` cumulative probabilities)
/// or fork-join (`weights` the work fraction of each part, `needed` = k).
struct DispatchTable {
    var cpus: [Int]
    var weights: [Double]
    var needed: Int
    /// A pool (a confined route queue): one shared FCFS line served by `cpus`, work-conserving.
    var pooled = false
}

/// A queue's arrivals, dispatch and measured response times.
struct QueueState {
    let rate: Double
    let meanWork: Double
    let unitWork: UnitWork
    /// Subtasks per request the workload declares (1 for route).
    let parts: Int
    var stream: RandomStream
    var trace: [TraceArrival]?
    var traceCursor = 0
    var table: DispatchTable
    /// The pool's shared waiting line (pooled tables only).
    var pool = JobQueue()
    /// Response times by arrival batch: the measured window cut into equal batches, whose
    /// spread gives the confidence interval of each statistic (batch means).
    var batches = Array(repeating: LatencyHistogram(), count: QueueOutcome.batchCount)
    /// Arrivals after the warm-up.
    var arrived = 0
    /// Arrivals and their work (ref-s, the request's total) since the last control tick.
    var tickArrivals = 0
    var tickWork = 0.0
    /// Response times since the feedback window opened (gearbox with feedback only).
    var feedbackWindow: LatencyHistogram?
    var feedbackWindowStart = 0.0
    /// Latency measured since gearbox gave the queue up; nil while it is not held given up
    /// (`SimulationEngine+Overload.swift`).
    var sinceGivenUp: LatencyHistogram?
}

/// Fork-join requests in flight, in reusable slots.
struct RequestPool {
    var arrival: [Double] = []
    /// Subtasks still needed before the request completes (≤ 0 once it has).
    var needed: [Int32] = []
    /// Subtasks not yet finished or dropped; the slot is free again at 0.
    var outstanding: [Int32] = []
    private var free: [Int32] = []

    mutating func allocate(arrival time: Double, needed k: Int, parts n: Int) -> Int32 {
        if let slot = free.popLast() {
            let s = Int(slot)
            arrival[s] = time
            needed[s] = Int32(k)
            outstanding[s] = Int32(n)
            return slot
        }
        arrival.append(time)
        needed.append(Int32(k))
        outstanding.append(Int32(n))
        return Int32(arrival.count - 1)
    }

    /// One subtask of `slot` left the system; frees the slot after the last.
    mutating func release(_ slot: Int32) {
        outstanding[Int(slot)] -= 1
        if outstanding[Int(slot)] == 0 { free.append(slot) }
    }
}
