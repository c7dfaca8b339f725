/// The simulation's future-event set: a fixed set of timers, each with at most one pending
/// time, kept in an indexed binary min-heap.
///
/// Every entity that can cause an event (a CPU's completion, a queue's next arrival, a
/// domain's next speed switch, the governor's tick) owns one timer; rescheduling is a key
/// update in O(log n), an unset timer sits at +∞. Nothing is allocated while running, and
/// stale events cannot exist, so memory does not grow with the run's length.
struct TimerHeap {
    private var heap: [Int32]
    private var position: [Int32]
    private(set) var time: [Double]
    /// Ties break on the timer number, so runs are reproducible bit for bit.
    init(count: Int) {
        heap = (0..<Int32(count)).map { $0 }
        position = (0..<Int32(count)).map { $0 }
        time = Array(repeating: .infinity, count: count)
    }

    /// The earliest timer and its time.
    var first: (timer: Int, time: Double) {
        let t = Int(heap[0])
        return (t, time[t])
    }

    /// Sets `timer` to fire at `at` (+∞ to cancel).
    mutating func schedule(_ timer: Int, at: Double) {
        let old = time[timer]
        time[timer] = at
        let p = Int(position[timer])
        if at < old { siftUp(p) } else if at > old { siftDown(p) }
    }

    @inline(__always)
    private func precedes(_ ta: Double, _ a: Int, _ tb: Double, _ b: Int) -> Bool {
        ta < tb || (ta == tb && a < b)
    }

    @inline(__always)
    private func less(_ i: Int, _ j: Int) -> Bool {
        let a = Int(heap[i]), b = Int(heap[j])
        return precedes(time[a], a, time[b], b)
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        position[Int(heap[i])] = Int32(i)
        position[Int(heap[j])] = Int32(j)
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) >> 1
            guard less(i, parent) else { return }
            swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let left = 2 * i + 1
            if left >= n { return }
            var child = left
            if left + 1 < n && less(left + 1, left) { child = left + 1 }
            guard less(child, i) else { return }
            swapAt(i, child)
            i = child
        }
    }
}
