// swift-tools-version:6.2
// One package, two executables: `provision` (Ansible-like provisioner over libssh2, plus
// local nspawn labs) and `pgha` (the Patroni-compatible HA agent and its control CLI).
// Language mode 5: the C handles (libssh2, libpq) are confined to one thread at a time by
// their owning classes; strict Sendable checking would add ceremony, not safety, there.
import PackageDescription

let package = Package(
    name: "pgha-provision",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "provision", targets: ["provision"]),
        .executable(name: "pgha", targets: ["pgha"]),
        .library(name: "Provision", targets: ["Provision"]),
        .library(name: "AgentCore", targets: ["AgentCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/stencilproject/Stencil", from: "0.15.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // No default traits: FullFoundation would link full Foundation (ICU) into the agent (issue 14).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // TLS: the cluster CA (X.509 in Swift, no openssl shell-outs) and https for the REST API and etcd.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C behind one door each: only `SSH` imports CLibSSH2, only `PQ` imports CLibPQ.
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libyaml from its static archive (no pkgConfig: its flags would link libyaml.so), for the agent's YAML without Yams.
        .systemLibrary(name: "CLibYAML", providers: [.apt(["libyaml-dev"])]),
        .target(name: "SSH", dependencies: ["CLibSSH2"]),
        .target(name: "PQ", dependencies: ["CLibPQ"]),
        // YAML trees with positions, YAML ↔ plain values: the agent's YAML (Yams needs full Foundation).
        .target(name: "YAML", dependencies: ["CLibYAML"]),
        // posix_spawn + waitpid with every inherited descriptor closed, for all three below.
        .target(name: "Spawn"),
        // The one line diff (LCS): provision's --diff and pgha edit-config.
        .target(name: "LineDiff"),
        // The error type and exit codes both command-line tools report through.
        .target(name: "CLI", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The reader side of the emulated /dev/watchdog (a FIFO): the lab's watchdog server and the tests.
        .target(name: "EmulatedWatchdog"),

        // provision: inventory, playbooks, modules, transports, labs, cluster workflows.
        .target(name: "Provision", dependencies: [
            "SSH", "Spawn", "EmulatedWatchdog", "LineDiff",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Stencil", package: "Stencil"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // provision drill: fault drills with a consistency checker (libpq clients, hence its own target).
        .target(name: "Drill", dependencies: [
            "Provision", "PQ",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "provision", dependencies: [
            "Provision", "Drill", "CLI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // pgha: the HA agent (DCS, Postgres, HA decision, REST API) and its control CLI.
        .target(name: "AgentCore", dependencies: [
            "PQ", "Spawn", "LineDiff", "YAML",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "pgha", dependencies: [
            "AgentCore", "CLI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test doubles for the Provision engine (the recording transport), kept out of the library.
        .target(name: "ProvisionTestSupport", dependencies: ["Provision"]),
        // Real daemons on loopback (sshd, etcd, Postgres, pgha) for tests and benchmarks.
        .target(name: "Fixtures", dependencies: ["PQ", "Spawn", "Provision"]),
        .executableTarget(name: "provision-bench", dependencies: ["Provision", "Fixtures"]),
        .executableTarget(name: "pgha-bench", dependencies: ["AgentCore", "Fixtures", "PQ", "Spawn"]),

        .testTarget(name: "ProvisionTests", dependencies: ["Provision", "ProvisionTestSupport", "Fixtures", "Spawn"]),
        .testTarget(name: "AgentCoreTests", dependencies: ["AgentCore", "Fixtures", "PQ", "EmulatedWatchdog", "Spawn", "Provision", "YAML",
                                                        .product(name: "Logging", package: "swift-log"),
                                                        // FoundationParityTests: our JSON and YAML against what they replace.
                                                        .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "LabTests", dependencies: ["Provision", "Fixtures", "Spawn"]),
        .testTarget(name: "ClusterTests", dependencies: ["Provision", "Drill", "AgentCore", "Fixtures", "PQ", "Spawn"]),
    ],
    swiftLanguageModes: [.v5]
)
