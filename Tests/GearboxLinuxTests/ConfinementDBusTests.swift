import Foundation
import Glibc
import GearboxTestSupport
import Testing

/// gearboxd confining a systemd unit through systemd's D-Bus API. systemd cannot run as PID 1
/// here, so the bus is a private dbus-daemon and org.freedesktop.systemd1 on it a small
/// stand-in (`FakeSystemd.script`) that keeps one unit's `AllowedCPUs` and records every call;
/// gearboxd and its sd-bus client are the shipped code, pointed at the bus by
/// `DBUS_SYSTEM_BUS_ADDRESS`.
@Suite(.serialized, .needsMountNamespace) struct ConfinementDBusTests {
    @Test(.enabled(if: FakeSystemd.unavailableReason == nil, Comment(rawValue: FakeSystemd.unavailableReason ?? "dbus-daemon and python3-dbus are installed")))
    func setUnitPropertiesFollowsEachPlanAndPutsTheOriginalBack() throws {
        let systemd = try FakeSystemd(allowedCPUs: [0b11])
        defer { systemd.stop() }
        let agent = try AgentUnderFault(
            fixture: "acpi-cpufreq-8cpu", queues: ConfinementEndToEndTests.queue("unit = \"web.service\"", cpus: "0"))
        defer { agent.remove() }
        let environment = ["DBUS_SYSTEM_BUS_ADDRESS": systemd.address]
        let result = try agent.run(environment: environment) { _ in
            #expect(waitUntil(timeout: .seconds(30)) { systemd.allowedCPUs == [0b01] }, "\(systemd.calls)")
            try ConfinementEndToEndTests.setQueueCPUs(agent, from: "0", to: "1")
            #expect(agent.control(["reload"]).status == 0)
            #expect(waitUntil(timeout: .seconds(30)) { systemd.allowedCPUs == [0b10] }, "\(systemd.calls)")
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(systemd.allowedCPUs == [0b11], "restored on SIGTERM: \(systemd.calls)")
        let calls = systemd.calls
        // The original is read before the first change; every change is runtime-only.
        #expect(calls.first?["member"] as? String == "Get", "\(calls)")
        #expect(calls.first?["property"] as? String == "AllowedCPUs" && calls.first?["interface"] as? String == "org.freedesktop.systemd1.Service")
        let sets = calls.filter { $0["member"] as? String == "SetUnitProperties" }
        #expect(sets.map { $0["value"] as? [Int] ?? [] } == [[1], [2], [3]], "\(sets)")
        #expect(sets.allSatisfy { $0["runtime"] as? Bool == true && $0["unit"] as? String == "web.service" })
    }

    @Test(.enabled(if: FakeSystemd.unavailableReason == nil, Comment(rawValue: FakeSystemd.unavailableReason ?? "dbus-daemon and python3-dbus are installed")))
    func anUnknownUnitIsLoggedOnceAndLeftAlone() throws {
        let systemd = try FakeSystemd(allowedCPUs: [0b11])
        defer { systemd.stop() }
        let agent = try AgentUnderFault(
            fixture: "acpi-cpufreq-8cpu", queues: ConfinementEndToEndTests.queue("unit = \"other.service\"", cpus: "0"))
        defer { agent.remove() }
        let result = try agent.run(environment: ["DBUS_SYSTEM_BUS_ADDRESS": systemd.address]) { _ in
            #expect(agent.waitForLog { $0.contains("cannot confine queue web") && $0.contains("NoSuchUnit") })
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(systemd.calls.allSatisfy { $0["member"] as? String != "SetUnitProperties" }, "\(systemd.calls)")
    }
}

/// A private dbus-daemon with a stand-in for systemd's Manager on it.
final class FakeSystemd: @unchecked Sendable {
    let directory: TemporaryDirectory
    let daemon: Child
    let service: Child
    let address: String
    let log: String

    static let python = "/usr/bin/python3"
    static let dbusDaemon = "/usr/bin/dbus-daemon"

    static var unavailableReason: String? {
        guard FileManager.default.isExecutableFile(atPath: dbusDaemon) else { return "no dbus-daemon (apt-get install dbus-daemon)" }
        let probe = try? Child.run(python, ["-c", "import dbus, dbus.service, dbus.mainloop.glib; from gi.repository import GLib"])
        guard probe?.status == 0 else { return "no python3 dbus bindings (apt-get install python3-dbus python3-gi)" }
        return nil
    }

    /// Records each call as one JSON line; `SetUnitProperties` changes the unit's AllowedCPUs.
    static let script = """
        import sys, json, dbus, dbus.service, dbus.mainloop.glib
        from gi.repository import GLib
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        bus = dbus.bus.BusConnection(sys.argv[1])
        log = open(sys.argv[2], "a")
        units = {"web.service": [int(b) for b in sys.argv[3].split(",") if b]}
        def record(entry):
            log.write(json.dumps(entry) + "\\n"); log.flush()
        def path_of(unit):
            return "/org/freedesktop/systemd1/unit/" + "".join(c if c.isalnum() else "_%02x" % ord(c) for c in unit)
        class Unit(dbus.service.Object):
            def __init__(self, unit):
                dbus.service.Object.__init__(self, bus, path_of(unit))
                self.unit = unit
            @dbus.service.method("org.freedesktop.DBus.Properties", in_signature="ss", out_signature="v")
            def Get(self, interface, prop):
                record({"member": "Get", "unit": self.unit, "interface": str(interface), "property": str(prop)})
                return dbus.Array([dbus.Byte(b) for b in units[self.unit]], signature="y")
        objects = {}
        class Manager(dbus.service.Object):
            @dbus.service.method("org.freedesktop.systemd1.Manager", in_signature="s", out_signature="o")
            def LoadUnit(self, unit):
                record({"member": "LoadUnit", "unit": str(unit)})
                if unit not in units:
                    raise dbus.exceptions.DBusException("Unit %s not found." % unit, name="org.freedesktop.systemd1.NoSuchUnit")
                if unit not in objects:
                    objects[unit] = Unit(str(unit))
                return dbus.ObjectPath(path_of(unit))
            @dbus.service.method("org.freedesktop.systemd1.Manager", in_signature="sba(sv)", out_signature="")
            def SetUnitProperties(self, unit, runtime, properties):
                if unit not in units:
                    raise dbus.exceptions.DBusException("Unit %s not found." % unit, name="org.freedesktop.systemd1.NoSuchUnit")
                for name, value in properties:
                    record({"member": "SetUnitProperties", "unit": str(unit), "runtime": bool(runtime),
                            "property": str(name), "value": [int(b) for b in value]})
                    if name == "AllowedCPUs":
                        units[str(unit)] = [int(b) for b in value]
        Manager(bus, "/org/freedesktop/systemd1")
        name = dbus.service.BusName("org.freedesktop.systemd1", bus)
        record({"member": "ready"})
        GLib.MainLoop().run()
        """

    init(allowedCPUs: [UInt8]) throws {
        directory = try TemporaryDirectory()
        let socket = directory.file("system_bus_socket")
        address = "unix:path=\(socket)"
        log = directory.file("calls.jsonl")
        let config = directory.file("bus.conf")
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>\(address)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_destination="*"/>
                <allow receive_sender="*"/>
              </policy>
            </busconfig>
            """.write(toFile: config, atomically: true, encoding: .utf8)
        daemon = try Child(Self.dbusDaemon, ["--config-file=\(config)", "--nofork", "--nopidfile"])
        try #require(waitUntil(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: socket) }, "dbus-daemon did not start")
        try "".write(toFile: log, atomically: true, encoding: .utf8)
        service = try Child(Self.python, ["-c", Self.script, address, log, allowedCPUs.map(String.init).joined(separator: ",")])
        try #require(waitUntil(timeout: .seconds(20)) { self.entries.contains { $0["member"] as? String == "ready" } },
                     "the stand-in for systemd did not start")
    }

    private var entries: [[String: Any]] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Every call after start-up, in order.
    var calls: [[String: Any]] { entries.filter { $0["member"] as? String != "ready" && $0["member"] as? String != "LoadUnit" } }

    /// The unit's AllowedCPUs as the last SetUnitProperties left it (nil: never set).
    var allowedCPUs: [Int]? {
        calls.last { $0["member"] as? String == "SetUnitProperties" }?["value"] as? [Int]
    }

    func stop() {
        kill(service.pid, SIGTERM)
        _ = service.finish(timeout: .seconds(10))
        kill(daemon.pid, SIGTERM)
        _ = daemon.finish(timeout: .seconds(10))
        directory.remove()
    }
}
