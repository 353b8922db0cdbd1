// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Ringstore",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ringstore", targets: ["ringstore"]),
        .executable(name: "ringstore-sim", targets: ["ringstore-sim"]),
        .executable(name: "ringstore-check", targets: ["ringstore-check"]),
        .executable(name: "ringstore-storage-bench", targets: ["StorageBench"]),
        .executable(name: "ringstore-http-floor", targets: ["HTTPFloor"]),
        .executable(name: "ringstore-peer-bench", targets: ["PeerBench"]),
        .executable(name: "ringstore-bench", targets: ["RingstoreBench"]),
        .library(name: "RingstoreClient", targets: ["RingstoreClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // System LZ4 from Debian's liblz4-dev; module map only, no vendored sources.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // CRC32C (Castagnoli): SSE4.2 instruction when the CPU has it, table fallback otherwise.
        .target(name: "CCRC32C"),
        .target(name: "RingstoreCore"),
        .target(
            name: "LogStore",
            dependencies: [
                "RingstoreCore", "CLZ4", "CCRC32C",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Pure protocol state machines: events in, actions out (DESIGN section 1).
        .target(
            name: "Replication",
            dependencies: ["RingstoreCore", .product(name: "DequeModule", package: "swift-collections")]
        ),
        .target(name: "Wire", dependencies: ["RingstoreCore", "Replication"]),
        // The linearizability checker (Wing & Gong / Porcupine) for register histories.
        .target(name: "Linearizability"),
        .target(
            name: "RingstoreNode",
            dependencies: [
                "RingstoreCore", "LogStore", "Replication",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "RingstoreServer",
            dependencies: [
                "RingstoreCore", "LogStore", "RingstoreNode", "Wire", "Replication", "RingstoreClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The cluster simulator: simulated clock, network and disks, workload, checkers.
        .target(
            name: "Simulation",
            dependencies: [
                "RingstoreCore", "Replication", "RingstoreNode", "Linearizability",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ringstore-check",
            dependencies: [
                "Linearizability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "ringstore-sim",
            dependencies: [
                "Simulation", "RingstoreCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "RingstoreClient",
            dependencies: [
                "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "ringstore",
            dependencies: [
                "RingstoreServer", "RingstoreClient", "RingstoreCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Heap figures for the benchmark (glibc mallinfo2, which Swift's Glibc module omits).
        .target(name: "CHeapStats", path: "bench/CHeapStats"),
        .executableTarget(
            name: "StorageBench",
            dependencies: [
                "LogStore", "RingstoreCore", "CHeapStats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/StorageBench"
        ),
        .executableTarget(
            name: "HTTPFloor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/HTTPFloor"
        ),
        .executableTarget(
            name: "PeerBench",
            dependencies: [
                "RingstoreServer", "RingstoreNode", "RingstoreCore", "Replication",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/PeerBench"
        ),
        // YCSB-style workloads and the drivers for Ringstore, etcd and Redis.
        .target(
            name: "RingstoreBenchKit",
            dependencies: [
                "RingstoreCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "bench/RingstoreBenchKit"
        ),
        .executableTarget(
            name: "RingstoreBench",
            dependencies: [
                "RingstoreBenchKit", "RingstoreClient",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/RingstoreBench"
        ),
        .testTarget(
            name: "RingstoreBenchTests",
            dependencies: [
                "RingstoreBenchKit", "RingstoreCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LinearizabilityTests",
            dependencies: [
                "Linearizability", "RingstoreCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "RingstoreCoreTests",
            dependencies: [
                "RingstoreCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "ReplicationTests",
            dependencies: [
                "Replication", "RingstoreCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "RingstoreNodeTests",
            dependencies: [
                "RingstoreNode", "Replication", "RingstoreCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "RingstoreCore"]
        ),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire", "RingstoreCore", "Replication",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "LogStoreTests",
            dependencies: [
                "LogStore", "RingstoreCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RingstoreServerTests",
            dependencies: [
                "RingstoreServer", "RingstoreClient", "RingstoreNode", "LogStore", "RingstoreCore", "Replication",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "RingstoreClient", "ringstore", "RingstoreServer", "RingstoreNode", "Replication", "RingstoreCore",
                "Linearizability", .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
