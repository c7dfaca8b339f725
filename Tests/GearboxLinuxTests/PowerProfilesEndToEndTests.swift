import Foundation
import Glibc
import Testing

/// Laptops and desktops end to end (docs/laptops.md): the built gearboxd over a fixture sysfs
/// tree in a private mount namespace, a private dbus-daemon as the system bus with the shipped
/// policy, the real `powerprofilesctl` (Debian's power-profiles-daemon package, its client
/// only) and `busctl`, and a fixture /sys/class/power_supply the tests unplug and drain.
@Suite(.serialized, .needsMountNamespace,
       .enabled(if: PrivateSystemBus.available, "no dbus-daemon (apt-get install dbus-daemon)"))
struct PowerProfilesEndToEndTests {
    /// scripts/install-deps puts the client alone in /usr/local/bin; the Debian package in /usr/bin.
    static let powerprofilesctl = ["/usr/local/bin/powerprofilesctl", "/usr/bin/powerprofilesctl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/powerprofilesctl"
    static let busctl = "/usr/bin/busctl"
    static var haveClients: Bool {
        FileManager.default.isExecutableFile(atPath: powerprofilesctl) && FileManager.default.isExecutableFile(atPath: busctl)
    }

    /// The config every test starts from; the default profile settings apply, so the web
    /// queue's 10 ms target is planned as 20 ms under power-saver (latency_factor 2) and
    /// 5 ms under performance (0.5).
    static func config(state: String, supply: String, ac: String = "balanced", group: String = "") -> String {
        """
        [agent]
        tick_ms = 200
        state_directory = "\(state)"
        plan_file = "\(state)/plan.json"
        [control]
        socket = "\(state)/control.sock"
        group = "\(group)"
        [metrics]
        textfile = "\(state)/gearbox.prom"
        [profile]
        power_supply = "\(supply)"
        [profile.ac]
        profile = "\(ac)"
        [profile.battery]
        profile = "balanced"
        low_profile = "power-saver"
        low_percent = 20
        [[queue]]
        name = "web"
        arrival_rate = 400
        mean_work_ms = 2
        latency = { mean_ms = 10 }
        cpus = "0-3"
        """
    }

    /// A test's pieces: fixture tree, power supplies, state directory, config, emulation library.
    struct Setup {
        /// Runs gearboxd on this setup's tree and configuration with its system bus at
        /// `busAddress` and its standard error in `log`; `body` runs meanwhile, and the agent
        /// is sent SIGTERM when it returns.
        func runAgent(busAddress: String, log: NamespaceRunner.LiveOutput,
                      _ body: (Process) throws -> Void) throws -> NamespaceRunner.Result {
            try withoutActuallyEscaping(body) { body in
                try NamespaceRunner.run(
                    "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot,
                    environment: ["LD_PRELOAD": preload, "DBUS_SYSTEM_BUS_ADDRESS": busAddress], liveStandardError: log
                ) { process, _ in
                    defer { kill(process.processIdentifier, SIGTERM) }
                    try body(process)
                }
            }
        }

        let directory: TemporaryDirectory
        let tree: FixtureTree
        let before: [String: String]
        let supply: String
        let state: String
        let configPath: String
        let preload: String

        init(fixture: String, ac: String = "balanced", group: String = "") throws {
            directory = try TemporaryDirectory()
            preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
            tree = try FixtureTree(fixture: fixture)
            before = try tree.contents()
            supply = directory.file("power_supply")
            try FixtureTree.run("/bin/cp", ["-a", FixtureTree.fixturesRoot.appendingPathComponent("laptop-power-supply/power_supply").path, supply])
            state = directory.file("state")
            configPath = directory.file("gearbox.toml")
            try PowerProfilesEndToEndTests.config(state: state, supply: supply, ac: ac, group: group)
                .write(toFile: configPath, atomically: true, encoding: .utf8)
        }

        func remove() {
            tree.remove()
            directory.remove()
        }

        var plan: [String: Any] { GearboxdEndToEndTests.readJSON(state + "/plan.json") }
        var planProfile: String? { (plan["profile"] as? [String: Any])?["name"] as? String }
        var webTarget: Double? { ((plan["queues"] as? [[String: Any]])?.first { $0["name"] as? String == "web" })?["target_ms"] as? Double }
        func file(_ relative: String) -> String? { try? String(contentsOfFile: tree.cpuRoot.appendingPathComponent(relative).path, encoding: .utf8) }
        func setSupply(_ relative: String, _ value: String) throws {
            try (value + "\n").write(toFile: supply + "/" + relative, atomically: false, encoding: .utf8)
        }

        /// Waits until the metrics file (written once per tick) has been replaced `count` more times.
        func waitTicks(_ count: Int, timeout: Duration = .seconds(60)) -> Bool {
            func inode() -> UInt64? {
                var s = stat()
                return stat(state + "/gearbox.prom", &s) == 0 ? UInt64(s.st_ino) : nil
            }
            var last = inode()
            var seen = 0
            return waitUntil(timeout: timeout) {
                let now = inode()
                if now != last { seen += 1; last = now }
                return seen >= count
            }
        }
    }

    static func occurrences(of fragment: String, in text: String) -> Int {
        text.components(separatedBy: fragment).count - 1
    }

    @Test(.enabled(if: haveClients, "no powerprofilesctl or busctl (scripts/install-deps)"))
    func powerprofilesctlListsGetsSetsAndHoldsAndChangesThePlan() throws {
        let setup = try Setup(fixture: "amd-pstate-epp")
        defer { setup.remove() }
        let bus = try PrivateSystemBus()
        defer { bus.stop() }
        let log = NamespaceRunner.LiveOutput()
        let ctl = Self.powerprofilesctl
        let result = try setup.runAgent(busAddress: bus.address, log: log) { process in
            let served = waitUntil(timeout: .seconds(120)) { (try? bus.run(ctl, ["get"]))?.standardOutput == "balanced\n" }
            try #require(served, "powerprofilesctl never got an answer: \(log.text)")
            #expect(setup.webTarget == 10, "balanced plans the target as written")

            let list = try bus.run(ctl, ["list"])
            #expect(list.status == 0, "\(list.standardError)")
            for line in ["  performance:", "* balanced:", "  power-saver:"] {
                #expect(list.standardOutput.contains(line), "list: \(list.standardOutput)")
            }

            let set = try bus.run(ctl, ["set", "power-saver"])
            #expect(set.status == 0, "\(set.standardError)")
            #expect(try bus.run(ctl, ["get"]).standardOutput == "power-saver\n")
            #expect(waitUntil(timeout: .seconds(60)) { setup.planProfile == "power-saver" && setup.webTarget == 20 },
                    "plan.json: \(setup.plan["profile"] ?? "none"), target \(setup.webTarget ?? -1)")
            // power-saver allows no boost and an EPP no more performance-leaning than balance_power.
            let policies = (0..<8).map { "cpufreq/policy\($0)" }
            #expect(waitUntil(timeout: .seconds(30)) {
                policies.allSatisfy { setup.file("\($0)/boost") == "0\n" }
                    && policies.allSatisfy { ["power\n", "balance_power\n"].contains(setup.file("\($0)/energy_performance_preference") ?? "") }
            }, "\(policies.map { (setup.file("\($0)/boost") ?? "?") + (setup.file("\($0)/energy_performance_preference") ?? "?") })")

            // A hold lasts as long as the launched process, then the chosen profile is back.
            let launch = try bus.run(ctl, ["launch", "--profile", "performance", "sleep", "1"], timeout: .seconds(60))
            #expect(launch.status == 0, "\(launch.standardError)")
            #expect(waitUntil(timeout: .seconds(30)) {
                log.text.contains("power profile power-saver -> performance: held by sleep")
                    && log.text.contains("power profile performance -> power-saver: hold")
            }, "\(log.text)")
            #expect(log.text.contains("new plan") && log.text.contains("power profile performance: held by sleep"),
                    "the hold re-planned")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "power-saver" })

            for (name, path) in [("org.freedesktop.UPower.PowerProfiles", "/org/freedesktop/UPower/PowerProfiles"),
                                 ("net.hadess.PowerProfiles", "/net/hadess/PowerProfiles")] {
                let introspect = try bus.run(Self.busctl, ["--address=\(bus.address)", "introspect", name, path])
                #expect(introspect.status == 0, "\(introspect.standardError)")
                for member in [name, ".HoldProfile", ".ReleaseProfile", ".ActiveProfile", ".ActiveProfileHolds",
                               ".Profiles", ".PerformanceDegraded", ".Actions", ".Version", ".ProfileReleased"] {
                    #expect(introspect.standardOutput.contains(member), "\(name) lacks \(member)")
                }
            }

            // Switching needs root or the configured group (none here; no polkit on this bus).
            let refused = try bus.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ctl, "set", "performance"])
            #expect(refused.status != 0)
            #expect(refused.standardError.contains("AccessDenied") && refused.standardError.contains("uid 65534"), "\(refused.standardError)")
            #expect(try bus.run(ctl, ["get"]).standardOutput == "power-saver\n")
            // Reading is open to everyone.
            let read = try bus.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ctl, "get"])
            #expect(read.standardOutput == "power-saver\n", "\(read.standardError)")

            // The control socket: status names the profile and each domain's mechanism, and
            // `gearboxctl profile` chooses as the bus does.
            let gearboxctl = NamespaceRunner.productsDirectory.appendingPathComponent("gearboxctl").path
            let socket = ["--socket", setup.state + "/control.sock"]
            let status = try Child.run(gearboxctl, ["status", "--json"] + socket)
            let document = (try? JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8))) as? [String: Any] ?? [:]
            #expect((document["profile"] as? [String: Any])?["active"] as? String == "power-saver", "\(status.standardOutput)")
            let mechanisms = (document["domains"] as? [[String: Any]] ?? []).compactMap { $0["mechanism"] as? String }
            #expect(mechanisms.count == 8 && mechanisms.allSatisfy { $0 == "limit-clamps+epp" }, "\(mechanisms)")
            let chosen = try Child.run(gearboxctl, ["profile", "balanced"] + socket)
            #expect(chosen.status == 0, "\(chosen.standardError)")
            #expect(try bus.run(ctl, ["get"]).standardOutput == "balanced\n")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "balanced" && setup.webTarget == 10 })
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")
        let after = try setup.tree.contents()
        #expect(changedFiles(setup.before, after).isEmpty, "not restored: \(changedFiles(setup.before, after).keys.sorted())")
        // The choice was saved for the next start.
        let saved = try String(contentsOfFile: setup.state + "/power-profile.json", encoding: .utf8)
        #expect(saved.contains("\"profile\":\"balanced\""), "\(saved)")
    }

    @Test func eppAndBoostAreWrittenAsTheProfileSaysAndRestoredAfterSIGKILL() throws {
        let setup = try Setup(fixture: "intel-pstate-hybrid", ac: "power-saver")
        defer { setup.remove() }
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", setup.configPath, "--log-to", "stderr"], cpuTree: setup.tree.cpuRoot,
            environment: ["LD_PRELOAD": setup.preload, "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"]
        ) { process, _ in
            // power-saver: intel_pstate's no_turbo set, every EPP at most balance_power.
            let written = waitUntil(timeout: .seconds(120)) {
                setup.planProfile == "power-saver" && setup.file("intel_pstate/no_turbo") == "1\n"
                    && (0..<8).allSatisfy { ["power\n", "balance_power\n"].contains(setup.file("cpu\($0)/cpufreq/energy_performance_preference") ?? "") }
            }
            #expect(written, "no_turbo \(setup.file("intel_pstate/no_turbo") ?? "?")")
            kill(process.processIdentifier, SIGKILL)
        }
        #expect(result.killedBySignal)
        #expect(!changedFiles(setup.before, try setup.tree.contents()).isEmpty, "the run changed nothing")
        let restore = try NamespaceRunner.run(
            "gearboxd", ["--config", setup.configPath, "--restore", "--log-to", "stderr"], cpuTree: setup.tree.cpuRoot,
            environment: ["LD_PRELOAD": setup.preload])
        #expect(restore.status == 0, "\(restore.stderr)")
        let after = try setup.tree.contents()
        #expect(changedFiles(setup.before, after).isEmpty, "not restored: \(changedFiles(setup.before, after).keys.sorted())")
    }

    @Test(.enabled(if: haveClients, "no powerprofilesctl (scripts/install-deps)"))
    func unpluggingAndDrainingSwitchProfilesOnceWithHysteresisAndAUserChoiceWinsUntilTheSourceChanges() throws {
        // nobody's primary group is the configured one: it may switch profiles.
        let setup = try Setup(fixture: "acpi-cpufreq-8cpu", ac: "performance", group: "nogroup")
        defer { setup.remove() }
        let bus = try PrivateSystemBus()
        defer { bus.stop() }
        let log = NamespaceRunner.LiveOutput()
        let result = try setup.runAgent(busAddress: bus.address, log: log) { process in
            try #require(waitUntil(timeout: .seconds(120)) { setup.planProfile == "performance" }, "\(log.text)")
            #expect(log.text.contains("power profile performance (default for power source ac)"))

            // Unplugged: the battery's profile, once.
            try setup.setSupply("AC/online", "0")
            try setup.setSupply("BAT0/status", "Discharging")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "balanced" }, "\(log.text)")
            #expect(setup.waitTicks(3))
            #expect(Self.occurrences(of: "power source: battery", in: log.text) == 1, "\(log.text)")
            #expect(Self.occurrences(of: "power profile performance -> balanced: power source changed", in: log.text) == 1)

            // Low battery: at the threshold, the low-battery profile.
            try setup.setSupply("BAT0/capacity", "19")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "power-saver" }, "\(log.text)")
            #expect(waitUntil(timeout: .seconds(30)) { log.text.contains("power source: low-battery (battery 19 %)") })
            // 22 % is inside the 5 % hysteresis band above 20 %: still low.
            try setup.setSupply("BAT0/capacity", "22")
            #expect(setup.waitTicks(3))
            #expect(setup.planProfile == "power-saver")
            #expect(Self.occurrences(of: "power source:", in: log.text) == 2, "\(log.text)")
            try setup.setSupply("BAT0/capacity", "26")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "balanced" }, "\(log.text)")
            // The log reaches the test through a pipe read by a thread of its own: the line may
            // arrive after the plan file shows the change.
            #expect(waitUntil(timeout: .seconds(30)) { Self.occurrences(of: "power source: battery", in: log.text) >= 2 })
            #expect(Self.occurrences(of: "power source: battery", in: log.text) == 2, "\(log.text)")

            // A user's choice (here a member of the configured group) stands while the source stays ...
            let member = try bus.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Self.powerprofilesctl, "set", "power-saver"])
            #expect(member.status == 0, "\(member.standardError)")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "power-saver" })
            #expect(setup.waitTicks(3))
            #expect(setup.planProfile == "power-saver")
            // ... and gives way to the new source's default when it changes.
            try setup.setSupply("AC/online", "1")
            try setup.setSupply("BAT0/status", "Charging")
            #expect(waitUntil(timeout: .seconds(30)) { setup.planProfile == "performance" }, "\(log.text)")
            #expect(waitUntil(timeout: .seconds(30)) { log.text.contains("power source: ac") })
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")
        #expect(changedFiles(setup.before, try setup.tree.contents()).isEmpty)
    }

    /// What a firmware does to the limits over a suspend, and logind's signal after it.
    @Test func aLimitChangedBehindTheAgentsBackIsWrittenAgainWithinOneTickAndSoIsEverythingAfterAResume() throws {
        let setup = try Setup(fixture: "amd-pstate-epp")
        defer { setup.remove() }
        let bus = try PrivateSystemBus(allowOwning: ["org.freedesktop.login1"])
        defer { bus.stop() }
        let log = NamespaceRunner.LiveOutput()
        let result = try setup.runAgent(busAddress: bus.address, log: log) { process in
            try #require(waitUntil(timeout: .seconds(120)) { setup.planProfile == "balanced" && log.text.contains("serving the power-profiles") },
                         "\(log.text)")
            // A domain off the web queue's CPUs runs one steady speed: its limits are clamped to it.
            let domain = "cpufreq/policy6"
            try #require(setup.waitTicks(2))
            let clamped = try #require(setup.file("\(domain)/scaling_max_freq"))
            let hardwareMax = try #require(setup.file("\(domain)/cpuinfo_max_freq"))
            try #require(clamped != hardwareMax, "the plan does not clamp \(domain)")
            try hardwareMax.write(toFile: setup.tree.cpuRoot.appendingPathComponent("\(domain)/scaling_max_freq").path,
                                  atomically: false, encoding: .utf8)
            // Read back and re-applied by the second tick that ends after the change.
            #expect(setup.waitTicks(2))
            #expect(setup.file("\(domain)/scaling_max_freq") == clamped, "not re-applied within one tick")
            #expect(log.text.contains("changed behind the agent's back"), "\(log.text)")

            // logind's PrepareForSleep(false): everything is written again, and logged.
            let emitter = """
                from gi.repository import Gio, GLib
                bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
                bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'RequestName',
                              GLib.Variant('(su)', ('org.freedesktop.login1', 0)), None, 0, -1, None)
                bus.emit_signal(None, '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep',
                                GLib.Variant('(b)', (False,)))
                bus.flush_sync(None)
                """
            let woke = try bus.run("/usr/bin/python3", ["-c", emitter])
            #expect(woke.status == 0, "\(woke.standardError)")
            #expect(waitUntil(timeout: .seconds(30)) { log.text.contains("carrying out the plan again: logind: resumed from sleep") },
                    "\(log.text)")
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")
        #expect(changedFiles(setup.before, try setup.tree.contents()).isEmpty)
    }
}
