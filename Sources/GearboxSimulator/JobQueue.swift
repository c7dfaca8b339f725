/// One unit of service on one CPU: a whole request (route) or a subtask (fork-join).
struct Job {
    /// Work in reference-seconds.
    var work: Double
    /// Arrival time of the request it belongs to.
    var arrival: Double
    /// Index of the workload queue.
    var queue: Int32
    /// Fork-join request slot, or -1 for a routed request.
    var request: Int32
}

/// A CPU's first-come first-served waiting line: a ring buffer that grows by doubling and
/// never shrinks, so a stable run allocates only while its longest queue is still growing.
struct JobQueue {
    private var storage: [Job]
    private var head = 0
    private(set) var count = 0

    init() {
        storage = Array(repeating: Job(work: 0, arrival: 0, queue: 0, request: -1), count: 16)
    }

    var isEmpty: Bool { count == 0 }

    /// The job `removeFirst` would return, without removing it.
    var first: Job? { count > 0 ? storage[head] : nil }

    mutating func append(_ job: Job) {
        if count == storage.count { grow() }
        var tail = head + count
        if tail >= storage.count { tail -= storage.count }
        storage[tail] = job
        count += 1
    }

    mutating func removeFirst() -> Job {
        let job = storage[head]
        head += 1
        if head == storage.count { head = 0 }
        count -= 1
        return job
    }

    /// Work (ref-s) of the waiting jobs of queues other than `q`.
    func work(apartFrom q: Int32) -> Double {
        var total = 0.0
        for i in 0..<count {
            let job = storage[(head + i) % storage.count]
            if job.queue != q { total += job.work }
        }
        return total
    }

    private mutating func grow() {
        var bigger = storage
        bigger.reserveCapacity(storage.count * 2)
        // Unroll the ring so that it starts at index 0, then double.
        for i in 0..<count { bigger[i] = storage[(head + i) % storage.count] }
        bigger.append(contentsOf: repeatElement(Job(work: 0, arrival: 0, queue: 0, request: -1), count: storage.count))
        storage = bigger
        head = 0
    }
}
