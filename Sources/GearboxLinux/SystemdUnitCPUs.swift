#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystemd
import GearboxCore

/// A systemd unit (service, slice or scope), confined through systemd's D-Bus API:
/// `SetUnitProperties(name, runtime = true, [("AllowedCPUs", ay)])` on
/// org.freedesktop.systemd1, which writes the unit's cpuset and survives no reboot. The
/// original is read as the unit's `AllowedCPUs` property. One connection per call, on the
/// system bus (`$DBUS_SYSTEM_BUS_ADDRESS` when set); calls time out after `timeout`.
///
/// Swift cannot call sd-bus's variadic helpers, so messages are built field by field.
struct SystemdUnitCPUs: CPUConfinement {
    let unit: String
    var description: String { "systemd unit \(unit)" }

    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
    /// Microseconds a call may take.
    static let timeout: UInt64 = 5_000_000
    /// A mask of more bytes than `InputLimits.maximumCPU` needs is refused.
    static let maximumMaskBytes = InputLimits.maximumCPU / 8 + 1

    func save() throws(ConfinementError) -> SavedConfinement {
        let cpus = try withBus { bus throws(ConfinementError) in try allowedCPUs(bus) }
        return SavedConfinement(mechanism: .systemd, target: unit, cpus: CPUList.format(cpus))
    }

    func confine(to cpus: [Int]) throws(ConfinementError) {
        try withBus { bus throws(ConfinementError) in try setAllowedCPUs(cpus, bus) }
    }

    func restore(_ saved: SavedConfinement) throws(ConfinementError) {
        let cpus = try CPUConfinements.parse(saved.cpus, source: "saved AllowedCPUs of \(unit)")
        try withBus { bus throws(ConfinementError) in try setAllowedCPUs(cpus, bus) }
    }

    /// `AllowedCPUs` as a byte mask: bit `i % 8` of byte `i / 8` is CPU `i` (systemd's layout).
    static func mask(_ cpus: [Int]) -> [UInt8] {
        guard let top = cpus.max() else { return [] }
        var bytes = [UInt8](repeating: 0, count: top / 8 + 1)
        for cpu in cpus where cpu >= 0 { bytes[cpu / 8] |= UInt8(1) << UInt8(cpu % 8) }
        return bytes
    }

    static func cpus(fromMask bytes: some Collection<UInt8>) -> [Int] {
        var out: [Int] = []
        for (index, byte) in bytes.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (UInt8(1) << UInt8(bit)) != 0 { out.append(index * 8 + bit) }
        }
        return out
    }

    // MARK: sd-bus

    private func withBus<T>(_ body: (OpaquePointer) throws(ConfinementError) -> T) throws(ConfinementError) -> T {
        var bus: OpaquePointer?
        let r = sd_bus_open_system(&bus)
        guard r >= 0, let bus else { throw failure("cannot connect to the system bus", r) }
        defer { sd_bus_flush_close_unref(bus) }
        return try body(bus)
    }

    private func setAllowedCPUs(_ cpus: [Int], _ bus: OpaquePointer) throws(ConfinementError) {
        let message = try newCall(bus, path: Self.managerPath, interface: Self.managerInterface, member: "SetUnitProperties")
        defer { sd_bus_message_unref(message) }
        var runtime: Int32 = 1
        let mask = Self.mask(cpus)
        var r = appendString(message, "s", unit)
        if r >= 0 { r = sd_bus_message_append_basic(message, Self.type("b"), &runtime) }
        if r >= 0 { r = sd_bus_message_open_container(message, Self.type("a"), "(sv)") }
        if r >= 0 { r = sd_bus_message_open_container(message, Self.type("r"), "sv") }
        if r >= 0 { r = appendString(message, "s", "AllowedCPUs") }
        if r >= 0 { r = sd_bus_message_open_container(message, Self.type("v"), "ay") }
        if r >= 0 { r = mask.withUnsafeBytes { sd_bus_message_append_array(message, Self.type("y"), $0.baseAddress, $0.count) } }
        for _ in 0..<3 where r >= 0 { r = sd_bus_message_close_container(message) }
        guard r >= 0 else { throw failure("cannot build SetUnitProperties", r) }
        sd_bus_message_unref(try call(bus, message, what: "SetUnitProperties(\(unit), AllowedCPUs=\(CPUList.format(cpus)))"))
    }

    private func allowedCPUs(_ bus: OpaquePointer) throws(ConfinementError) -> [Int] {
        let path = try unitPath(bus)
        let message = try newCall(bus, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get")
        defer { sd_bus_message_unref(message) }
        var r = appendString(message, "s", unitInterface)
        if r >= 0 { r = appendString(message, "s", "AllowedCPUs") }
        guard r >= 0 else { throw failure("cannot build Get(AllowedCPUs)", r) }
        let reply = try call(bus, message, what: "Get \(unit) AllowedCPUs")
        defer { sd_bus_message_unref(reply) }
        guard sd_bus_message_enter_container(reply, Self.type("v"), "ay") >= 0 else {
            throw ConfinementError("systemd answered AllowedCPUs of \(unit) with something other than a byte array")
        }
        var bytes: UnsafeRawPointer?
        var size = 0
        r = sd_bus_message_read_array(reply, Self.type("y"), &bytes, &size)
        guard r >= 0 else { throw failure("cannot read AllowedCPUs of \(unit)", r) }
        guard size <= Self.maximumMaskBytes else { throw ConfinementError("AllowedCPUs of \(unit) is \(size) bytes, more than CPUs exist") }
        guard let bytes, size > 0 else { return [] }
        return Self.cpus(fromMask: UnsafeRawBufferPointer(start: bytes, count: size))
    }

    /// The unit's object path (`LoadUnit` loads it when it is not).
    private func unitPath(_ bus: OpaquePointer) throws(ConfinementError) -> String {
        let message = try newCall(bus, path: Self.managerPath, interface: Self.managerInterface, member: "LoadUnit")
        defer { sd_bus_message_unref(message) }
        let r = appendString(message, "s", unit)
        guard r >= 0 else { throw failure("cannot build LoadUnit", r) }
        let reply = try call(bus, message, what: "LoadUnit(\(unit))")
        defer { sd_bus_message_unref(reply) }
        var path: UnsafePointer<CChar>?
        guard sd_bus_message_read_basic(reply, Self.type("o"), &path) >= 0, let path else {
            throw ConfinementError("systemd answered LoadUnit(\(unit)) without an object path")
        }
        let text = String(cString: path)
        guard text.utf8.count <= 1024 else { throw ConfinementError("systemd answered LoadUnit(\(unit)) with an over-long path") }
        return text
    }

    /// The D-Bus interface that carries `AllowedCPUs` for this kind of unit.
    private var unitInterface: String {
        if unit.hasSuffix(".slice") { return "org.freedesktop.systemd1.Slice" }
        if unit.hasSuffix(".scope") { return "org.freedesktop.systemd1.Scope" }
        return "org.freedesktop.systemd1.Service"
    }

    private func newCall(_ bus: OpaquePointer, path: String, interface: String, member: String) throws(ConfinementError) -> OpaquePointer {
        var message: OpaquePointer?
        let r = sd_bus_message_new_method_call(bus, &message, Self.destination, path, interface, member)
        guard r >= 0, let message else { throw failure("cannot create a \(member) call", r) }
        return message
    }

    private func call(_ bus: OpaquePointer, _ message: OpaquePointer, what: String) throws(ConfinementError) -> OpaquePointer {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let r = sd_bus_call(bus, message, Self.timeout, &error, &reply)
        guard r >= 0, let reply else {
            let name = error.name.map { String(cString: $0) } ?? Errno.name(-r)
            let text = error.message.map { String(cString: $0) } ?? Errno.message(-r)
            throw ConfinementError("systemd refused \(what): \(text.prefix(200)) (\(name.prefix(100)))")
        }
        return reply
    }

    private func appendString(_ message: OpaquePointer, _ type: Character, _ value: String) -> Int32 {
        value.withCString { sd_bus_message_append_basic(message, Self.type(type), $0) }
    }

    private static func type(_ c: Character) -> CChar { CChar(bitPattern: c.asciiValue!) }

    private func failure(_ what: String, _ r: Int32) -> ConfinementError {
        ConfinementError("\(what) for \(unit): \(Errno.message(-r)) (\(Errno.name(-r)))")
    }
}
