import Foundation

/// How often a thread slept and woke, as the kernel counts it: every time it goes to sleep
/// (in poll, a futex, nanosleep) is one voluntary context switch in /proc/PID/task/TID/status.
/// A thread that looks on a 100 ms timer makes ten a second; one that waits for events, none
/// while nothing happens.
public enum ThreadWakeups {
    /// The calling thread's id (/proc/thread-self links to PID/task/TID).
    public static var currentThreadID: Int32? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") else { return nil }
        return link.split(separator: "/").last.flatMap { Int32($0) }
    }

    /// The ids of the threads of process `pid` named `name` (/proc/PID/task/TID/comm).
    public static func threads(of pid: String = "self", named name: String) -> [Int32] {
        let tasks = "/proc/\(pid)/task"
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
        return ids.compactMap { id in
            let comm = try? String(contentsOfFile: "\(tasks)/\(id)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name ? Int32(id) : nil
        }.sorted()
    }

    /// The thread's voluntary context switches so far; nil when it is gone.
    public static func voluntarySwitches(of thread: Int32, in pid: String = "self") -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") {
            return Int(line.dropFirst("voluntary_ctxt_switches:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Whether the thread still exists.
    public static func exists(_ thread: Int32, in pid: String = "self") -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)/task/\(thread)")
    }
}
