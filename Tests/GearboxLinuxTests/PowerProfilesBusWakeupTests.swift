import Foundation
import GearboxTestSupport
import Glibc
import Testing

/// gearboxd's power-profiles D-Bus thread sleeps until something happens (docs/laptops.md):
/// it does not wake on a timer while idle, connected or not, and a profile changed elsewhere
/// (here the control socket) reaches a D-Bus client's PropertiesChanged subscription at once.
/// The thread is found by its name; its sleeps are counted as the kernel counts them.
@Suite(.serialized, .needsMountNamespace,
       .enabled(if: PrivateSystemBus.available, "no dbus-daemon (apt-get install dbus-daemon)"))
struct PowerProfilesBusWakeupTests {
    static let threadName = "gearbox-dbus"
    /// Agent ticks (200 ms each, longer on a loaded machine) the idle thread is watched for:
    /// a thread looking every 100 ms would wake at least 16 times.
    static let idleTicks = 8
    static let allowedWakeups = 3

    /// Prints `PATH PROFILE` for every PropertiesChanged carrying ActiveProfile to the file
    /// named by its argument, after "subscribed" once its match is in place.
    static let subscriber = """
        import sys
        from gi.repository import Gio, GLib
        out = open(sys.argv[1], 'a', buffering=1)
        bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
        def changed(connection, sender, path, interface, signal, parameters):
            _, properties, _ = parameters.unpack()
            if 'ActiveProfile' in properties:
                out.write(path + ' ' + properties['ActiveProfile'] + '\\n')
        bus.signal_subscribe(None, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', None, None,
                             Gio.DBusSignalFlags.NONE, changed)
        # The bus handles messages in order: once this answer is back, the match is in place.
        bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId',
                      None, None, Gio.DBusCallFlags.NONE, -1, None)
        out.write('subscribed\\n')
        GLib.MainLoop().run()
        """

    /// The bus thread of `pid`, once it has named itself.
    static func busThread(of pid: pid_t) -> Int32? {
        var found: Int32?
        _ = waitUntil(timeout: .seconds(30)) {
            found = ThreadWakeups.threads(of: "\(pid)", named: threadName).first
            return found != nil
        }
        return found
    }

    /// How often the thread slept and woke while the agent made `idleTicks` ticks.
    static func wakeups(of thread: Int32, in pid: pid_t, setup: PowerProfilesEndToEndTests.Setup) throws -> Int {
        let before = try #require(ThreadWakeups.voluntarySwitches(of: thread, in: "\(pid)"))
        try #require(setup.waitTicks(idleTicks))
        return try #require(ThreadWakeups.voluntarySwitches(of: thread, in: "\(pid)")) - before
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "no python3 (scripts/install-deps)"))
    func theIdleBusThreadSleepsAndAChangeMadeElsewhereIsAnnouncedAtOnce() throws {
        let setup = try PowerProfilesEndToEndTests.Setup(fixture: "amd-pstate-epp")
        defer { setup.remove() }
        let bus = try PrivateSystemBus()
        defer { bus.stop() }
        let log = NamespaceRunner.LiveOutput()
        let result = try setup.runAgent(busAddress: bus.address, log: log) { process in
            let pid = process.processIdentifier
            try #require(waitUntil(timeout: .seconds(120)) { setup.planProfile == "balanced" && log.text.contains("serving the power-profiles") },
                         "\(log.text)")
            let thread = try #require(Self.busThread(of: pid), "no thread named \(Self.threadName)")
            // Settled: the start-up's bus traffic is done.
            try #require(setup.waitTicks(2))
            let woke = try Self.wakeups(of: thread, in: pid, setup: setup)
            #expect(woke <= Self.allowedWakeups, "the idle D-Bus thread woke \(woke) times in \(Self.idleTicks) ticks")

            let signals = setup.directory.file("signals")
            let client = try Child("/usr/bin/python3", ["-c", Self.subscriber, signals], environment: bus.environment)
            defer {
                kill(client.pid, SIGTERM)
                _ = client.finish()
            }
            func received() -> String { (try? String(contentsOfFile: signals, encoding: .utf8)) ?? "" }
            try #require(waitUntil(timeout: .seconds(60)) { received().contains("subscribed") }, "the subscriber never subscribed")

            // A change made elsewhere: the control socket, not the bus.
            let gearboxctl = NamespaceRunner.productsDirectory.appendingPathComponent("gearboxctl").path
            let chosen = try Child.run(gearboxctl, ["profile", "power-saver", "--socket", setup.state + "/control.sock"])
            #expect(chosen.status == 0, "\(chosen.standardError)")
            #expect(waitUntil(timeout: .seconds(30)) {
                received().contains("/org/freedesktop/UPower/PowerProfiles power-saver")
                    && received().contains("/net/hadess/PowerProfiles power-saver")
            }, "PropertiesChanged: \(received())")
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")
    }

    @Test func withoutABusTheThreadSleepsFromOneTryToTheNext() throws {
        let setup = try PowerProfilesEndToEndTests.Setup(fixture: "amd-pstate-epp")
        defer { setup.remove() }
        let log = NamespaceRunner.LiveOutput()
        let result = try setup.runAgent(busAddress: "unix:path=/nonexistent", log: log) { process in
            let pid = process.processIdentifier
            try #require(waitUntil(timeout: .seconds(120)) { setup.planProfile == "balanced" && log.text.contains("not served, trying again") },
                         "\(log.text)")
            let thread = try #require(Self.busThread(of: pid), "no thread named \(Self.threadName)")
            // One try every 5 s; the window may hold one.
            let woke = try Self.wakeups(of: thread, in: pid, setup: setup)
            #expect(woke <= Self.allowedWakeups, "the D-Bus thread woke \(woke) times in \(Self.idleTicks) ticks without a bus")
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")
    }
}
