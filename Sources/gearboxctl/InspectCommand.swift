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

    @Flag(help: "Show each domain's busy power per frequency: the configured curve and the one the running agent learned from the energy counters, side by side.")
    var power = false

    @Option(help: ArgumentHelp("The agent's control socket (for --power).", valueName: "path"))
    var socket = "/run/gearbox/control.sock"

    func validate() throws {
        if json && toml { throw ValidationError("give --json or --toml, not both") }
        if power && toml { throw ValidationError("give --power or --toml, not both") }
    }

    func run() throws {
        if power { return try PowerCurveReport.run(socket: socket, json: json) }
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
