import GearboxCore
import GearboxLinux

/// The platform of the host gearboxctl runs on, read from sysfs with the default power model
/// (docs/formats.md, "Platform from sysfs").
enum HostPlatform {
    static func discover() throws -> Platform {
        do {
            return try HostDiscovery().platform()
        } catch {
            throw ConfigFailure(message: "\(error.description) (give --platform FILE to plan for another machine; see configs/examples/)")
        }
    }
}
