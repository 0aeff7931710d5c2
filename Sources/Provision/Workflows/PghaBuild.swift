// The pgha binary the playbooks upload: a release build with the Swift runtime linked in
// statically, so database hosts need no Swift (only libpq5, which postgresql-15 brings).
import Foundation
import Spawn

/// Where the project's playbooks and sources are: the directory holding `playbooks/site.yml`,
/// found from the current directory upwards, then from the running executable's location
/// (`.build/<config>/provision` → the package root).
public struct ProjectLayout: Sendable {
    public let root: String
    public var playbooks: String { root + "/playbooks" }
    public func playbook(_ name: String) -> String { playbooks + "/" + name }

    public init(root: String) { self.root = root }

    public static func locate(currentDirectory: String = FileManager.default.currentDirectoryPath,
                              executable: String = CommandLine.arguments.first ?? "") throws -> ProjectLayout {
        var starts = [currentDirectory]
        let exe = URL(fileURLWithPath: executable, relativeTo: URL(fileURLWithPath: currentDirectory)).standardizedFileURL.path
        starts.append((exe as NSString).deletingLastPathComponent)
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("playbooks/site.yml").path) {
                    return ProjectLayout(root: dir.path)
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw WorkflowError("cannot find playbooks/site.yml above \(currentDirectory) or \(exe): run provision from the project directory")
    }
}

public struct PghaBuild: Sendable {
    public let layout: ProjectLayout
    /// A pgha already built with the Swift runtime linked in statically, shipped instead of the
    /// release build (`PGHA_HOST_BINARY`). scripts/test points it at the test build's own pgha
    /// (relinked with the static runtime by scripts/static-pgha), so the suite compiles the package once.
    public let prebuilt: String?

    public init(layout: ProjectLayout, prebuilt: String? = ProcessInfo.processInfo.environment["PGHA_HOST_BINARY"]) {
        self.layout = layout
        self.prebuilt = prebuilt.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The release build's scratch path (scripts/build-release; `provision` is built there too). Not
    /// `.build`: `swift test` holds the lock on `.build` while tests run, so a build there from inside a
    /// test (the end-to-end test runs `provision up`) would wait forever.
    public var scratchPath: String { layout.root + "/.build-hosts" }
    public var binaryPath: String { scratchPath + "/release/pgha" }
    /// What hosts get: the release binary (or the prebuilt one) stripped.
    public var hostBinaryPath: String { scratchPath + (prebuilt == nil ? "/hosts/pgha" : "/hosts/pgha-prebuilt") }

    /// Inputs of the pgha binary: a newer file here than the binary means it is stale.
    var sourcePaths: [String] {
        ["Sources/AgentCore", "Sources/PQ", "Sources/CLibPQ", "Sources/Spawn", "Sources/CLI", "Sources/LineDiff", "Sources/pgha",
         "Package.swift", "scripts/build-release"].map { layout.root + "/" + $0 }
    }

    /// Why the binary needs building, or nil when it is up to date.
    public func staleness() -> String? {
        let fm = FileManager.default
        guard let built = (try? fm.attributesOfItem(atPath: binaryPath))?[.modificationDate] as? Date else {
            return "\(binaryPath) does not exist"
        }
        for path in sourcePaths {
            var files = [path]
            if let walker = fm.enumerator(atPath: path) { files += walker.compactMap { ($0 as? String).map { path + "/" + $0 } } }
            for file in files {
                if let m = (try? fm.attributesOfItem(atPath: file))?[.modificationDate] as? Date, m > built {
                    return "\(file) is newer than \(binaryPath)"
                }
            }
        }
        return nil
    }

    /// Builds it when stale (`scripts/build-release pgha`: the one release build, whose flags live
    /// there; the compiler's output goes to stderr), then strips a copy for the hosts. Returns that copy's path.
    @discardableResult
    public func ensureBuilt(log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> String {
        let source: String
        if let prebuilt {
            try checkShippable(prebuilt)
            source = prebuilt
        } else {
            if let reason = staleness() {
                log("building pgha for the hosts (\(reason))")
                try run([layout.root + "/scripts/build-release", "pgha"], what: "building pgha")
            }
            source = binaryPath
        }
        let fm = FileManager.default
        let built = (try? fm.attributesOfItem(atPath: source))?[.modificationDate] as? Date ?? .distantFuture
        let copied = (try? fm.attributesOfItem(atPath: hostBinaryPath))?[.modificationDate] as? Date ?? .distantPast
        if copied < built {
            try fm.createDirectory(atPath: (hostBinaryPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try run(["strip", "--strip-all", "-o", hostBinaryPath, source], what: "stripping pgha")
            try? fm.removeItem(atPath: hostBinaryPath + ".sha256")
        }
        return hostBinaryPath
    }

    /// A prebuilt binary must exist and need no Swift runtime library: hosts have none.
    func checkShippable(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw WorkflowError("PGHA_HOST_BINARY=\(path): no executable there")
        }
        let libraries = try Spawn.run("/usr/bin/ldd", [path], environment: ProcessInfo.processInfo.environment, timeout: 30)
        if let swiftLibrary = libraries.stdout.split(separator: "\n").first(where: { $0.contains("libswift") || $0.contains("libFoundation") }) {
            throw WorkflowError("PGHA_HOST_BINARY=\(path) links the Swift runtime dynamically (\(swiftLibrary.trimmingCharacters(in: .whitespaces))); "
                                + "hosts have none: build it with --static-swift-stdlib or relink it with scripts/static-pgha")
        }
    }

    /// sha256 of the host binary, kept beside it (`pgha.sha256`) so re-runs compare checksums
    /// without hashing 80 MB again; the playbook uploads only when the host's differs.
    public func hostBinarySHA256() throws -> String {
        let sidecar = hostBinaryPath + ".sha256"
        if let text = try? String(contentsOfFile: sidecar, encoding: .utf8), text.count >= 64 { return String(text.prefix(64)) }
        let result = try Spawn.run("/usr/bin/sha256sum", [hostBinaryPath], environment: ProcessInfo.processInfo.environment)
        let text = result.stdout
        guard result.status == 0, text.count >= 64 else { throw WorkflowError("sha256sum \(hostBinaryPath) failed: \(result.stderr)") }
        let sum = String(text.prefix(64))
        try? (sum + "\n").write(toFile: sidecar, atomically: true, encoding: .utf8)
        return sum
    }

    private func run(_ arguments: [String], what: String) throws {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/opt/swift/usr/bin:" + (env["PATH"] ?? "/usr/bin:/bin")  // strip, bash
        // The compiler's output goes to our stderr, so a long build shows its progress.
        let pid = try Spawn.start("/usr/bin/env", arguments, environment: env, output: .descriptor(2), directory: layout.root)
        let status = Spawn.wait(pid)
        guard status == 0 else {
            throw WorkflowError("\(what) failed (\(arguments[0]) exit \(status)); see its output above")
        }
    }
}
