// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for gearbox, in their own package so that `swift build` and CI at the
// repository root never build the benchmark toolchain. Run: `swift package benchmark`.
let package = Package(
    name: "GearboxBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "gearbox", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "PlannerBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GearboxCore", package: "gearbox"),
                .product(name: "GearboxControl", package: "gearbox"),
            ],
            path: "Benchmarks/PlannerBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SimulatorBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "GearboxCore", package: "gearbox"),
                .product(name: "GearboxSimulator", package: "gearbox"),
            ],
            path: "Benchmarks/SimulatorBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
