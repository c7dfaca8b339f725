/// Pools (docs/model.md, "Pools"): a confined queue's requests wait in one shared FCFS line
/// and any CPU of its set takes the next one when it is free, as the kernel balancing a
/// service's threads inside a cpuset does (work-conserving: no request waits while a CPU of
/// the set is idle). An arriving request takes the fastest idle CPU of the set (ties: the lower
/// index), the kernel's capacity-aware wake-up placement. A CPU that serves both a pool and
/// routed queues takes whichever waiting request arrived first.
extension SimulationEngine {
    mutating func dispatchToPool(_ job: Job, queue q: Int) {
        var chosen: Int?
        for i in queues[q].table.cpus where !cpus[i].busy {
            if let c = chosen, cpus[c].speed >= cpus[i].speed { continue }
            chosen = i
        }
        if let i = chosen {
            enqueue(job, on: i)
        } else {
            queues[q].pool.append(job)
        }
    }

    /// The pool whose waiting request a CPU that just became free takes: the earliest
    /// arrival among the pools it serves, if that is earlier than its own line's head.
    func poolToServe(cpu i: Int) -> Int? {
        var best: Int?
        var earliest = waiting[i].first?.arrival ?? .infinity
        // A queue that stopped being a pool still has its waiting requests served.
        for q in queues.indices {
            guard let head = queues[q].pool.first, head.arrival < earliest, queues[q].table.cpus.contains(i) else { continue }
            best = q
            earliest = head.arrival
        }
        return best
    }

    /// After a pool's set changed: its idle CPUs take its waiting requests.
    mutating func startIdleCPUs(ofPool q: Int) {
        for i in queues[q].table.cpus where !cpus[i].busy && !queues[q].pool.isEmpty {
            account(i)
            begin(queues[q].pool.removeFirst(), on: i)
        }
    }
}
