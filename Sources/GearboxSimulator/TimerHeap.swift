/// The simulation's future-event set: a fixed set of timers, each with at most one pending
/// time, kept in an indexed binary min-heap.
///
/// Every entity that can cause an event (a CPU's completion, a queue's next arrival, a
/// domain's next speed switch, the governor's tick) owns one timer; rescheduling is a key
/// update in O(log n), an unset timer sits at +∞. Nothing is allocated while running, and
/// stale events cannot exist, so memory does not grow with the run's length.
struct TimerHeap {
    struct Entry {
        var time: Double
        var timer: Int32
    }

    private var heap: [Entry]
    private var position: [Int32]

    init(count: Int) {
        heap = (0..<Int32(count)).map { Entry(time: .infinity, timer: $0) }
        position = (0..<Int32(count)).map { $0 }
    }

    /// The earliest timer and its time.
    var first: (timer: Int, time: Double) { (Int(heap[0].timer), heap[0].time) }

    /// Sets `timer` to fire at `at` (+∞ to cancel).
    mutating func schedule(_ timer: Int, at: Double) {
        let p = Int(position[timer])
        let old = heap[p].time
        let entry = Entry(time: at, timer: Int32(timer))
        if at < old { siftUp(entry, from: p) } else if at > old { siftDown(entry, from: p) }
    }

    /// Ties break on the timer number, so runs are reproducible bit for bit.
    @inline(__always)
    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.time < b.time || (a.time == b.time && a.timer < b.timer)
    }

    /// Moves `entry` up from the hole at `start` to its place.
    private mutating func siftUp(_ entry: Entry, from start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) >> 1
            let p = heap[parent]
            guard TimerHeap.precedes(entry, p) else { break }
            heap[i] = p
            position[Int(p.timer)] = Int32(i)
            i = parent
        }
        heap[i] = entry
        position[Int(entry.timer)] = Int32(i)
    }

    /// Moves `entry` down from the hole at `start` to its place.
    private mutating func siftDown(_ entry: Entry, from start: Int) {
        var i = start
        let n = heap.count
        while true {
            let left = 2 * i + 1
            if left >= n { break }
            var child = left
            if left + 1 < n && TimerHeap.precedes(heap[left + 1], heap[left]) { child = left + 1 }
            let c = heap[child]
            guard TimerHeap.precedes(c, entry) else { break }
            heap[i] = c
            position[Int(c.timer)] = Int32(i)
            i = child
        }
        heap[i] = entry
        position[Int(entry.timer)] = Int32(i)
    }
}
