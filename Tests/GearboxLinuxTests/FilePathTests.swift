import GearboxLinux
import Testing

@Suite("FilePath")
struct FilePathTests {
    @Test("parentDirectory: the directory part, as NSString's deletingLastPathComponent gives it",
          arguments: [
              ("/run/gearbox/control.sock", "/run/gearbox"), ("/a", "/"), ("a", ""), ("a/b", "a"), ("/a/b/", "/a"),
              ("/", "/"), ("", ""), ("state/x.json", "state"), ("/var/lib/gearbox/cpufreq-state.json", "/var/lib/gearbox"),
          ])
    func parent(path: String, expected: String) {
        #expect(FilePath.parentDirectory(path) == expected, "\(path)")
    }
}
