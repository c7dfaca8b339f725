// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for gearbox's parsers, in their own package so that `swift build` and
// `swift test` at the repository root never build them. Each executable is one fuzz entry
// point (`LLVMFuzzerTestOneInput`) whose `main.swift` hands control to libFuzzer's driver.
// Build and run with `scripts/fuzz` (docs/fuzzing.md), which passes `-sanitize=fuzzer` to every
// module so the parsers themselves are coverage-instrumented.
let package = Package(
    name: "GearboxFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "gearbox", path: ".."),
    ],
    targets: [
        // The declaration of libFuzzer's LLVMFuzzerRunDriver (the library comes with -sanitize=fuzzer).
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        .target(
            name: "FuzzFixtures",
            dependencies: [
                .product(name: "GearboxConfig", package: "gearbox"),
                .product(name: "GearboxCore", package: "gearbox"),
            ]
        ),
        fuzzer("FuzzTOML", ["GearboxConfig"]),
        fuzzer("FuzzPlatform", ["GearboxConfig"]),
        fuzzer("FuzzWorkload", ["GearboxConfig"], fixtures: true),
        fuzzer("FuzzAgentConfig", ["GearboxConfig"], fixtures: true),
        fuzzer("FuzzControlRequest", ["GearboxControl", "GearboxAgent"], fixtures: true),
        fuzzer("FuzzJSON", ["GearboxControl"]),
        fuzzer("FuzzPrometheus", ["GearboxAgent"]),
        fuzzer("FuzzCPUList", ["GearboxCore"]),
        fuzzer("FuzzTraceCSV", ["GearboxSimulator"]),
        fuzzer("FuzzProc", ["GearboxLinux"]),
        fuzzer("FuzzSysfs", ["GearboxLinux"]),
    ]
)

/// One fuzz target: an executable depending on the gearbox libraries it exercises.
func fuzzer(_ name: String, _ libraries: [String], fixtures: Bool = false) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + (fixtures ? ["FuzzFixtures"] : [])
            + libraries.map { .product(name: $0, package: "gearbox") }
    )
}
