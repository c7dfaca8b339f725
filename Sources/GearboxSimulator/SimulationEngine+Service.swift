import GearboxCore

/// Arrivals, dispatch and FCFS service.
extension SimulationEngine {
    /// Sets queue `q`'s arrival timer to its next arrival (Poisson or the trace's next row).
    mutating func scheduleNextArrival(queue q: Int) {
        let timer = arrivalTimers + q
        if let trace = queues[q].trace {
            let cursor = queues[q].traceCursor
            timers.schedule(timer, at: cursor < trace.count ? trace[cursor].time : .infinity)
        } else if queues[q].rate > 0 {
            timers.schedule(timer, at: now + queues[q].stream.exponential() / queues[q].rate)
        } else {
            timers.schedule(timer, at: .infinity)
        }
    }

    /// A request of queue `q` arrives now: draw its work, dispatch it, draw the next arrival.
    ///
    /// Every arrival draws the same number of work variates from the queue's own stream
    /// (one per part the workload declares) whatever the policy, so all policies of one
    /// seed see identical arrivals and work.
    mutating func arrive(queue q: Int) {
        var recordedWork: Double?
        if let trace = queues[q].trace {
            recordedWork = trace[queues[q].traceCursor].work
            queues[q].traceCursor += 1
        }
        let meanWork = queues[q].meanWork
        let k = queues[q].table.needed
        var requestWork: Double
        if k == 0 {
            let w = recordedWork ?? meanWork * queues[q].unitWork.draw(&queues[q].stream)
            requestWork = w
            let job = Job(work: w, arrival: now, queue: Int32(q), request: -1)
            if queues[q].table.pooled { dispatchToPool(job, queue: q) } else { enqueue(job, on: pick(queue: q)) }
        } else {
            let n = queues[q].table.cpus.count
            let declaredParts = queues[q].parts
            let slot = requests.allocate(arrival: now, needed: k, parts: n)
            var total = 0.0
            for j in 0..<max(n, declaredParts) {
                let unit = recordedWork == nil ? queues[q].unitWork.draw(&queues[q].stream) : 1
                guard j < n else { continue }
                let share = k == n ? queues[q].table.weights[j] : 1 / Double(k)
                let w = (recordedWork ?? meanWork * unit) * share
                total += w
                enqueue(Job(work: w, arrival: now, queue: Int32(q), request: slot), on: queues[q].table.cpus[j])
            }
            requestWork = total * Double(k) / Double(n)
        }
        queues[q].arrived += 1
        queues[q].tickArrivals += 1
        queues[q].tickWork += requestWork
        scheduleNextArrival(queue: q)
    }

    /// A CPU for queue `q` by its route table's cumulative probabilities.
    private mutating func pick(queue q: Int) -> Int {
        let u = routing.uniform()
        let count = queues[q].table.weights.count
        for j in 0..<count where u < queues[q].table.weights[j] { return queues[q].table.cpus[j] }
        return queues[q].table.cpus[count - 1]
    }

    mutating func enqueue(_ job: Job, on i: Int) {
        if cpus[i].busy {
            waiting[i].append(job)
        } else {
            account(i)
            begin(job, on: i)
        }
    }

    /// Starts `job` on idle CPU `i` (already accounted up to now).
    mutating func begin(_ job: Job, on i: Int) {
        let d = cpus[i].domain
        var op = domains[d].op
        if case .perRequest(let low, let high, let p) = domains[d].mode {
            op = speedDraws.uniform() < p ? high : low
        }
        cpus[i].busy = true
        cpus[i].job = job
        cpus[i].remaining = job.work
        setOperatingPoint(i, op)
        scheduleCompletion(i)
    }

    /// Sets CPU `i`'s completion timer from its remaining work and current speed.
    @inline(__always)
    mutating func scheduleCompletion(_ i: Int) {
        let speed = cpus[i].speed
        let at = speed > 0 ? now + max(0, cpus[i].remaining) / speed : .infinity
        timers.schedule(i, at: at)
    }

    /// CPU `i`'s job finishes now.
    mutating func complete(cpu i: Int) {
        account(i)
        let job = cpus[i].job
        if job.request < 0 {
            record(job)
        } else {
            let slot = Int(job.request)
            requests.needed[slot] -= 1
            if requests.needed[slot] == 0 {
                record(job)
                if configuration.cancelRemainingSubtasks { abortSiblings(of: job.request, except: i) }
            }
            requests.release(job.request)
        }
        serveNext(i)
    }

    private mutating func record(_ job: Job) {
        queues[Int(job.queue)].feedbackWindow?.record(now - job.arrival)
        queues[Int(job.queue)].sinceGivenUp?.record(now - job.arrival)
        guard job.arrival >= configuration.warmUp else { return }
        let batch = Int((job.arrival - configuration.warmUp) / configuration.duration * Double(QueueOutcome.batchCount))
        queues[Int(job.queue)].batches[min(batch, QueueOutcome.batchCount - 1)].record(now - job.arrival)
    }

    /// Starts CPU `i`'s next waiting job, or leaves it idle.
    private mutating func serveNext(_ i: Int) {
        if let q = poolToServe(cpu: i) {
            begin(queues[q].pool.removeFirst(), on: i)
            return
        }
        while !waiting[i].isEmpty {
            let next = waiting[i].removeFirst()
            if next.request >= 0 && requests.needed[Int(next.request)] <= 0
                && configuration.cancelRemainingSubtasks {
                requests.release(next.request)  // its request is done: dropped unserved
                continue
            }
            begin(next, on: i)
            return
        }
        cpus[i].busy = false
        cpus[i].power = idlePower[cpus[i].domain]
        timers.schedule(i, at: .infinity)
    }

    /// Aborts the running subtasks of a completed fork-join request (cancellation on).
    private mutating func abortSiblings(of request: Int32, except finished: Int) {
        for c in cpus.indices where c != finished && cpus[c].busy && cpus[c].job.request == request {
            account(c)
            requests.release(request)
            serveNext(c)
        }
    }
}

extension Dispatch {
    /// Subtasks per request: 1 for route.
    var parts: Int {
        switch self {
        case .route: 1
        case .forkJoin(let parts, _): parts
        }
    }
}
