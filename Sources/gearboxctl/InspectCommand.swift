import ArgumentParser
import GearboxControl
import GearboxLinux

/// `gearboxctl inspect`: the platform as sysfs shows it (docs/formats.md).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show this host's cpufreq domains, CPUs, drivers, frequencies, limits, capacities and energy counters.",
        discussion: """
            Reads /sys/devices/system/cpu through libcpufreq and /sys/class/powercap; needs no \
            daemon and no root. --toml prints a platform file with gearbox's default power model, \
            to edit and give to `gearboxctl plan --platform`. Exit status 2 when the host has no \
            cpufreq (a VM or a container).
            """
    )

    @Flag(help: "Print JSON (fields in docs/formats.md).")
    var json = false

    @Flag(help: "Print a platform file (TOML).")
    var toml = false

    func validate() throws {
        if json && toml { throw ValidationError("give --json or --toml, not both") }
    }

    func run() throws {
        let inventory: HostInventory
        do {
            inventory = try HostDiscovery().inventory()
        } catch {
            throw ConfigFailure(message: error.description)
        }
        if json {
            print(inventory.json().rendered(pretty: true))
        } else if toml {
            print(inventory.platformTOML(), terminator: "")
        } else {
            print(inventory.table())
        }
    }
}
