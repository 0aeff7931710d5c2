import Foundation
import Provision

/// A scripted transport for unit tests of module planning: records every command and put, and
/// answers commands from rules (first rule whose substring occurs in the command wins; otherwise
/// exit 0 with empty output). `files` backs `get` and is updated by `put`.
public final class RecordingTransport: Transport {
    public struct Rule {
        public var contains: String
        public var result: CommandResult
        public init(contains: String, result: CommandResult) {
            self.contains = contains
            self.result = result
        }
    }

    public struct Put: Equatable {
        public var path: String
        public var data: Data
        public var mode: UInt32
        public init(path: String, data: Data, mode: UInt32) { self.path = path; self.data = data; self.mode = mode }
    }

    public let hostName: String
    public var rules: [Rule] = []
    public private(set) var commands: [String] = []
    public private(set) var puts: [Put] = []
    public var files: [String: Data] = [:]
    /// When set, every call throws it (to simulate an unreachable or broken host).
    public var error: TransportError?
    private let lock = NSLock()

    public init(hostName: String = "test", rules: [Rule] = []) {
        self.hostName = hostName
        self.rules = rules
    }

    /// Adds a rule: commands containing `contains` get this reply.
    public func reply(_ contains: String, exit: Int32 = 0, stdout: String = "", stderr: String = "") {
        rules.append(Rule(contains: contains, result: CommandResult(exitStatus: exit, stdout: stdout, stderr: stderr)))
    }

    public func run(_ command: String, input: Data?) throws -> CommandResult {
        lock.lock(); defer { lock.unlock() }
        if let error { throw error }
        commands.append(command)
        return rules.first { command.contains($0.contains) }?.result ?? CommandResult(exitStatus: 0, stdout: "", stderr: "")
    }

    public func put(_ data: Data, to path: String, mode: UInt32) throws {
        lock.lock(); defer { lock.unlock() }
        if let error { throw error }
        puts.append(Put(path: path, data: data, mode: mode))
        files[path] = data
    }

    public func get(_ path: String) throws -> Data? {
        lock.lock(); defer { lock.unlock() }
        if let error { throw error }
        return files[path]
    }

    public func close() {}

    /// True when nothing was changed: only read-only commands were sent (by the caller's
    /// definition) and nothing was put.
    public var putNothing: Bool { puts.isEmpty }
}
