import GearboxCore

/// The platform of the host gearboxctl runs on, read from sysfs.
enum HostPlatform {
    static func discover() throws -> Platform {
        throw ConfigFailure(message: "reading this host's sysfs is not built yet: give --platform FILE (see configs/examples/)")
    }
}
