/// Results of CPU evaluations that judge a tail (percentile or fork-join queues), by CPU,
/// level and the shares of the CPU's entries; and fork-join queues' latencies.
///
/// A CPU's queueing result is a pure function of those (the model fixes rates, work, hull
/// and targets), and the search comes back to the same points often: a trial rolled back and
/// tried again in the other order (`PlanState.relevel`), the level bracket's ends, the grid's
/// tables again in the search that follows a dither fallback. States copied from one another,
/// and the searches of one part of the host, share one memo; a hit gives the same numbers as
/// the evaluation, so plans do not change. Used by one search at a time (never across threads).
final class EvaluationMemo: @unchecked Sendable {
    struct Key: Hashable {
        var cpu: Int
        var time: Double
        var shares: [Double]
    }

    struct Result {
        var cache: PlanState.CPUCache
        var measures: [Double]
    }

    private var results: [Key: Result] = Dictionary(minimumCapacity: 512)
    /// Fork-join queues' normalised latencies (an integral over their CPUs' tails, far
    /// dearer than a CPU), by queue, its domains' levels and the shares on its CPUs.
    private var forkJoinValues: [[Double]: Double] = [:]
    /// Bound on memory (about a megabyte): a table starts afresh when it holds this many.
    static let capacity = 4_096
    /// The grid's per-domain tables (`GridSearch.entries`), by domain and grid counts, at
    /// every grid level: a later search of the part with the domain on pure speeds only
    /// takes the vertices' entries from it.
    var gridTables: [GridSearch.TableKey: [GridSearch.Entry]] = [:]

    /// Per-CPU tails of a single-queue part (`SingleQueueSolver.tail`), by domain, per-CPU
    /// rate and level.
    struct TailKey: Hashable {
        var domain: Int
        var rate: Double
        var time: Double

        /// The three fields folded into one word before hashing: the solver looks tails up
        /// thousands of times per plan, and each word the hasher takes costs a round.
        func hash(into hasher: inout Hasher) {
            // `+ 0` makes -0 into +0, which `==` holds equal.
            let rateBits = (rate + 0).bitPattern, timeBits = (time + 0).bitPattern
            hasher.combine((rateBits &* 0x9E37_79B9_7F4A_7C15) ^ timeBits ^ UInt64(truncatingIfNeeded: domain))
        }
    }

    private(set) var tails: [TailKey: Double] = [:]

    func storeTail(_ value: Double, for key: TailKey) {
        if tails.count >= Self.capacity { tails.removeAll(keepingCapacity: true) }
        // A part's search stores a few hundred: room for them at once rather than by doubling.
        if tails.isEmpty { tails.reserveCapacity(512) }
        tails[key] = value
    }

    subscript(key: Key) -> Result? { results[key] }

    func store(_ result: Result, for key: Key) {
        if results.count >= Self.capacity { results.removeAll(keepingCapacity: true) }
        results[key] = result
    }

    subscript(forkJoin key: [Double]) -> Double? { forkJoinValues[key] }

    func store(forkJoin value: Double, for key: [Double]) {
        if forkJoinValues.count >= Self.capacity { forkJoinValues.removeAll(keepingCapacity: true) }
        forkJoinValues[key] = value
    }
}
