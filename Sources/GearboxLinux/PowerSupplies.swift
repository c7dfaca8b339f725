import GearboxCore

/// The power supplies of `/sys/class/power_supply`: whether an adapter is online and how
/// full the system's batteries are.
public struct PowerSupplies: Sendable {
    /// `/sys/class/power_supply`; tests point it at a fixture.
    public var root: String

    public init(root: String = "/sys/class/power_supply") { self.root = root }

    /// Adapters (`Mains`, `USB`, `USB_*`, `Wireless`) count when `online` reads 1; batteries
    /// of scope `Device` (a mouse, a headset) are left out. Capacities are averaged and
    /// checked into [0, 100]; unreadable or junk values are skipped.
    public func read() -> PowerSupplyReading {
        var adapters: [Bool] = []
        var capacities: [Double] = []
        for name in (SysfsFile.list(root) ?? []).sorted().prefix(64) {
            let base = "\(root)/\(name)"
            guard let type = SysfsFile.readTrimmed("\(base)/type") else { continue }
            if type == "Battery" {
                if SysfsFile.readTrimmed("\(base)/scope") == "Device" { continue }
                guard SysfsFile.readTrimmed("\(base)/present") != "0" else { continue }
                if let c = SysfsFile.readTrimmed("\(base)/capacity").flatMap(Double.init), c.isFinite, c >= 0, c <= 100 {
                    capacities.append(c)
                }
                // A battery that says it charges or is full has power from somewhere.
                if let status = SysfsFile.readTrimmed("\(base)/status"), status == "Charging" { adapters.append(true) }
            } else if let online = SysfsFile.readTrimmed("\(base)/online") {
                adapters.append(online == "1")
            }
        }
        return PowerSupplyReading(
            externalPower: adapters.isEmpty ? nil : adapters.contains(true),
            batteryPercent: capacities.isEmpty ? nil : capacities.reduce(0, +) / Double(capacities.count))
    }
}
