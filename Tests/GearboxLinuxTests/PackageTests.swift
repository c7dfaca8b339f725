import Foundation
import GearboxCore
import GearboxTestSupport
import Testing

/// The release build and the Debian package as an operator gets them: static binaries that
/// run with the Swift toolchain hidden, and a package that installs, runs and purges cleanly.
/// The package (a release build, minutes) is built once per test run, by scripts/package-deb.
enum DebianPackage {
    static let repositoryRoot = FixtureTree.repositoryRoot
    /// The toolchain directory hidden from the binaries under test.
    static let toolchain = "/opt/swift"
    static let scratch = repositoryRoot.appendingPathComponent(".build/static")

    /// Why the package cannot be built and installed here, or nil when it can.
    static let unavailableReason: String? = {
        if let reason = NamespaceRunner.unavailableReason { return reason }
        for tool in ["/usr/bin/dpkg-deb", "/usr/bin/dpkg", "/usr/bin/readelf", "/usr/bin/python3"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) not installed: the package cannot be built (tests skipped)"
        }
        return nil
    }()

    struct Built: Sendable {
        var deb: String
        /// The static release binaries the package was made from.
        var binaries: String
    }

    /// `built`, waited for on a thread of its own: the first caller builds for minutes, and
    /// the others wait in its once-initialisation, none of them on the concurrency pool.
    static func builtOffThePool() async throws(BuildFailure) -> Built {
        try await blocking { () throws(BuildFailure) -> Built in try built.get() }
    }

    /// scripts/package-deb into a temporary directory, once.
    static let built: Result<Built, BuildFailure> = {
        // Beside the build, replaced on every run, so no package piles up in /tmp.
        let output = scratch.appendingPathComponent("deb").path
        let started = ContinuousClock.now
        var environment = ProcessInfo.processInfo.environment
        environment["GEARBOX_STATIC_SCRATCH"] = scratch.path
        let result = Command.run("/bin/bash", [repositoryRoot.appendingPathComponent("scripts/package-deb").path, output],
                                 environment: environment)
        print("scripts/package-deb (static release build included) took \(ContinuousClock.now - started)")
        guard result.status == 0 else { return .failure(BuildFailure(message: "package-deb failed: \(result.stderr.suffix(3000))")) }
        let deb = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return .success(Built(deb: deb, binaries: scratch.appendingPathComponent("release").path))
    }()

    struct BuildFailure: Error, CustomStringConvertible, Sendable {
        var message: String
        var description: String { message }
    }

    /// Runs `executable` in a private mount namespace with an empty tmpfs over the toolchain
    /// directory and, when given, `cpuTree` on /sys/devices/system/cpu.
    static func runHidingToolchain(_ executable: String, _ arguments: [String], cpuTree: URL? = nil) -> Command.Result {
        var script = "if [ -d \(toolchain) ]; then mount -t tmpfs gearbox-hidden \(toolchain) || exit 97; fi\n"
        if cpuTree != nil { script += "mount --bind \"$1\" /sys/devices/system/cpu || exit 98\n" }
        script += "shift\nexec \"$@\"\n"
        return Command.run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script, "sh",
                                                 cpuTree?.path ?? "-", executable] + arguments)
    }
}

extension Trait where Self == ConditionTrait {
    static var canBuildDebianPackage: Self {
        .enabled(if: DebianPackage.unavailableReason == nil,
                 Comment(rawValue: DebianPackage.unavailableReason ?? "dpkg and mount namespaces work"))
    }
}

/// A child process run to its end, both outputs read as they come (a build writes a lot).
enum Command {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return Result(status: -1, stdout: "", stderr: "\(executable): \(error)") }
        let collected = NamespaceRunner.Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            NamespaceRunner.onThreadOfItsOwn {
                collected.set(pipe.fileHandleForReading.readDataToEndOfFile(), stdout: isOut)
                group.leave()
            }
        }
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: collected.stdout, as: UTF8.self),
                      stderr: String(decoding: collected.stderr, as: UTF8.self))
    }
}

@Suite(.serialized, .canBuildDebianPackage) struct PackageTests {
    static let serverPlatform = DebianPackage.repositoryRoot.appendingPathComponent("configs/examples/server-8cpu.toml").path
    static let serverWorkload = DebianPackage.repositoryRoot.appendingPathComponent("configs/examples/server-8cpu-medium.toml").path

    /// Libraries a binary may load: the C and C++ runtimes and the two system libraries gearbox
    /// is built on, nothing of the Swift toolchain.
    static let allowedLibraries = ["linux-vdso", "libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux",
                                   "libsystemd.so", "libcpufreq.so", "libcap.so", "liblzma.so", "libzstd.so",
                                   "liblz4.so", "libgcrypt.so", "libgpg-error.so", "libdl.so", "libpthread.so", "librt.so"]

    @Test func staticBinariesNeedNothingOfTheToolchain() async throws {
        let built = try await DebianPackage.builtOffThePool()
        for tool in ["gearboxd", "gearboxctl"] {
            let path = built.binaries + "/" + tool
            let dynamic = Command.run("/usr/bin/readelf", ["-d", path])
            #expect(dynamic.status == 0)
            #expect(!dynamic.stdout.contains("RUNPATH") && !dynamic.stdout.contains("RPATH"), "\(tool): \(dynamic.stdout)")
            let ldd = Command.run("/usr/bin/ldd", [path])
            #expect(!ldd.stdout.contains(DebianPackage.toolchain), "\(tool): \(ldd.stdout)")
            // The name ldd prints first (`libc.so.6 => ...`, `/lib64/ld-linux-x86-64.so.2 (...)`).
            let libraries = ldd.stdout.split(separator: "\n").compactMap { line in
                line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map { String($0.split(separator: "/").last ?? $0) }
            }
            for library in libraries {
                #expect(Self.allowedLibraries.contains { library.hasPrefix($0) }, "\(tool) loads \(library)")
            }
            print("ldd \(tool): \(libraries.joined(separator: " "))")
            let version = DebianPackage.runHidingToolchain(path, ["--version"])
            #expect(version.status == 0 && version.stdout == GearboxVersion.string + "\n", "\(tool): \(version)")
        }
    }

    @Test func packageInstallsRunsAndPurgesWithoutATrace() async throws {
        let built = try await DebianPackage.builtOffThePool()
        let status = Command.run("/usr/bin/dpkg-query", ["-W", "-f=${Status}", "gearbox"])
        try #require(!status.stdout.contains("installed"),
                     "gearbox is installed on this machine; the round trip would replace it (test not run)")
        let started = ContinuousClock.now
        // The group outlives a purge (as Debian's system groups do); the test removes it when
        // it was not here before, so the machine is left as found.
        let groupExisted = Command.run("/usr/bin/getent", ["group", "gearbox"]).status == 0
        defer {
            _ = Command.run("/usr/bin/dpkg", ["--purge", "gearbox"])
            if !groupExisted { _ = Command.run("/usr/sbin/groupdel", ["gearbox"]) }
            print("package round trip (install, checks, purge) took \(ContinuousClock.now - started)")
        }
        let install = Command.run("/usr/bin/dpkg", ["-i", built.deb])
        try #require(install.status == 0, "dpkg -i: \(install.stderr)")
        let listed = Command.run("/usr/bin/dpkg", ["-L", "gearbox"]).stdout.split(separator: "\n").map(String.init)
        let files = listed.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        for expected in [
            "/usr/bin/gearboxd", "/usr/bin/gearboxctl", "/usr/lib/systemd/system/gearboxd.service",
            "/usr/lib/systemd/system/gearboxd.socket", "/etc/gearbox/gearbox.toml", "/usr/lib/sysusers.d/gearbox.conf",
            "/usr/share/man/man1/gearboxctl.1.gz", "/usr/share/man/man8/gearboxd.8.gz",
            "/usr/share/bash-completion/completions/gearboxctl", "/usr/share/zsh/vendor-completions/_gearboxctl",
            "/usr/share/fish/vendor_completions.d/gearboxctl.fish", "/usr/share/doc/gearbox/README.md",
        ] {
            #expect(files.contains(expected), "\(expected) not in the package")
        }
        #expect(Command.run("/usr/bin/dpkg-query", ["-W", "-f=${Conffiles}", "gearbox"]).stdout.contains("/etc/gearbox/gearbox.toml"))
        #expect(Command.run("/usr/bin/getent", ["group", "gearbox"]).status == 0, "postinst did not create the gearbox group")
        let socketLink = "/etc/systemd/system/sockets.target.wants/gearboxd.socket"
        // deb-systemd-helper links to /lib/systemd/system on some releases: the same file on a
        // merged /usr.
        let linked = URL(fileURLWithPath: socketLink).resolvingSymlinksInPath().path
        #expect(linked == URL(fileURLWithPath: "/usr/lib/systemd/system/gearboxd.socket").resolvingSymlinksInPath().path,
                "\(socketLink) -> \(linked)")

        let unit = try String(contentsOfFile: "/usr/lib/systemd/system/gearboxd.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/bin/gearboxd\n"))
        // With man installed, verify also checks that Documentation='s man:gearboxd(8) resolves:
        // the package's own man page.
        let checkMan = FileManager.default.isExecutableFile(atPath: "/usr/bin/man")
        if !checkMan { print("man is not installed: systemd-analyze verify --man=no") }
        let verify = Command.run("/usr/bin/systemd-analyze", ["verify"] + (checkMan ? [] : ["--man=no"])
                                 + ["/usr/lib/systemd/system/gearboxd.service", "/usr/lib/systemd/system/gearboxd.socket"])
        #expect(verify.status == 0 && verify.stderr.isEmpty, "systemd-analyze verify: \(verify.stderr)")

        let version = DebianPackage.runHidingToolchain("/usr/bin/gearboxctl", ["--version"])
        #expect(version.status == 0 && version.stdout == GearboxVersion.string + "\n", "\(version)")
        // The packaged plan is the one the test build makes: same code, release and static.
        let planArguments = ["plan", "--platform", Self.serverPlatform, "--workload", Self.serverWorkload]
        let plan = DebianPackage.runHidingToolchain("/usr/bin/gearboxctl", planArguments)
        let reference = Command.run(BuiltProducts.gearboxctl, planArguments)
        #expect(plan.status == 0 && reference.status == 0, "\(plan.stderr) \(reference.stderr)")
        #expect(plan.stdout == reference.stdout && !plan.stdout.isEmpty)

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let before = try tree.contents()
        let config = directory.file("gearbox.toml")
        try "[agent]\nstate_directory = \"\(directory.file("state"))\"\nplan_file = \"\(directory.file("state"))/plan.json\"\n[control]\nsocket = \"\(directory.file("state"))/control.sock\"\ngroup = \"\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let dryRun = DebianPackage.runHidingToolchain("/usr/bin/gearboxd", ["--config", config, "--dry-run", "--once", "--log-to", "stderr"],
                                                     cpuTree: tree.cpuRoot)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stderr.contains("would write"), "\(dryRun.stderr)")
        #expect(try tree.contents() == before)

        // Removal gives the original cpufreq settings back: a run of the installed agent that
        // exits without restoring (--once) changes the fixture, and `dpkg -r` (its prerm) puts
        // every file back. Both run on the fixture with sysfs write semantics (CSysfsEmulation).
        let preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
        let governed = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { governed.remove() }
        let original = try governed.contents()
        let once = DebianPackage.runHidingToolchain("/usr/bin/env", ["LD_PRELOAD=\(preload)", "/usr/bin/gearboxd", "--once", "--log-to", "stderr"],
                                                   cpuTree: governed.cpuRoot)
        #expect(once.status == 0, "\(once.stderr)")
        #expect(try governed.contents() != original, "gearboxd --once changed nothing: the restore below would prove nothing")
        let remove = DebianPackage.runHidingToolchain("/usr/bin/env", ["LD_PRELOAD=\(preload)", "/usr/bin/dpkg", "-r", "gearbox"],
                                                     cpuTree: governed.cpuRoot)
        #expect(remove.status == 0, "dpkg -r: \(remove.stderr)")
        #expect(try governed.contents() == original, "dpkg -r left changed cpufreq settings: \(remove.stderr)")

        let purge = Command.run("/usr/bin/dpkg", ["--purge", "gearbox"])
        #expect(purge.status == 0, "dpkg --purge: \(purge.stderr)")
        let left = (files + [socketLink, "/etc/gearbox", "/var/lib/gearbox"]).filter {
            FileManager.default.fileExists(atPath: $0) || (try? FileManager.default.destinationOfSymbolicLink(atPath: $0)) != nil
        }
        #expect(left.isEmpty, "left after dpkg --purge: \(left)")
        #expect(files.count >= 11)
    }

    @Test func sourceInstallAndUninstallLeaveOnlyAModifiedConfig() async throws {
        _ = try await DebianPackage.builtOffThePool()  // the static binaries scripts/install reuses
        for path in ["/etc/gearbox", "/etc/systemd/system/gearboxd.service", "/etc/systemd/system/gearboxd.socket"]
        where FileManager.default.fileExists(atPath: path) {
            try #require(Bool(false), "\(path) exists on this machine; the install would touch it (test not run)")
        }
        let prefix = try TemporaryDirectory()
        defer { prefix.remove() }
        let groupExisted = Command.run("/usr/bin/getent", ["group", "gearbox"]).status == 0
        defer {
            try? FileManager.default.removeItem(atPath: "/etc/gearbox")
            if !groupExisted { _ = Command.run("/usr/sbin/groupdel", ["gearbox"]) }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["GEARBOX_STATIC_SCRATCH"] = DebianPackage.scratch.path
        let script = DebianPackage.repositoryRoot.appendingPathComponent("scripts/install").path
        let install = Command.run("/bin/bash", [script, "--prefix", prefix.path], environment: environment)
        try #require(install.status == 0, "scripts/install: \(install.stderr)")
        let manifest = try String(contentsOfFile: prefix.file("share/gearbox/install-manifest"), encoding: .utf8)
        let files = manifest.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        for expected in ["/bin/gearboxd", "/bin/gearboxctl", "/share/man/man8/gearboxd.8.gz", "/lib/sysusers.d/gearbox.conf",
                         "/share/bash-completion/completions/gearboxctl", "/share/zsh/site-functions/_gearboxctl",
                         "/share/fish/vendor_completions.d/gearboxctl.fish"] {
            #expect(files.contains(prefix.path + expected) && FileManager.default.fileExists(atPath: prefix.path + expected), "\(expected)")
        }
        let unit = try String(contentsOfFile: "/etc/systemd/system/gearboxd.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=\(prefix.path)/bin/gearboxd\n"))
        #expect(FileManager.default.fileExists(atPath: "/etc/gearbox/gearbox.toml"))
        #expect(Command.run("/usr/bin/getent", ["group", "gearbox"]).status == 0)
        let version = DebianPackage.runHidingToolchain(prefix.file("bin/gearboxctl"), ["--version"])
        #expect(version.stdout == GearboxVersion.string + "\n", "\(version)")

        // An operator's edit survives the uninstall; everything else the install put goes.
        let handle = try #require(FileHandle(forWritingAtPath: "/etc/gearbox/gearbox.toml"))
        handle.seekToEndOfFile()
        handle.write(Data("# tuned by hand\n".utf8))
        handle.closeFile()
        let uninstall = Command.run("/bin/bash", [script, "--prefix", prefix.path, "--uninstall"], environment: environment)
        #expect(uninstall.status == 0, "scripts/install --uninstall: \(uninstall.stderr)")
        #expect(uninstall.stdout.contains("Kept /etc/gearbox/gearbox.toml"), "\(uninstall.stdout)")
        let left = files.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(left.isEmpty, "left after --uninstall: \(left)")
        #expect(FileManager.default.fileExists(atPath: "/etc/gearbox/gearbox.toml"))
    }
}
