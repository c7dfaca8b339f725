// swift-tools-version: 6.1
import PackageDescription

// Layout (README, "Layout"): a pure core, a thin Linux edge, an agent that
// wires them, and thin executables. Benchmarks live in their own package under
// Benchmarks/ so that `swift build` and CI do not pay for the benchmark toolchain.
let package = Package(
    name: "gearbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gearboxd", targets: ["gearboxd"]),
        .executable(name: "gearboxctl", targets: ["gearboxctl"]),
        .library(name: "GearboxCore", targets: ["GearboxCore"]),
        .library(name: "GearboxSimulator", targets: ["GearboxSimulator"]),
        .library(name: "GearboxConfig", targets: ["GearboxConfig"]),
        .library(name: "GearboxControl", targets: ["GearboxControl"]),
        .library(name: "GearboxLinux", targets: ["GearboxLinux"]),
        .library(name: "GearboxAgent", targets: ["GearboxAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure core: model, queueing formulas, planner. No Foundation, no I/O.
        // No unsafe flags anywhere, so other packages can depend on the libraries by version.
        // The tests run optimised instead (`swift test -c release`, as .ci/run does): the
        // simulator's validation tests simulate millions of events and the CLI tests plan
        // whole example hosts, which unoptimised would take many times longer.
        .target(
            name: "GearboxCore",
            dependencies: [
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "ComplexModule", package: "swift-numerics"),
            ]
        ),
        // Discrete-event simulator and baseline governors. Pure, seeded.
        .target(name: "GearboxSimulator", dependencies: ["GearboxCore"]),
        // TOML platform, workload and agent-config files, with file/line/field errors.
        .target(name: "GearboxConfig", dependencies: ["GearboxCore"]),
        // JSON shapes shared by gearboxctl and gearboxd (plan, inspect, control socket).
        .target(name: "GearboxControl", dependencies: ["GearboxCore"]),
        // C surfaces.
        .systemLibrary(name: "CCPUFreq", path: "Sources/CCPUFreq"),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd"),
        // Linux edge: libcpufreq, /proc, powercap, journald, sd_notify.
        .target(
            name: "GearboxLinux",
            dependencies: [
                "GearboxCore", "GearboxControl", "CCPUFreq", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The control loop.
        .target(
            name: "GearboxAgent",
            dependencies: [
                "GearboxCore", "GearboxConfig", "GearboxControl", "GearboxLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "gearboxd",
            dependencies: [
                "GearboxAgent", "GearboxLinux", "GearboxConfig", "CGearboxdStartup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "gearboxctl",
            dependencies: [
                "GearboxCore", "GearboxSimulator", "GearboxConfig", "GearboxControl", "GearboxLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only child process: sd_notify and sd_listen_fds read the process environment,
        // so GearboxLinuxTests runs them in this probe. Not a product; never installed.
        .executableTarget(
            name: "gearbox-systemd-probe",
            dependencies: ["GearboxLinux", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Support/gearbox-systemd-probe"
        ),
        // Test helpers for GearboxLinuxTests: runs GearboxLinux against a fixture tree mounted on
        // /sys/devices/system/cpu in a private mount namespace; CSysfsEmulation gives the
        // fixture's regular files the write semantics of sysfs inside that process only.
        .target(name: "CSysfsEmulation", path: "Sources/CSysfsEmulation"),
        // gearboxd's process settings made before main (one malloc arena).
        .target(name: "CGearboxdStartup", path: "Sources/CGearboxdStartup"),
        .executableTarget(
            name: "gearbox-linux-probe",
            dependencies: [
                "GearboxLinux", "GearboxCore", "GearboxControl", "CSysfsEmulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What several test targets share: where the built executables are, a loopback HTTP
        // server for the scraping tests. Test support only; in no product.
        .target(
            name: "GearboxTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/Support/GearboxTestSupport"
        ),
        .testTarget(name: "GearboxCoreTests", dependencies: ["GearboxCore", "GearboxTestSupport"]),
        .testTarget(name: "GearboxSimulatorTests", dependencies: ["GearboxSimulator", "GearboxCore", "GearboxTestSupport"]),
        .testTarget(name: "GearboxConfigTests", dependencies: ["GearboxConfig", "GearboxCore"]),
        .testTarget(
            name: "GearboxLinuxTests",
            dependencies: [
                "GearboxLinux", "GearboxCore", "GearboxConfig", "GearboxControl", "GearboxTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test-only child process for GearboxAgentTests: a ControlServer with a fixed handler, so
        // systemd-socket-activate can hand it the control socket. Not a product; never installed.
        .executableTarget(
            name: "gearbox-control-probe",
            dependencies: [
                "GearboxAgent", "GearboxControl", "GearboxCore", "GearboxLinux",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support/gearbox-control-probe"
        ),
        .testTarget(
            name: "GearboxAgentTests",
            dependencies: [
                "GearboxAgent", "GearboxLinux", "GearboxConfig", "GearboxCore", "GearboxControl", "GearboxTestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Runs the built gearboxctl / gearboxd binaries as a user would.
        .testTarget(name: "CLITests", dependencies: ["GearboxCore", "GearboxTestSupport"]),
    ]
)
